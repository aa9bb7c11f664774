// ReadPool: reads run on three FuturePools, one per ebb::Priority, each with
// its own threads and its own admission limit (TiKV's server::ReadPool,
// docs/ARCHITECTURE.md). Writes never run here: there is no write API.
//
// Admission. Each priority allows at most
//   limit = readpool.max_tasks_per_worker_<priority> * threads
// tasks running or queued. Spawn reserves a slot with a compare-and-swap on
// the priority's counter, so concurrent submitters never overshoot (TiKV
// reads the count and then spawns, which lets a burst of submitters past
// the limit). Over the limit the caller gets Status::Busy at once, before
// any task is allocated; the message carries the current count, the limit
// and an estimated wait, and the same numbers are returned as a
// ReadPoolFull for "-BUSY ... retry after N ms" answers.
//
// Estimated wait = EWMA of recent task run times (weight 0.3, TiKV's) times
// the queued tasks per worker of that priority; before any task has
// finished the EWMA starts from 1 ms per task (TiKV's sizing assumption).
// A Busy answer never suggests less than 1 ms, so a client does not spin.
//
// Isolation. Priorities share nothing on the submit or run path: separate
// threads, queues and counters, so a saturated low pool can neither queue
// ahead of high reads nor make them Busy. CPU is split by the worker
// threads' nice values (readpool.nice_<priority>; Linux keeps nice per
// thread and CFS turns it into a CPU weight): by default high and normal run
// at nice 0, like foreground writes, and low at nice 10, i.e. weight 110
// against 1024. When cores are contended, a runnable low thread therefore
// gets about a tenth of what a nice-0 thread gets — never nothing, so low
// cannot starve — and high reads lose at most that tenth to low
// saturation; on idle cores low runs at full speed. Nice does nothing on
// other operating systems' schedulers and is a CPU weight only (a low read
// blocked on disk is not slowed).
//
// Contexts and metrics. Every worker thread has a context holding that
// thread's completed count and queue-wait / run-time histograms, published
// into the priority's totals on tick (readpool.tick_interval_ms, driven by
// task completion as in the RFC: an idle pool never ticks) and when the
// worker runs out of work, so status is exact once a pool drains. Admitted,
// rejected and aborted counts are kept at submission, where they happen.
// An optional user factory adds the engine's own per-thread context; tasks
// receive it, and it gets OnTick / OnIdle after the pool's own publishing.
//
// Shutdown (Stop() or the destructor): new submissions get Aborted; queued
// tasks complete with Status::Aborted (the future form's future, or the
// callback form's on_abort); running tasks finish; then all threads exit.
//
// Thread safety: all methods are thread-safe. Stop() and WaitUntilIdle()
// must not be called from a ReadPool task.

#ifndef EBB_RUNTIME_READ_POOL_H_
#define EBB_RUNTIME_READ_POOL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "base/config.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "env/clock.h"
#include "runtime/future_pool.h"
#include "runtime/read_pool_settings.h"
#include "ebb/read_pool_status.h"

namespace ebb {

class ReadPool;

// Why a submission got Busy.
struct ReadPoolFull {
  Priority priority = Priority::kNormal;
  int64_t current = 0;            // tasks running or queued at that priority
  int64_t limit = 0;              // max_tasks_per_worker * threads
  int64_t estimated_wait_us = 0;  // suggested retry delay, at least 1 ms
};

// Creates the caller's own context for one worker of one priority; called
// on that worker thread. nullptr means a plain TaskContext.
using ReadPoolContextFactory = std::function<std::unique_ptr<TaskContext>(Priority priority, int worker_id)>;

struct ReadPoolOptions {
  ReadPoolSettings settings = ReadPoolSettings::Defaults();
  // Thread names are "<name>-<priority>-<n>".
  std::string name = "rp";
  // Not owned; must outlive the pool.
  Clock* clock = SystemClock();
  ReadPoolContextFactory context_factory;
};

namespace read_pool_internal {

class Lane;  // one priority: its FuturePool, counters and metrics

// Accounting shared by every ReadPool task (read_pool.cc); the typed part
// (callback or future) is a ReadTask<Body>.
class ReadTaskBase : public PoolTask {
 public:
  explicit ReadTaskBase(Lane* lane) : lane_(lane) {}
  void Run(TaskContext& context) final;
  void Abort(const Status& status) final;

 protected:
  virtual void RunBody(TaskContext& user_context) = 0;
  virtual void AbortBody(const Status& status) = 0;

 private:
  friend class ::ebb::ReadPool;
  Lane* const lane_;
  int64_t enqueue_us_ = 0;
  // Reads that had to finish before this one could start (every worker
  // busy: the ones queued before it plus one), or 0 if a worker was free.
  int64_t ahead_ = 0;
};

template <typename Body>
class ReadTask final : public ReadTaskBase {
 public:
  ReadTask(Lane* lane, Body body) : ReadTaskBase(lane), body_(std::move(body)) {}
  Body& body() { return body_; }

 private:
  void RunBody(TaskContext& user_context) override { body_.Run(user_context); }
  void AbortBody(const Status& status) override { body_.Abort(status); }
  Body body_;
};

}  // namespace read_pool_internal

class ReadPool {
 public:
  static constexpr double kRunTimeEwmaWeight = 0.3;
  static constexpr double kWaitEwmaWeight = 0.1;
  static constexpr int64_t kPriorRunTimeUs = 1000;
  static constexpr int64_t kMinRetryAfterUs = 1000;

