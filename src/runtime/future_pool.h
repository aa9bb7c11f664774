// FuturePool: a set of named worker threads, each with its own context that
// ticks (like TiKV's util::FuturePool; the lower level of the ReadPool).
//
//  - The owner supplies a TaskContextFactory; every worker thread creates
//    its own TaskContext on that thread before its first task and destroys
//    it there when the thread exits. A task receives the context of the
//    thread it runs on, so it can keep metrics without any locking.
//  - Ticks are driven by task completion (the RFC's ContextDelegator): after
//    a task finishes, the worker calls OnTick() if tick_interval has passed
//    since that thread's last tick. An idle pool therefore never ticks and
//    makes no wakeups at all: a worker with nothing to do blocks on a
//    condition variable without a timeout. Missed intervals are not caught
//    up; one tick covers however long the gap was.
//  - Because an idle pool never ticks, a worker also calls OnIdle() once
//    when it runs out of queued tasks (and when it exits) if it ran a task
//    since its last tick or OnIdle, so a context can publish what it holds
//    and status is exact once the pool drains.
//  - Thread count changes at run time: growing starts threads at once;
//    shrinking retires idle workers at once (joined before SetThreads
//    returns) and busy ones as soon as their current task finishes.
//  - Every task is completed exactly once: it runs, or (queued at Stop) it
//    is aborted with Status::Aborted; a task that could not be queued is
//    reported to the submitter and neither runs nor aborts.
//  - All time is read through ebb::Clock.
//
// Thread safety: every public method is thread-safe. Stop() and
// WaitUntilIdle() must not be called from one of this pool's own workers
// (they would wait for themselves); that is checked.

#ifndef EBB_RUNTIME_FUTURE_POOL_H_
#define EBB_RUNTIME_FUTURE_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "ebb/status.h"
#include "env/clock.h"

namespace ebb {

// Per-thread state of a pool worker. Created, used and destroyed only on
// its own worker thread, so implementations need no locking for their own
// fields.
class TaskContext {
 public:
  virtual ~TaskContext() = default;

  // Called on the worker thread after a task finishes, at most once per
  // tick interval of that thread, never while the thread is idle.
  virtual void OnTick() {}

  // Called on the worker thread when it finds no queued task (just before
  // it sleeps) or is about to exit, if it ran a task since its last OnTick
  // or OnIdle. Lets a context publish what it holds without a timer.
  virtual void OnIdle() {}
};

// Creates the context of one worker; called on that worker thread before
// it runs anything. `worker_id` is unique within the pool (never reused).
// Must not return nullptr.
using TaskContextFactory = std::function<std::unique_ptr<TaskContext>(int worker_id)>;

// One unit of work for a FuturePool. Exactly one of Run / Abort is called,
// once, unless Submit refused the task (then neither is).
class PoolTask {
 public:
  virtual ~PoolTask() = default;
  // Runs on a worker thread with that thread's context. Must not throw.
  virtual void Run(TaskContext& context) = 0;
  // Completes the task without running it (the pool stopped first).
  // Called on the thread that called Stop(). Must not throw.
  virtual void Abort(const Status& status) = 0;
};

struct FuturePoolOptions {
  // Thread names are "<name>-<worker_id>", cut to Linux's 15 characters;
  // also used in error messages.
  std::string name = "pool";
  // Worker threads, in [1, FuturePool::kMaxThreads].
  int threads = 1;
  // Minimum time between two OnTick calls of one worker thread.
  int64_t tick_interval_us = 1'000'000;
  // Nice value of the worker threads (Linux: per thread, CFS turns it into
  // a CPU weight). Raising it always works; lowering it below the nice of
  // the thread that starts the workers needs CAP_SYS_NICE.
  int nice = 0;
  // Bound on queued (not yet running) tasks; Submit returns Busy beyond it.
  int64_t max_queued_tasks = 1 << 20;
  // After a task, a worker that finds the queue empty polls it this long
  // (yielding the CPU between polls) before it sleeps: a task submitted in
  // that window starts without a thread wakeup (and, when no worker
  // sleeps, its submitter makes no wake-up system call). Only while tasks
  // arrive back to back (the worker found the next task queued when it
  // finished one, or its last poll caught one): a lone task is followed by
  // sleep at once, and an idle pool makes no wakeups. And only while the
  // core is its own: a yield that gave the core to another thread (it
  // returned kContendedYieldMicros or more later) ends the polling, since a
  // polling worker then waits its turn behind the threads that want the
  // core, where a sleeping one is woken ahead of them, and its polls take
  // CPU share from them. 0: never poll. At most kMaxSpinMicros.
  int64_t spin_us = 0;
  // Not owned; must outlive the pool.
  Clock* clock = SystemClock();
  // Empty means every worker gets a plain TaskContext.
  TaskContextFactory context_factory;
};

namespace pool_internal {

template <typename R>
struct IsTaskResult : std::false_type {};
template <>
struct IsTaskResult<Status> : std::true_type {};
template <typename T>
struct IsTaskResult<Result<T>> : std::true_type {};

// Body of a callback-form task: fn(TaskContext&) runs, or on_abort(Status).
template <typename Fn, typename AbortFn>
struct CallbackBody {
  Fn fn;
  AbortFn on_abort;
  void Run(TaskContext& context) { fn(context); }
  void Abort(const Status& status) { on_abort(status); }
};

// Body of a future-form task: the promise gets fn's result, or the status
// the task was aborted or refused with.
template <typename R, typename Fn>
struct FutureBody {
  Fn fn;
  std::promise<R> promise;
  void Run(TaskContext& context) { promise.set_value(fn(context)); }
  void Abort(const Status& status) { promise.set_value(R(status)); }
};

template <typename Body>
class BodyTask final : public PoolTask {
 public:
  explicit BodyTask(Body body) : body_(std::move(body)) {}
  void Run(TaskContext& context) override { body_.Run(context); }
  void Abort(const Status& status) override { body_.Abort(status); }
  Body& body() { return body_; }

