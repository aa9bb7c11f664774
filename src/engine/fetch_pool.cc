#include "engine/fetch_pool.h"

#include <fmt/format.h>

#include "base/status_macros.h"
#include "engine/tiering_host.h"
#include "env/object_store.h"

namespace ebb {

FetchPool::FetchPool(EngineTiering* tiering, int threads, int64_t queue_limit, int64_t timeout_ms)
    : tiering_(tiering), threads_(threads), queue_limit_(queue_limit), timeout_ms_(timeout_ms) {}

FetchPool::~FetchPool() { Stop(); }

Result<std::unique_ptr<FetchPool>> FetchPool::Create(EngineTiering* tiering, int threads, int64_t queue_limit,
                                                     int64_t timeout_ms) {
  std::unique_ptr<FetchPool> p(new FetchPool(tiering, threads, queue_limit, timeout_ms));
  FuturePoolOptions o;
  o.name = "fetch";
  o.threads = threads;
  // Running fetches count against the limit too: queue = limit - threads.
  o.max_queued_tasks = std::max<int64_t>(1, queue_limit - threads);
  EBB_ASSIGN_OR_RETURN(p->pool_, FuturePool::Create(o));
  return p;
}

Status FetchPool::Submit(const SegmentKey& key, Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  Status s = pool_->Spawn(
      [this, key, shared_done](TaskContext&) {
        Result<Handle> fetched = Status::OK();
        {
          ObjectStoreDeadline deadline(SystemClock()->NowMicros() + timeout_ms_ * 1000);
          fetched = tiering_->FetchForRead(key);
        }
        if (!fetched.ok()) {
          if (fetched.status().IsTimedOut()) {
            timeouts_.fetch_add(1, std::memory_order_relaxed);
            fetched = Status::TimedOut(fmt::format("fetch of segment {} took longer than tiering.fetch_timeout_ms "
                                                   "({} ms): {}",
                                                   key.ToString(), timeout_ms_, fetched.status().message()));
          } else {
            failures_.fetch_add(1, std::memory_order_relaxed);
          }
        }
        (*shared_done)(std::move(fetched));
      },
      [shared_done](const Status& s) { (*shared_done)(s); });
  if (s.IsBusy()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Status::Busy(fmt::format("{} cold reads are waiting for the object store (tiering.fetch_queue); segment "
                                    "{} was not fetched: retry later",
                                    queue_limit_, key.ToString()));
  }
  if (s.ok()) fetches_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

void FetchPool::Stop() {
  if (pool_) pool_->Stop();
}

FetchPoolStats FetchPool::stats() const {
  FetchPoolStats s;
  s.threads = static_cast<uint64_t>(threads_);
  s.queue_limit = static_cast<uint64_t>(queue_limit_);
  s.queued = static_cast<uint64_t>(pool_->queued() + pool_->running());
  s.fetches = fetches_.load(std::memory_order_relaxed);
  s.rejected = rejected_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ebb
