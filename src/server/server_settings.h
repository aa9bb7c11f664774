// The [server] settings (registered in src/engine/engine_settings.cc, listed
// in docs/configuration.md) as the server uses them. Those that can change at
// run time live in LiveSettings, read by connections on every use and
// refreshed after each CONFIG SET of a server.* key.

#ifndef EBB_SERVER_SERVER_SETTINGS_H_
#define EBB_SERVER_SERVER_SETTINGS_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/mutex.h"
#include "ebb/status.h"
#include "ebb/store.h"

namespace ebb {

struct ServerSettings {
  std::string bind = "127.0.0.1";
  int port = 6380;
  int admin_port = 8380;
  int tls_port = 0;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_cert_file;
  std::string tls_auth_clients = "optional";
  std::string admin_bind = "127.0.0.1";
  // Resolved from admin_token or admin_token_file; empty: none.
  std::string admin_token;
  // Resolved from requirepass or requirepass_file; empty: none.
  std::string requirepass;
  bool protected_mode = true;
  int64_t max_clients = 1000;
  int64_t max_query_buffer_bytes = 64 << 20;
  int64_t max_bulk_bytes = 16 << 20;
  int64_t idle_timeout_s = 0;
  int64_t keys_max = 100000;
  // A connection's transaction: commands queued after MULTI, and bytes of
  // them plus its watched keys (also the bound on EXEC's writes and replies).
  int64_t multi_max_commands = 100000;
  int64_t multi_max_bytes = 64 << 20;
  int io_threads = 1;
  int write_threads = 1;  // FromConfig derives it when unset (DefaultWriteThreads)
  int write_nice = 0;
  // server.inline_writes, off with journal.sync = always (write_job.h
  // RunLoneWrite).
  bool inline_lone_writes = true;
  // From [store]: arguments larger than these are refused before they reach
  // a write batch, so one bad SET in a pipeline cannot fail its neighbours.
  int64_t max_key_bytes = 64 << 10;
  int64_t max_value_bytes = 16 << 20;

  // Reads every [server] setting (and the [store] limits) from the
  // configuration, resolving requirepass_file, and checks them together.
  // Also the validator of CONFIG SET server.* (Config::AddValidator).
  static Result<ServerSettings> FromConfig(const Config& config);
  // FromConfig of the store's configuration (engine/admin.h StoreConfig).
  static Result<ServerSettings> FromStore(Store* store);
};

// The first line of a file holding a secret named by `setting`
// ("server.requirepass_file"), without its line end. Errors name the
// setting and the file, never the contents.
Result<std::string> ReadSecretFile(std::string_view setting, const std::string& path);

// Settings that change at run time. Thread-safe.
class LiveSettings {
 public:
  explicit LiveSettings(const ServerSettings& s) { Apply(s); }

  void Apply(const ServerSettings& s);

  int64_t max_clients() const { return max_clients_.load(std::memory_order_relaxed); }
  int64_t max_query_buffer_bytes() const { return max_query_buffer_bytes_.load(std::memory_order_relaxed); }
  int64_t max_bulk_bytes() const { return max_bulk_bytes_.load(std::memory_order_relaxed); }
  int64_t idle_timeout_s() const { return idle_timeout_s_.load(std::memory_order_relaxed); }
  bool protected_mode() const { return protected_mode_.load(std::memory_order_relaxed); }
  int64_t keys_max() const { return keys_max_.load(std::memory_order_relaxed); }
  int64_t multi_max_commands() const { return multi_max_commands_.load(std::memory_order_relaxed); }
  int64_t multi_max_bytes() const { return multi_max_bytes_.load(std::memory_order_relaxed); }
  bool password_required() const { return password_required_.load(std::memory_order_acquire); }
  // Compares in time independent of where the first difference is.
  bool CheckPassword(std::string_view candidate) const;
  bool admin_token_required() const { return admin_token_required_.load(std::memory_order_acquire); }
  // Like CheckPassword, for server.admin_token. False when none is set.
  bool CheckAdminToken(std::string_view candidate) const;

 private:
  std::atomic<int64_t> max_clients_{0};
  std::atomic<int64_t> max_query_buffer_bytes_{0};
  std::atomic<int64_t> max_bulk_bytes_{0};
  std::atomic<int64_t> idle_timeout_s_{0};
  std::atomic<int64_t> keys_max_{0};
  std::atomic<int64_t> multi_max_commands_{0};
  std::atomic<int64_t> multi_max_bytes_{0};
  std::atomic<bool> protected_mode_{true};
  std::atomic<bool> password_required_{false};
  std::atomic<bool> admin_token_required_{false};
  mutable Mutex mu_;
  std::string requirepass_ GUARDED_BY(mu_);
  std::string admin_token_ GUARDED_BY(mu_);
};

// server.write_threads when unset: max(4, cores) with journal.sync =
// always (the threads wait on the disk), else max(1, cores - 1) (the
// threads use a core, and one is left for reads).
int DefaultWriteThreads(std::string_view journal_sync, int cores);

}  // namespace ebb

#endif  // EBB_SERVER_SERVER_SETTINGS_H_