 private:
  Body body_;
};

template <typename R>
std::future<R> ReadyFuture(Status status) {
  std::promise<R> promise;
  promise.set_value(R(std::move(status)));
  return promise.get_future();
}

}  // namespace pool_internal

class FuturePool {
 public:
  static constexpr int kMaxThreads = 256;
  // Longest FuturePoolOptions::spin_us: polling is for the gap between
  // tasks of a steady stream, not a substitute for sleeping.
  static constexpr int64_t kMaxSpinMicros = 10'000;
  // A yield that returns this much later gave the core to another thread
  // (a yield that finds nobody waiting returns within a microsecond or
  // two): the core is contended, and the worker stops polling.
  static constexpr int64_t kContendedYieldMicros = 20;

  // Starts options.threads workers. Fails with InvalidArgument for options
  // out of range, or IOError if a thread cannot be started.
  static Result<std::unique_ptr<FuturePool>> Create(FuturePoolOptions options);

  // Stop()s the pool.
  ~FuturePool();

  FuturePool(const FuturePool&) = delete;
  FuturePool& operator=(const FuturePool&) = delete;

  // Callback form. fn(TaskContext&) runs on a worker; if the pool stops
  // first, on_abort(const Status&) is called instead (on the thread calling
  // Stop). Returns OK when queued: exactly one of the two will be called.
  // Returns Aborted (stopped) or Busy (max_queued_tasks reached) when not
  // queued: neither is called.
  template <typename Fn, typename AbortFn>
  Status Spawn(Fn&& fn, AbortFn&& on_abort) {
    using Body = pool_internal::CallbackBody<std::decay_t<Fn>, std::decay_t<AbortFn>>;
    std::unique_ptr<PoolTask> task =
        std::make_unique<pool_internal::BodyTask<Body>>(Body{std::forward<Fn>(fn), std::forward<AbortFn>(on_abort)});
    return Submit(&task);
  }

  // Future form. fn(TaskContext&) returns Status or Result<T>; the future
  // gets that value, or Aborted if the pool stopped before it ran, or the
  // Busy/Aborted status if it could not be queued. The future always
  // becomes ready.
  template <typename Fn, typename R = std::invoke_result_t<std::decay_t<Fn>&, TaskContext&>>
  std::future<R> SpawnFuture(Fn&& fn) {
    static_assert(pool_internal::IsTaskResult<R>::value, "a FuturePool task must return Status or Result<T>");
    using Body = pool_internal::FutureBody<R, std::decay_t<Fn>>;
    auto* task = new pool_internal::BodyTask<Body>(Body{std::forward<Fn>(fn), std::promise<R>()});
    std::future<R> future = task->body().promise.get_future();
    std::unique_ptr<PoolTask> owned(task);
    Status status = Submit(&owned);
    if (!status.ok()) task->body().Abort(status);  // still owned: not queued
    return future;
  }

  // Queues `*task`. On OK the pool owns it (*task is left empty); on error
  // (Aborted after Stop, Busy at max_queued_tasks) *task is untouched and
  // will be neither run nor aborted by the pool.
  Status Submit(std::unique_ptr<PoolTask>* task);

  // Changes the number of worker threads, in [1, kMaxThreads]. Idle excess
  // workers exit (and are joined) before this returns; busy ones exit after
  // their current task. Returns InvalidArgument out of range, Aborted after
  // Stop, IOError if a thread cannot be started (the pool keeps the threads
  // it has).
  Status SetThreads(int threads);

  // Takes effect at each worker's next completed task.
  void SetTickIntervalMicros(int64_t tick_interval_us);

  // FuturePoolOptions::spin_us, clamped to [0, kMaxSpinMicros]; takes effect
  // at each worker's next completed task.
  void SetSpinMicros(int64_t spin_us);

