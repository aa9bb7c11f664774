// Server: `ebb serve` as a library — the RESP2 listener (resp_server.h) and
// the admin HTTP listener (admin_http.h) over one open Store. Configuration
// comes from the store's [server] section (docs/configuration.md); `ebb
// serve` flags are overrides of it. docs/server.md describes the commands.
//
//   auto store = ebb::Store::Open(options);
//   auto server = ebb::Server::Start(store->get());
//   ... (*server)->port() ...
//   (*server)->Stop();  // before closing the store
//
// Thread safety: Start/Stop from one thread; the server's own threads do
// the rest.

#ifndef EBB_SERVER_SERVER_H_
#define EBB_SERVER_SERVER_H_

#include <atomic>
#include <memory>

#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/store.h"
#include "engine/config_reload.h"
#include "env/clock.h"
#include "server/admin_ops.h"

namespace ebb {

class ServerCore;
class RespServer;
class AdminHttp;
class Config;

struct ServerOptions {
  // Compaction requests (EBB.ENQUEUEALL/SUSPEND/RESUME); null: the engine's
  // (NewEngineAdminOps).
  std::unique_ptr<AdminOps> admin_ops;
  // Not owned; null: SystemClock().
  Clock* clock = nullptr;
  // What the store was opened with: ReloadConfig re-reads its config_file
  // and re-applies its overrides (config), and /status names the file.
  Options store_options;
};

class Server {
 public:
  // Reads [server], starts the executors and binds both listeners. Fails
  // with IOError naming the address when a port is taken. `store` must stay
  // open until Stop returns.
  static Result<std::unique_ptr<Server>> Start(Store* store, ServerOptions options = ServerOptions());
  // Stop()s.
  ~Server();

  // Bound ports (server.port 0 asks the OS for a free one); admin_port() is
  // 0 when the admin listener is disabled.
  int port() const;
  int admin_port() const;
  // The TLS listener's port; 0 when server.tls_port is 0.
  int tls_port() const;

  // Re-reads the configuration file (SIGHUP; engine/config_reload.h):
  // runtime settings change, [server] ones for every connection; the others
  // are reported as needing a restart. A bad file changes nothing. The
  // outcome is logged and shown in the status document ("config").
  Result<ConfigReloadReport> ReloadConfig();

  // Stops accepting, lets every connection finish its current command,
  // closes them, stops the admin listener and the executors. Idempotent.
  void Stop();

 private:
  Server() = default;
  Options store_options_;
  std::unique_ptr<ServerCore> core_;
  std::unique_ptr<RespServer> resp_;
  // For the settings listener, which may run before Start returns.
  std::atomic<RespServer*> resp_for_listener_{nullptr};
  std::unique_ptr<AdminHttp> admin_;
  Config* config_ = nullptr;
  int validator_ = 0;
  bool stopped_ = false;
};

}  // namespace ebb

#endif  // EBB_SERVER_SERVER_H_
