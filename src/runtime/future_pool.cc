#include "runtime/future_pool.h"


#include <algorithm>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/thread_name.h"
#include "base/thread_priority.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

// The pool whose worker is the current thread, so Stop() and
// WaitUntilIdle() can refuse to wait for themselves.
thread_local const FuturePool* t_current_pool = nullptr;

constexpr int kMinNice = -20;
constexpr int kMaxNice = 19;
Status ValidateThreads(const std::string& name, int threads) {
  if (threads < 1 || threads > FuturePool::kMaxThreads) {
    return Status::InvalidArgument(
        fmt::format("FuturePool {}: {} threads is out of range [1, {}]", name, threads, FuturePool::kMaxThreads));
  }
  return Status::OK();
}

Status ValidateNice(const std::string& name, int nice) {
  if (nice < kMinNice || nice > kMaxNice) {
    return Status::InvalidArgument(
        fmt::format("FuturePool {}: nice {} is out of range [{}, {}]", name, nice, kMinNice, kMaxNice));
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<FuturePool>> FuturePool::Create(FuturePoolOptions options) {
  EBB_RETURN_IF_ERROR(ValidateThreads(options.name, options.threads));
  EBB_RETURN_IF_ERROR(ValidateNice(options.name, options.nice));
  if (options.tick_interval_us < 0) {
    return Status::InvalidArgument(
        fmt::format("FuturePool {}: tick interval {} us is negative", options.name, options.tick_interval_us));
  }
  if (options.max_queued_tasks < 1) {
    return Status::InvalidArgument(
        fmt::format("FuturePool {}: max_queued_tasks {} must be at least 1", options.name, options.max_queued_tasks));
  }
  if (options.spin_us < 0 || options.spin_us > kMaxSpinMicros) {
    return Status::InvalidArgument(fmt::format("FuturePool {}: spin_us {} is out of range [0, {}]", options.name,
                                               options.spin_us, kMaxSpinMicros));
  }
  if (options.clock == nullptr) {
    return Status::InvalidArgument(fmt::format("FuturePool {}: no clock given", options.name));
  }
  int threads = options.threads;
  std::unique_ptr<FuturePool> pool(new FuturePool(std::move(options)));
  Status status = pool->SetThreads(threads);
  if (!status.ok()) {
    pool->Stop();
    return status;
  }
  return pool;
}

FuturePool::FuturePool(FuturePoolOptions options)
    : name_(std::move(options.name)),
      clock_(options.clock),
      context_factory_(std::move(options.context_factory)),
      tick_interval_us_(options.tick_interval_us),
      spin_us_(options.spin_us),
      max_queued_tasks_(options.max_queued_tasks),
      nice_(options.nice) {}

FuturePool::~FuturePool() { Stop(); }

Status FuturePool::Submit(std::unique_ptr<PoolTask>* task) {
  EBB_CHECK(task != nullptr && *task != nullptr);
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return Status::Aborted(fmt::format("FuturePool {}: stopped (shutting down); the task was not run", name_));
    }
    if (static_cast<int64_t>(queue_.size()) >= max_queued_tasks_) {
      return Status::Busy(fmt::format("FuturePool {}: {} tasks queued, the limit (max_queued_tasks); retry later",
                                      name_, queue_.size()));
    }
    queue_.push_back(std::move(*task));
    queued_.fetch_add(1, std::memory_order_seq_cst);
  }
  work_cv_.Signal();
  return Status::OK();
}

Status FuturePool::SetThreads(int threads) {
  EBB_RETURN_IF_ERROR(ValidateThreads(name_, threads));
  std::vector<std::unique_ptr<Worker>> to_join;
  Status status;
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return Status::Aborted(fmt::format("FuturePool {}: stopped; cannot change its thread count", name_));
    }
    int active = live_threads_ - retiring_workers_ - pending_retirements_;
    if (threads > active) {
      // Growing: first take back retirements busy workers have not begun.
      int need = threads - active;
      int cancelled = std::min(need, pending_retirements_);
      pending_retirements_ -= cancelled;
      status = StartWorkersLocked(need - cancelled);
    } else if (threads < active) {
      // Shrinking: idle workers leave now, busy ones after their task.
      int excess = active - threads;
      for (auto it = workers_.begin(); it != workers_.end() && excess > 0;) {
        Worker* worker = it->get();
        if (worker->idle && !worker->retire && !worker->exited) {
          worker->retire = true;
          retiring_workers_++;
          excess--;
          to_join.push_back(std::move(*it));
          it = workers_.erase(it);
        } else {
          ++it;
        }
      }
      pending_retirements_ += excess;
      work_cv_.SignalAll();
    }
    target_threads_ = live_threads_ - retiring_workers_ - pending_retirements_;
    TakeExitedLocked(&to_join);
  }
  for (auto& worker : to_join) worker->thread.join();
  return status;
}

