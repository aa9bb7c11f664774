// FetchPool: fetches of evicted segments for asynchronous reads, off the
// ReadPool (seed 004: the FuturePool runs futures, not blocking closures).
// A ReadPool task whose read needs an evicted segment that is not in the
// member cache hands the fetch here and returns its worker at once; when
// the fetch completes, the read runs again (engine.cc).
//
//   threads      tiering.fetch_threads worker threads (a FuturePool)
//   queue        at most tiering.fetch_queue fetches waiting or running;
//                beyond it Submit is Busy at once (the read gets Busy)
//   deadline     each fetch runs under an ObjectStoreDeadline of
//                tiering.fetch_timeout_ms: retries stop and requests are cut
//                short there; the read gets TimedOut naming the store
//   single flight  concurrent fetches of one segment share the member
//                cache's single fetch
//
// Thread safety: all methods are thread-safe. Stop aborts queued fetches
// (their callbacks get Aborted) and waits for running ones.

#ifndef EBB_ENGINE_FETCH_POOL_H_
#define EBB_ENGINE_FETCH_POOL_H_

#include <atomic>
#include <functional>
#include <memory>

#include "ebb/status.h"
#include "ebb/tiering_status.h"
#include "runtime/future_pool.h"
#include "tiering/member_cache.h"

namespace ebb {

class EngineTiering;

class FetchPool {
 public:
  using Handle = std::shared_ptr<MemberCache::Handle>;
  using Done = std::function<void(Result<Handle>)>;

  // `tiering` must outlive the pool (Stop it first).
  static Result<std::unique_ptr<FetchPool>> Create(EngineTiering* tiering, int threads, int64_t queue_limit,
                                                   int64_t timeout_ms);
  ~FetchPool();

  // Fetches segment `key`; `done` runs once on a fetch thread with the
  // pinned cached file or the error (or with Aborted on the thread calling
  // Stop). Busy when the queue is full, Aborted after Stop: then `done` is
  // not called.
  Status Submit(const SegmentKey& key, Done done);
  void Stop();
  FetchPoolStats stats() const;

 private:
  FetchPool(EngineTiering* tiering, int threads, int64_t queue_limit, int64_t timeout_ms);

  EngineTiering* const tiering_;
  const int threads_;
  const int64_t queue_limit_;
  const int64_t timeout_ms_;
  std::unique_ptr<FuturePool> pool_;
  std::atomic<uint64_t> fetches_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace ebb

#endif  // EBB_ENGINE_FETCH_POOL_H_