  // Sets the nice value of every worker, now and for workers started later.
  // PermissionDenied if lowering it needs CAP_SYS_NICE; workers that could
  // not be changed keep their old value.
  Status SetNice(int nice);

  void SetMaxQueuedTasks(int64_t max_queued_tasks);

  // Refuses new tasks, aborts every queued one with Status::Aborted (on
  // this thread), lets running tasks finish and joins every worker.
  // Idempotent.
  void Stop();

  // Blocks until no task is queued or running and every worker has gone
  // idle (so each context has had its OnIdle). With submitters that never
  // pause it may not return; meant for tests and orderly drains.
  void WaitUntilIdle();

  const std::string& name() const { return name_; }
  // Target thread count (what SetThreads asked for).
  int threads() const;
  // Threads currently alive, including busy ones still to retire.
  int live_threads() const;
  // Tasks being run (including the tick that follows each).
  int64_t running() const { return running_.load(std::memory_order_relaxed); }
  // Tasks queued and not yet picked up by a worker.
  int64_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // Times a worker went to sleep for want of a task (each one a wakeup to
  // come when work arrives).
  uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }
  // Workers polling the queue right now, and times a worker polled it
  // after a task (FuturePoolOptions::spin_us).
  int spinning_workers() const { return spinning_workers_.load(std::memory_order_relaxed); }
  uint64_t polls() const { return polls_.load(std::memory_order_relaxed); }
  // Of those, polls ended because a yield gave the core to another thread
  // (and found no task queued after it).
  uint64_t contended_polls() const { return contended_polls_.load(std::memory_order_relaxed); }
  int nice() const;
  bool stopped() const;

 private:
  struct Worker {
    explicit Worker(int worker_id) : id(worker_id) {}
    const int id;
    std::thread thread;
    // Protected by the pool's mu_.
    int tid = 0;          // Linux thread id, once the thread has started
    bool idle = false;    // waiting for work (has published everything)
    bool retire = false;  // must exit at its next check
    bool exited = false;  // WorkerMain has returned or is returning; join it
  };

  explicit FuturePool(FuturePoolOptions options);

  void WorkerMain(Worker* worker);
  // Polls the queue for up to spin_us (FuturePoolOptions::spin_us), without
  // mu_; returns when a task is queued (true), the time is up or Stop began.
  bool SpinForTask(int64_t spin_us);
  // Starts `count` workers. IOError if a thread cannot be created.
  Status StartWorkersLocked(int count) REQUIRES(mu_);
  // Moves exited workers out of workers_ so the caller can join them.
  void TakeExitedLocked(std::vector<std::unique_ptr<Worker>>* exited) REQUIRES(mu_);
  Status ApplyNiceLocked(Worker* worker) REQUIRES(mu_);
  bool IsOwnWorkerThread() const;

  // Constant after construction.
  const std::string name_;
  Clock* const clock_;
  const TaskContextFactory context_factory_;

  // Lock-free: read on every task or by observers.
  std::atomic<int64_t> tick_interval_us_;
  std::atomic<int64_t> running_{0};
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> spin_us_;
  // Workers polling the queue (FuturePoolOptions::spin_us). Submit still
  // wakes a sleeping worker: a poller may have yielded its core to busier
  // threads, and a task left to it could wait for the scheduler's slice.
  std::atomic<int> spinning_workers_{0};
  // Set by Stop so spinning workers stop polling at once.
  std::atomic<bool> stop_spinning_{false};
  std::atomic<uint64_t> sleeps_{0};
  std::atomic<uint64_t> polls_{0};
  std::atomic<uint64_t> contended_polls_{0};

  // Protected by mu_.
  mutable Mutex mu_;
  CondVar work_cv_{&mu_};  // workers wait here for a task, retirement or Stop
  CondVar idle_cv_{&mu_};  // a worker went idle or exited
  std::deque<std::unique_ptr<PoolTask>> queue_ GUARDED_BY(mu_);
  int64_t max_queued_tasks_ GUARDED_BY(mu_);
  // Every started worker not yet taken for joining. Whoever moves a Worker
  // out of this list joins its thread.
  std::list<std::unique_ptr<Worker>> workers_ GUARDED_BY(mu_);
  int target_threads_ GUARDED_BY(mu_) = 0;
  int live_threads_ GUARDED_BY(mu_) = 0;
  int idle_workers_ GUARDED_BY(mu_) = 0;
  // Workers flagged `retire` that have not exited yet.
  int retiring_workers_ GUARDED_BY(mu_) = 0;
  // Retirements still to be taken by busy workers when their task ends.
  int pending_retirements_ GUARDED_BY(mu_) = 0;
  int next_worker_id_ GUARDED_BY(mu_) = 1;
  int nice_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace ebb

#endif  // EBB_RUNTIME_FUTURE_POOL_H_