  // Starts the three pools. InvalidArgument for settings out of range,
  // IOError if threads cannot be started.
  static Result<std::unique_ptr<ReadPool>> Create(ReadPoolOptions options);

  // Stop()s the pool.
  ~ReadPool();

  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // Callback form. fn(TaskContext& context) runs on a worker of `priority`
  // with that worker's user context; if the pool stops first,
  // on_abort(const Status&) gets Aborted instead. Returns OK when admitted:
  // exactly one of the two will be called, once. Returns Busy (over the
  // limit; *full filled if given) or Aborted (stopped) when not admitted:
  // neither is called, and a Busy allocates no task (only its message).
  // *full is left alone when the task is admitted.
  template <typename Fn, typename AbortFn>
  Status Spawn(Priority priority, Fn&& fn, AbortFn&& on_abort, ReadPoolFull* full = nullptr) {
    read_pool_internal::Lane* lane = nullptr;
    Status status = Admit(priority, full, &lane);
    if (!status.ok()) return status;
    using Body = pool_internal::CallbackBody<std::decay_t<Fn>, std::decay_t<AbortFn>>;
    std::unique_ptr<read_pool_internal::ReadTaskBase> task = std::make_unique<read_pool_internal::ReadTask<Body>>(
        lane, Body{std::forward<Fn>(fn), std::forward<AbortFn>(on_abort)});
    return Submit(lane, &task);
  }

  // Future form. fn(TaskContext&) returns Status or Result<T>; the future
  // gets its value, or Aborted if the pool stopped before it ran. When not
  // admitted the future is ready at once with Busy (and *full filled if
  // given) or Aborted. The future always becomes ready.
  template <typename Fn, typename R = std::invoke_result_t<std::decay_t<Fn>&, TaskContext&>>
  std::future<R> SpawnFuture(Priority priority, Fn&& fn, ReadPoolFull* full = nullptr) {
    static_assert(pool_internal::IsTaskResult<R>::value, "a ReadPool task must return Status or Result<T>");
    read_pool_internal::Lane* lane = nullptr;
    Status status = Admit(priority, full, &lane);
    if (!status.ok()) return pool_internal::ReadyFuture<R>(std::move(status));
    using Body = pool_internal::FutureBody<R, std::decay_t<Fn>>;
    auto* task = new read_pool_internal::ReadTask<Body>(lane, Body{std::forward<Fn>(fn), std::promise<R>()});
    std::future<R> future = task->body().promise.get_future();
    std::unique_ptr<read_pool_internal::ReadTaskBase> owned(task);
    status = Submit(lane, &owned);
    if (!status.ok()) task->body().Abort(status);  // still owned: not queued
    return future;
  }

  // Applies the `readpool` section (thread counts, limits, tick interval,
  // nice values) to the running pool. Limits take effect for the next
  // submission; tasks already admitted over a lowered limit still run.
  // Idle threads beyond a lowered count exit before this returns, busy ones
  // after their task. Everything valid is applied even if one part fails
  // (e.g. lowering nice without CAP_SYS_NICE is PermissionDenied); the
  // first error is returned. Aborted after Stop.
  Status ApplyConfig(const Config& config);
  Status ApplySettings(const ReadPoolSettings& settings);
  ReadPoolSettings settings() const;

  ReadPoolStatus GetStatus() const;
  ReadPoolPriorityStatus GetStatus(Priority priority) const;
  // EWMA run time x queued tasks per worker for `priority`, now.
  int64_t EstimatedWaitMicros(Priority priority) const;
  // readpool.demote_after_ms in microseconds (0: never); for tasks that can
  // stop part-way and continue at low priority.
  int64_t DemoteAfterMicros() const { return demote_after_us_.load(std::memory_order_relaxed); }

  // Refuses new tasks, aborts queued ones, waits for running ones and
  // joins every thread. Idempotent. Status stays readable afterwards.
  void Stop();

  // Blocks until every priority has no queued or running task and its
  // workers have published their metrics. For tests and orderly drains.
  void WaitUntilIdle();

 private:
  ReadPool(Clock* clock, std::string name);

  // Reserves a slot at `priority` or explains why not (Busy / Aborted).
  Status Admit(Priority priority, ReadPoolFull* full, read_pool_internal::Lane** lane);
  // Queues an admitted task; on failure releases its slot and leaves *task
  // untouched (not run, not aborted).
  Status Submit(read_pool_internal::Lane* lane, std::unique_ptr<read_pool_internal::ReadTaskBase>* task);
  read_pool_internal::Lane& LaneFor(Priority priority) const;

  // Constant after Create.
  Clock* const clock_;
  const std::string name_;
  std::array<std::unique_ptr<read_pool_internal::Lane>, 3> lanes_;  // high, normal, low

  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> demote_after_us_{0};

  // Serializes ApplySettings.
  mutable Mutex settings_mu_;
  ReadPoolSettings settings_ GUARDED_BY(settings_mu_);
};

}  // namespace ebb

#endif  // EBB_RUNTIME_READ_POOL_H_