Status FuturePool::StartWorkersLocked(int count) {
  for (int i = 0; i < count; i++) {
    auto worker = std::make_unique<Worker>(next_worker_id_++);
    Worker* raw = worker.get();
    try {
      raw->thread = std::thread([this, raw] { WorkerMain(raw); });
    } catch (const std::system_error& e) {
      return Status::IOError(fmt::format(
          "FuturePool {}: cannot start a worker thread ({}); lower the thread count or raise the process thread limit",
          name_, e.what()));
    }
    live_threads_++;
    workers_.push_back(std::move(worker));
  }
  return Status::OK();
}

void FuturePool::TakeExitedLocked(std::vector<std::unique_ptr<Worker>>* exited) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if ((*it)->exited) {
      exited->push_back(std::move(*it));
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

Status FuturePool::ApplyNiceLocked(Worker* worker) {
  if (worker->tid == 0 || worker->exited) return Status::OK();  // applies it itself when it starts
  return SetThreadNice(worker->tid, nice_, fmt::format("FuturePool {} worker", name_));
}

Status FuturePool::SetNice(int nice) {
  EBB_RETURN_IF_ERROR(ValidateNice(name_, nice));
  MutexLock lock(&mu_);
  nice_ = nice;
  Status first_error;
  for (auto& worker : workers_) {
    Status status = ApplyNiceLocked(worker.get());
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

void FuturePool::SetTickIntervalMicros(int64_t tick_interval_us) {
  tick_interval_us_.store(std::max<int64_t>(0, tick_interval_us), std::memory_order_relaxed);
}

void FuturePool::SetSpinMicros(int64_t spin_us) {
  spin_us_.store(std::clamp<int64_t>(spin_us, 0, kMaxSpinMicros), std::memory_order_relaxed);
}

void FuturePool::SetMaxQueuedTasks(int64_t max_queued_tasks) {
  MutexLock lock(&mu_);
  max_queued_tasks_ = std::max<int64_t>(1, max_queued_tasks);
}

bool FuturePool::SpinForTask(int64_t spin_us) {
  polls_.fetch_add(1, std::memory_order_relaxed);
  spinning_workers_.fetch_add(1, std::memory_order_seq_cst);
  const auto contended = std::chrono::microseconds(kContendedYieldMicros);
  auto now = std::chrono::steady_clock::now();
  const auto until = now + std::chrono::microseconds(spin_us);
  // Yielding, so a thread waiting for this core (the submitter, another
  // pool's worker) runs first. A yield that let one run ends the polling
  // (FuturePoolOptions::spin_us): the core is contended.
  while (queued_.load(std::memory_order_seq_cst) == 0 && !stop_spinning_.load(std::memory_order_relaxed) &&
         now < until) {
    std::this_thread::yield();
    const auto before = now;
    now = std::chrono::steady_clock::now();
    if (now - before >= contended) {
      // Unless the thread that ran queued the next task meanwhile.
      if (queued_.load(std::memory_order_seq_cst) == 0) contended_polls_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  const bool caught = queued_.load(std::memory_order_seq_cst) > 0;
  spinning_workers_.fetch_sub(1, std::memory_order_seq_cst);
  return caught;
}

void FuturePool::WorkerMain(Worker* worker) {
  t_current_pool = this;
  SetCurrentThreadName(fmt::format("{}-{}", name_, worker->id));
  {
    MutexLock lock(&mu_);
    worker->tid = CurrentThreadId();
    Status status = ApplyNiceLocked(worker);
    if (!status.ok()) EBB_LOG(kWarn, "{}", status.ToString());
  }
  std::unique_ptr<TaskContext> context =
      context_factory_ ? context_factory_(worker->id) : std::make_unique<TaskContext>();
  EBB_CHECK_MSG(context != nullptr, "FuturePool {}: the context factory returned nullptr", name_);
  int64_t last_tick_us = clock_->NowMicros();
  bool unpublished = false;  // ran a task since the last OnTick / OnIdle
  // Polling pays only for a stream of tasks: after a task, a worker polls
  // if tasks have been arriving back to back (it found the next one queued
  // when it finished the one before, or its last poll caught one). A read
  // now and then goes straight to sleep, leaving the core (and the CPU
  // share the scheduler counts) to others.
  bool ran_task = false;  // ran a task since it last polled or slept
  bool stream = false;

  mu_.Lock();
  while (true) {
    // A shrink that found too few idle workers left retirements for the
    // next worker to come by here: one finishing a task or one starting.
    if (pending_retirements_ > 0 && !worker->retire) {
      pending_retirements_--;
      retiring_workers_++;
      worker->retire = true;
    }
    if (worker->retire || stopping_) break;
    if (queue_.empty()) {
      const int64_t spin_us = spin_us_.load(std::memory_order_relaxed);
      if (ran_task && stream && spin_us > 0) {
        ran_task = false;
        mu_.Unlock();
        stream = SpinForTask(spin_us);
        mu_.Lock();
        continue;
      }
      if (unpublished) {
        // Out of work: let the context publish before sleeping, because an
        // idle worker will not tick again until its next task.
        unpublished = false;
        mu_.Unlock();
        context->OnIdle();
        mu_.Lock();
        continue;
      }
      worker->idle = true;
      idle_workers_++;
      ran_task = false;
      stream = false;
      sleeps_.fetch_add(1, std::memory_order_relaxed);
      if (idle_workers_ == live_threads_) idle_cv_.SignalAll();
      work_cv_.Wait();  // no timeout: an idle pool makes no wakeups
      worker->idle = false;
      idle_workers_--;
      continue;
    }
    if (ran_task) stream = true;  // this task was waiting when the last one ended
    ran_task = true;
    std::unique_ptr<PoolTask> task = std::move(queue_.front());
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    running_.fetch_add(1, std::memory_order_relaxed);
    mu_.Unlock();

    task->Run(*context);
    task.reset();
    // The RFC's ContextDelegator: tick when the interval has passed since
    // this thread's last tick, checked only when a task finishes.
    int64_t now_us = clock_->NowMicros();
    if (now_us - last_tick_us >= tick_interval_us_.load(std::memory_order_relaxed)) {
      context->OnTick();
      last_tick_us = now_us;
      unpublished = false;
    } else {
      unpublished = true;
    }

    mu_.Lock();
    running_.fetch_sub(1, std::memory_order_relaxed);
  }
  mu_.Unlock();

  if (unpublished) context->OnIdle();
  context.reset();  // destroyed on its own thread, before Stop() returns

  MutexLock lock(&mu_);
  if (worker->retire) retiring_workers_--;
  worker->exited = true;
  live_threads_--;
  idle_cv_.SignalAll();
  // This worker may have consumed the wakeup meant for a queued task.
  if (!queue_.empty()) work_cv_.Signal();
}

void FuturePool::Stop() {
  EBB_CHECK_MSG(!IsOwnWorkerThread(), "FuturePool {}: Stop() called from one of its own workers", name_);
  std::deque<std::unique_ptr<PoolTask>> drained;
  std::list<std::unique_ptr<Worker>> to_join;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    stop_spinning_.store(true, std::memory_order_relaxed);
    drained.swap(queue_);
    queued_.fetch_sub(static_cast<int64_t>(drained.size()), std::memory_order_relaxed);
    to_join.swap(workers_);
    work_cv_.SignalAll();
  }
  if (!drained.empty()) {
    Status aborted = Status::Aborted(
        fmt::format("FuturePool {}: stopped (shutting down) before the task ran; retry once it is running again", name_));
    for (auto& task : drained) {
      task->Abort(aborted);
      task.reset();
    }
  }
  for (auto& worker : to_join) worker->thread.join();
  // Workers retired by a concurrent SetThreads are joined there; still wait
  // until they have destroyed their contexts, so none outlives Stop().
  MutexLock lock(&mu_);
  while (live_threads_ > 0) idle_cv_.Wait();
}

void FuturePool::WaitUntilIdle() {
  EBB_CHECK_MSG(!IsOwnWorkerThread(), "FuturePool {}: WaitUntilIdle() called from one of its own workers", name_);
  MutexLock lock(&mu_);
  while (!queue_.empty() || idle_workers_ != live_threads_) idle_cv_.Wait();
}

int FuturePool::threads() const {
  MutexLock lock(&mu_);
  return target_threads_;
}

int FuturePool::live_threads() const {
  MutexLock lock(&mu_);
  return live_threads_;
}

int FuturePool::nice() const {
  MutexLock lock(&mu_);
  return nice_;
}

bool FuturePool::stopped() const {
  MutexLock lock(&mu_);
  return stopping_;
}

bool FuturePool::IsOwnWorkerThread() const { return t_current_pool == this; }

}  // namespace ebb
