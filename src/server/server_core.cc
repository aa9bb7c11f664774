#include "server/server_core.h"

#include "base/status_macros.h"
#include "server/tls_context.h"

namespace ebb {

ServerCore::ServerCore(Store* store, const ServerSettings& settings, std::unique_ptr<AdminOps> admin_ops, Clock* clock)
    : store_(store),
      settings_(settings),
      clock_(clock),
      started_micros_(clock->NowMicros()),
      admin_ops_(std::move(admin_ops)),
      live_(settings),
      registry_(store),
      cursors_(static_cast<uint64_t>(clock->NowMicros())) {}

Result<std::unique_ptr<ServerCore>> ServerCore::Create(Store* store, const ServerSettings& settings,
                                                       std::unique_ptr<AdminOps> admin_ops, Clock* clock) {
  std::unique_ptr<ServerCore> core(new ServerCore(store, settings, std::move(admin_ops), clock));
  FuturePoolOptions write;
  write.name = "ebb-write";
  write.threads = settings.write_threads;
  write.nice = settings.write_nice;
  // One job per connection at a time: max_clients bounds the queue; the
  // pool's own bound is a backstop.
  write.max_queued_tasks = std::max<int64_t>(settings.max_clients, 1024);
  write.clock = clock;
  EBB_ASSIGN_OR_RETURN(core->write_pool_, FuturePool::Create(std::move(write)));
  FuturePoolOptions admin;
  admin.name = "ebb-admin";
  admin.threads = kAdminThreads;
  admin.max_queued_tasks = kMaxQueuedAdminJobs;
  admin.clock = clock;
  EBB_ASSIGN_OR_RETURN(core->admin_pool_, FuturePool::Create(std::move(admin)));
  return core;
}

ServerCore::~ServerCore() {
  if (admin_pool_) admin_pool_->Stop();
  if (write_pool_) write_pool_->Stop();
}

Status ServerCore::RefreshSettings(bool reload_tls) {
  EBB_ASSIGN_OR_RETURN(ServerSettings s, ServerSettings::FromStore(store_));
  live_.Apply(s);
  if (settings_listener_) settings_listener_();
  Status tls;
  if (reload_tls && settings_.tls_port != 0) {
    auto context = LoadTlsContext(s);
    if (context.ok()) {
      set_tls_context(std::move(*context));
    } else {
      tls = context.status().WithContext("TLS not reloaded; new connections still get the previous certificates");
    }
  }
  // The one thread setting that changes at run time: the write threads' CPU
  // weight (the configuration schema has validated the range).
  Status nice = write_pool_->SetNice(s.write_nice);
  return tls.ok() ? nice : tls;
}

std::shared_ptr<TlsContext> ServerCore::tls_context() const {
  MutexLock lock(&tls_mu_);
  return tls_context_;
}

void ServerCore::set_tls_context(std::shared_ptr<TlsContext> context) {
  MutexLock lock(&tls_mu_);
  tls_context_ = std::move(context);
}

}  // namespace ebb
