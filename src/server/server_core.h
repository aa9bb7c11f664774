// ServerCore: the state every part of `ebb serve` shares — the store, the
// settings, counters, the database registry, SCAN cursors, key locks, the
// keys under WATCH, and the two executors that keep slow work off the I/O
// threads:
//   write executor  writes (a WriteBatch per pipelined run of SET/MSET/DEL
//                   from one connection); a connection has at most one job
//                   queued, so the queue is bounded by server.max_clients;
//   admin executor  FLUSHDB, EBB.COMPACT, CONFIG SET, INFO, EBB.STATUS and
//                   the compaction daemon requests; configuration changes run
//                   here, never on a ReadPool thread (the ReadPool
//                   reconfigures its own threads).
// No Asio here: command logic (command_processor.h) is plain C++.
//
// Thread safety: members are thread-safe (see each type).

#ifndef EBB_SERVER_SERVER_CORE_H_
#define EBB_SERVER_SERVER_CORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ebb/store.h"
#include "engine/config_reload.h"
#include "env/clock.h"
#include "runtime/future_pool.h"
#include "server/admin_ops.h"
#include "server/database_registry.h"
#include "server/key_locks.h"
#include "server/scan_cursors.h"
#include "server/server_settings.h"
#include "server/server_stats.h"
#include "server/watch_registry.h"
#include "base/mutex.h"

namespace ebb {

struct TlsContext;

class ServerCore {
 public:
  // Bound on queued admin jobs; more get -BUSY.
  static constexpr int64_t kMaxQueuedAdminJobs = 64;
  static constexpr int kAdminThreads = 2;

  // Starts the executors. `store` and `admin_ops` must outlive the core.
  static Result<std::unique_ptr<ServerCore>> Create(Store* store, const ServerSettings& settings,
                                                    std::unique_ptr<AdminOps> admin_ops, Clock* clock);
  // Stops the executors: queued jobs complete with Aborted.
  ~ServerCore();

  // Re-reads the runtime [server] settings after a configuration change,
  // then calls the settings listener. `reload_tls`: a tls_* setting was set
  // (to any value): rebuild the TLS context for new connections; if it does
  // not load, the previous one stays and the error is returned.
  Status RefreshSettings(bool reload_tls = false);
  // The TLS context for new connections of the TLS listener; null when
  // server.tls_port is 0.
  std::shared_ptr<TlsContext> tls_context() const;
  void set_tls_context(std::shared_ptr<TlsContext> context);
  // Set once, before serving starts.
  void set_settings_listener(std::function<void()> listener) { settings_listener_ = std::move(listener); }

  Store* store() const { return store_; }
  const ServerSettings& settings() const { return settings_; }
  LiveSettings& live() { return live_; }
  ServerStats& stats() { return stats_; }
  DatabaseRegistry& registry() { return registry_; }
  ScanCursors& cursors() { return cursors_; }
  KeyLocks& key_locks() { return key_locks_; }
  WatchRegistry& watches() { return watches_; }
  FuturePool* write_pool() { return write_pool_.get(); }
  FuturePool* admin_pool() { return admin_pool_.get(); }
  AdminOps* admin_ops() { return admin_ops_.get(); }
  ConfigReloadLog& config_reload() { return config_reload_; }
  Clock* clock() const { return clock_; }
  int64_t started_micros() const { return started_micros_; }
  uint64_t NextClientId() { return next_client_id_.fetch_add(1, std::memory_order_relaxed); }

  // Where the listeners ended up (port 0 asks the OS for one; 0: none).
  void set_bound_ports(int port, int admin_port, int tls_port) {
    bound_port_.store(port);
    bound_admin_port_.store(admin_port);
    bound_tls_port_.store(tls_port);
  }
  int bound_port() const { return bound_port_.load(); }
  int bound_admin_port() const { return bound_admin_port_.load(); }
  int bound_tls_port() const { return bound_tls_port_.load(); }

 private:
  ServerCore(Store* store, const ServerSettings& settings, std::unique_ptr<AdminOps> admin_ops, Clock* clock);

  // Constant after construction.
  Store* const store_;
  const ServerSettings settings_;
  Clock* const clock_;
  const int64_t started_micros_;
  const std::unique_ptr<AdminOps> admin_ops_;
  std::unique_ptr<FuturePool> write_pool_;
  std::unique_ptr<FuturePool> admin_pool_;
  std::function<void()> settings_listener_;

  // Thread-safe on their own.
  LiveSettings live_;
  ServerStats stats_;
  DatabaseRegistry registry_;
  ScanCursors cursors_;
  KeyLocks key_locks_;
  WatchRegistry watches_;
  ConfigReloadLog config_reload_;
  std::atomic<uint64_t> next_client_id_{1};
  std::atomic<int> bound_port_{0};
  std::atomic<int> bound_admin_port_{0};
  std::atomic<int> bound_tls_port_{0};

  mutable Mutex tls_mu_;
  std::shared_ptr<TlsContext> tls_context_ GUARDED_BY(tls_mu_);
};

}  // namespace ebb

#endif  // EBB_SERVER_SERVER_CORE_H_
