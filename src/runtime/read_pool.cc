#include "runtime/read_pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "base/histogram.h"
#include "base/logging.h"
#include "base/status_macros.h"

namespace ebb {
namespace read_pool_internal {

// One priority of the ReadPool.
class Lane {
 public:
  Lane(Priority p, Clock* c) : priority(p), name(PriorityName(p)), clock(c) {}

  // Tasks admitted here are done (ran or aborted): free the slot and feed
  // the run time into the estimate.
  void FinishTask(int64_t run_us) {
    // Load-then-store: a concurrent finisher may overwrite this update. The
    // estimate only steers retry hints, and this keeps the hot path to two
    // uncontended-in-practice atomics instead of a CAS loop.
    double sample = static_cast<double>(run_us);
    double old = ewma_run_us.load(std::memory_order_relaxed);
    ewma_run_us.store(old < 0 ? sample : old + ReadPool::kRunTimeEwmaWeight * (sample - old),
                      std::memory_order_relaxed);
    inflight.fetch_sub(1, std::memory_order_acq_rel);
  }

  // Reads that must finish before a new one starts when `inflight` are
  // running or queued: none while a worker is free, else the queued ones
  // and one running (the first of them to finish frees a worker).
  int64_t ReadsAhead(int64_t inflight_now) const {
    const int64_t workers = std::max(1, threads.load(std::memory_order_relaxed));
    return inflight_now < workers ? 0 : inflight_now - workers + 1;
  }

  // Feeds the wait each read ahead costs. A task that had `ahead` reads to
  // wait for (ReadsAhead when it was submitted) and started after
  // `queue_wait_us` gives queue_wait_us / ahead, how fast the queue drained
  // for it. A task that found a worker free gives, once done, its run time
  // / threads, how fast the queue would drain at that run time: without
  // these, an estimate that refuses every read that would queue would
  // never be corrected, since only queued reads measure the queue.
  void RecordWait(int64_t queue_wait_us, int64_t ahead) {
    if (ahead <= 0) return;  // fed at its end, by RecordFreeRun
    AddWaitSample(static_cast<double>(queue_wait_us) / static_cast<double>(ahead));
  }
  void RecordFreeRun(int64_t run_us, int64_t ahead) {
    if (ahead > 0) return;
    AddWaitSample(static_cast<double>(run_us) / std::max(1, threads.load(std::memory_order_relaxed)));
  }
  void AddWaitSample(double sample) {
    const double old = ewma_wait_per_ahead_us.load(std::memory_order_relaxed);
    ewma_wait_per_ahead_us.store(old < 0 ? sample : old + ReadPool::kWaitEwmaWeight * (sample - old),
                                 std::memory_order_relaxed);  // load-then-store, as in FinishTask
  }

  // Recent run time of a task (EWMA), or the prior before the first.
  double RunTimeEstimateUs() const {
    double ewma = ewma_run_us.load(std::memory_order_relaxed);
    return ewma < 0 ? static_cast<double>(ReadPool::kPriorRunTimeUs) : ewma;
  }

  // What each read ahead adds to a new read's wait (RecordWait): under
  // load, measured from the waits of reads that found every worker busy,
  // so it counts the CPU the workers actually got (on a machine whose cores
  // are busy with other work the queue drains slower than run time /
  // threads). Before the first task: the prior run time / threads.
  double WaitPerAheadUs() const {
    const double ewma = ewma_wait_per_ahead_us.load(std::memory_order_relaxed);
    if (ewma >= 0) return ewma;
    return RunTimeEstimateUs() / std::max(1, threads.load(std::memory_order_relaxed));
  }

  int64_t EstimatedWaitUs() const {
    return std::llround(WaitPerAheadUs() *
                        static_cast<double>(ReadsAhead(inflight.load(std::memory_order_relaxed))));
  }

  // Constant.
  const Priority priority;
  const std::string_view name;
  Clock* const clock;

  // Admission, lock-free: running + queued tasks, and the bound on them.
  std::atomic<int64_t> inflight{0};
  std::atomic<int64_t> limit{0};
  std::atomic<int64_t> max_tasks_per_worker{0};
  std::atomic<int64_t> max_wait_us{0};  // 0: admission by the task limit alone
  std::atomic<int> threads{1};
  // Counted where they happen (submitting or stopping thread).
  std::atomic<uint64_t> admitted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> rejected_by_wait{0};  // of those, by max_wait_ms
  std::atomic<uint64_t> aborted{0};
  // EWMA of task run time in microseconds; negative until the first task.
  std::atomic<double> ewma_run_us{-1.0};
  // EWMA of queue wait per read ahead (WaitPerAheadUs); negative until the
  // first read that waited behind others.
  std::atomic<double> ewma_wait_per_ahead_us{-1.0};

  // Totals published by the workers' contexts on tick and on idle.
  mutable Mutex mu;
  Histogram queue_wait_us GUARDED_BY(mu);
  Histogram run_us GUARDED_BY(mu);
  uint64_t completed GUARDED_BY(mu) = 0;

  // Set in ReadPool::Create; declared last so it is destroyed (stopped)
  // before the state its workers publish into.
  std::unique_ptr<FuturePool> pool;
};

namespace {

// The per-thread context of a ReadPool worker: this thread's metrics, and
// the caller's own context.
class ReadWorkerContext final : public TaskContext {
 public:
  ReadWorkerContext(Lane* lane, std::unique_ptr<TaskContext> user) : lane_(lane), user_(std::move(user)) {}

  void OnTick() override {
    Publish();
    user_->OnTick();
  }
  void OnIdle() override {
    Publish();
    user_->OnIdle();
  }

  TaskContext& user() { return *user_; }

  void Record(int64_t queue_wait_us, int64_t run_us) {
    queue_wait_us_.Add(static_cast<uint64_t>(queue_wait_us));
    run_us_.Add(static_cast<uint64_t>(run_us));
    completed_++;
  }

 private:
  void Publish() {
    if (completed_ == 0) return;
    {
      MutexLock lock(&lane_->mu);
      lane_->queue_wait_us.Merge(queue_wait_us_);
      lane_->run_us.Merge(run_us_);
      lane_->completed += completed_;
    }
    queue_wait_us_.Clear();
    run_us_.Clear();
    completed_ = 0;
  }

  Lane* const lane_;
  const std::unique_ptr<TaskContext> user_;
  // Not yet published.
  Histogram queue_wait_us_;
  Histogram run_us_;
  uint64_t completed_ = 0;
};

constexpr Priority kPriorities[] = {Priority::kHigh, Priority::kNormal, Priority::kLow};

size_t IndexOf(Priority priority) {
  switch (priority) {
    case Priority::kHigh:
      return 0;
    case Priority::kNormal:
      return 1;
    case Priority::kLow:
      return 2;
  }
  return 1;
}

}  // namespace

void ReadTaskBase::Run(TaskContext& context) {
  // Only ReadPool's own factory makes the contexts of lane pools.
  auto& worker = static_cast<ReadWorkerContext&>(context);
  Clock* clock = lane_->clock;
  int64_t start_us = clock->NowMicros();
  const int64_t queue_wait_us = std::max<int64_t>(0, start_us - enqueue_us_);
  lane_->RecordWait(queue_wait_us, ahead_);
  RunBody(worker.user());
  int64_t end_us = clock->NowMicros();
  int64_t run_us = std::max<int64_t>(0, end_us - start_us);
  worker.Record(queue_wait_us, run_us);
  lane_->RecordFreeRun(run_us, ahead_);
  lane_->FinishTask(run_us);
}

void ReadTaskBase::Abort(const Status& status) {
  lane_->aborted.fetch_add(1, std::memory_order_relaxed);
  lane_->inflight.fetch_sub(1, std::memory_order_acq_rel);
  AbortBody(Status::Aborted(fmt::format(
      "ReadPool {}: shut down (the store is closing) before the read ran; retry after reopening", lane_->name)));
}

}  // namespace read_pool_internal

using read_pool_internal::Lane;

Result<std::unique_ptr<ReadPool>> ReadPool::Create(ReadPoolOptions options) {
  EBB_RETURN_IF_ERROR(options.settings.Validate());
  if (options.clock == nullptr) return Status::InvalidArgument("ReadPool: no clock given");
  std::unique_ptr<ReadPool> read_pool(new ReadPool(options.clock, options.name));
  const ReadPoolSettings& settings = options.settings;
  for (Priority p : read_pool_internal::kPriorities) {
    auto lane = std::make_unique<Lane>(p, options.clock);
    const ReadPoolLaneSettings& lane_settings = settings.ForPriority(p);
    Lane* raw = lane.get();
    FuturePoolOptions pool_options{
        .name = fmt::format("{}-{}", options.name, PriorityName(p)),
        .threads = lane_settings.threads,
        .tick_interval_us = settings.tick_interval_ms * 1000,
        .nice = lane_settings.nice,
        // Admission bounds running + queued to the lane's limit; the pool's
        // own bound is only a backstop.
        .max_queued_tasks = std::numeric_limits<int64_t>::max(),
        .spin_us = settings.spin_us,
        .clock = options.clock,
        .context_factory = [raw, factory = options.context_factory, p](int worker_id) -> std::unique_ptr<TaskContext> {
          std::unique_ptr<TaskContext> user = factory ? factory(p, worker_id) : nullptr;
          if (user == nullptr) user = std::make_unique<TaskContext>();
          return std::make_unique<read_pool_internal::ReadWorkerContext>(raw, std::move(user));
        },
    };
    EBB_ASSIGN_OR_RETURN(lane->pool, FuturePool::Create(std::move(pool_options)));
    lane->threads.store(lane_settings.threads);
    lane->max_tasks_per_worker.store(lane_settings.max_tasks_per_worker);
    lane->max_wait_us.store(std::llround(lane_settings.max_wait_ms * 1000));
    lane->limit.store(lane_settings.max_tasks_per_worker * lane_settings.threads);
    read_pool->lanes_[read_pool_internal::IndexOf(p)] = std::move(lane);
  }
  {
    MutexLock lock(&read_pool->settings_mu_);
    read_pool->settings_ = settings;
    read_pool->demote_after_us_.store(std::llround(settings.demote_after_ms * 1000));
  }
  return read_pool;
}

ReadPool::ReadPool(Clock* clock, std::string name) : clock_(clock), name_(std::move(name)) {}

ReadPool::~ReadPool() { Stop(); }

Lane& ReadPool::LaneFor(Priority priority) const { return *lanes_[read_pool_internal::IndexOf(priority)]; }

Status ReadPool::Admit(Priority priority, ReadPoolFull* full, Lane** out) {
  Lane& lane = LaneFor(priority);
  if (stopped_.load(std::memory_order_acquire)) {
    return Status::Aborted(
        fmt::format("ReadPool {}: shut down (the store is closing); the read was not run", lane.name));
  }
  const int64_t limit = lane.limit.load(std::memory_order_relaxed);
  int64_t current = lane.inflight.load(std::memory_order_relaxed);
  // Admission by expected wait: the reads that must finish before this one
  // starts times the wait each of them has recently cost (WaitPerAheadUs).
  // Refused at once, before anything is allocated, so admitted reads keep
  // a bounded wait under overload.
  const int64_t max_wait_us = lane.max_wait_us.load(std::memory_order_relaxed);
  if (max_wait_us > 0) {
    const int64_t ahead = lane.ReadsAhead(current);
    const int64_t wait_us = std::llround(lane.WaitPerAheadUs() * static_cast<double>(ahead));
    if (wait_us > max_wait_us) {
      lane.rejected.fetch_add(1, std::memory_order_relaxed);
      lane.rejected_by_wait.fetch_add(1, std::memory_order_relaxed);
      const int64_t retry_us = std::max(kMinRetryAfterUs, wait_us);
      if (full != nullptr) *full = ReadPoolFull{priority, current, limit, retry_us};
      return Status::Busy(fmt::format(
          "ReadPool {}: estimated wait {} us for {} reads ahead is over readpool.max_wait_ms_{} ({} ms); retry "
          "after {} ms, or raise readpool.max_wait_ms_{}",
          lane.name, wait_us, ahead, lane.name, static_cast<double>(max_wait_us) / 1000, (retry_us + 999) / 1000,
          lane.name));
    }
  }
  do {
    if (current >= limit) {
      // Over the limit: answer at once, before allocating anything.
      lane.rejected.fetch_add(1, std::memory_order_relaxed);
      int64_t wait_us = std::max(kMinRetryAfterUs, lane.EstimatedWaitUs());
      if (full != nullptr) *full = ReadPoolFull{priority, current, limit, wait_us};
      return Status::Busy(fmt::format(
          "ReadPool {}: {} reads running or queued, at the limit of {} ({} per worker x {} threads); estimated "
          "wait {} ms; retry after that, or raise readpool.max_tasks_per_worker_{}",
          lane.name, current, limit, lane.max_tasks_per_worker.load(std::memory_order_relaxed),
          lane.threads.load(std::memory_order_relaxed), (wait_us + 999) / 1000, lane.name));
    }
    // Reserve the slot only if nobody took it since we looked: this is
    // what keeps concurrent submitters from overshooting.
  } while (!lane.inflight.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                                std::memory_order_relaxed));
  *out = &lane;
  return Status::OK();
}

Status ReadPool::Submit(Lane* lane, std::unique_ptr<read_pool_internal::ReadTaskBase>* task) {
  (*task)->enqueue_us_ = clock_->NowMicros();
  // Admit counted this read in inflight: the others are what it waits for.
  (*task)->ahead_ = lane->ReadsAhead(lane->inflight.load(std::memory_order_relaxed) - 1);
  // Counted before queueing so status never shows completed > admitted.
  lane->admitted.fetch_add(1, std::memory_order_relaxed);
  std::unique_ptr<PoolTask> owned(task->release());
  Status status = lane->pool->Submit(&owned);
  if (!status.ok()) {
    // Stopped between Admit and here: give the slot back.
    task->reset(static_cast<read_pool_internal::ReadTaskBase*>(owned.release()));
    lane->admitted.fetch_sub(1, std::memory_order_relaxed);
    lane->inflight.fetch_sub(1, std::memory_order_acq_rel);
    return Status::Aborted(
        fmt::format("ReadPool {}: shut down (the store is closing); the read was not run", lane->name));
  }
  return Status::OK();
}

Status ReadPool::ApplyConfig(const Config& config) { return ApplySettings(ReadPoolSettings::FromConfig(config)); }

Status ReadPool::ApplySettings(const ReadPoolSettings& settings) {
  EBB_RETURN_IF_ERROR(settings.Validate());
  MutexLock lock(&settings_mu_);
  if (stopped_.load(std::memory_order_acquire)) {
    return Status::Aborted(fmt::format("ReadPool {}: shut down; settings not applied", name_));
  }
  Status first_error;
  auto note = [&first_error](Status status) {
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  };
  for (Priority p : read_pool_internal::kPriorities) {
    Lane& lane = LaneFor(p);
    const ReadPoolLaneSettings& lane_settings = settings.ForPriority(p);
    note(lane.pool->SetThreads(lane_settings.threads));
    // If not every thread could be started, size the limit to the threads
    // there are.
    int threads = std::max(1, lane.pool->threads());
    lane.threads.store(threads, std::memory_order_relaxed);
    lane.max_tasks_per_worker.store(lane_settings.max_tasks_per_worker, std::memory_order_relaxed);
    lane.max_wait_us.store(std::llround(lane_settings.max_wait_ms * 1000), std::memory_order_relaxed);
    lane.limit.store(lane_settings.max_tasks_per_worker * threads, std::memory_order_relaxed);
    lane.pool->SetTickIntervalMicros(settings.tick_interval_ms * 1000);
    lane.pool->SetSpinMicros(settings.spin_us);
    note(lane.pool->SetNice(lane_settings.nice));
  }
  demote_after_us_.store(std::llround(settings.demote_after_ms * 1000), std::memory_order_relaxed);
  settings_ = settings;
  return first_error;
}

ReadPoolSettings ReadPool::settings() const {
  MutexLock lock(&settings_mu_);
  return settings_;
}

ReadPoolPriorityStatus ReadPool::GetStatus(Priority priority) const {
  const Lane& lane = LaneFor(priority);
  ReadPoolPriorityStatus status;
  status.priority = std::string(lane.name);
  status.threads = lane.threads.load(std::memory_order_relaxed);
  status.nice = lane.pool->nice();
  status.max_tasks_per_worker = lane.max_tasks_per_worker.load(std::memory_order_relaxed);
  status.limit = lane.limit.load(std::memory_order_relaxed);
  status.running = lane.pool->running();
  status.queued = lane.pool->queued();
  status.admitted = lane.admitted.load(std::memory_order_relaxed);
  status.rejected = lane.rejected.load(std::memory_order_relaxed);
  status.rejected_by_wait = lane.rejected_by_wait.load(std::memory_order_relaxed);
  status.max_wait_ms = static_cast<double>(lane.max_wait_us.load(std::memory_order_relaxed)) / 1000;
  status.aborted = lane.aborted.load(std::memory_order_relaxed);
  {
    MutexLock lock(&lane.mu);
    status.completed = lane.completed;
    status.queue_wait_p50_us = lane.queue_wait_us.Percentile(50);
    status.queue_wait_p99_us = lane.queue_wait_us.Percentile(99);
    status.run_p50_us = lane.run_us.Percentile(50);
    status.run_p99_us = lane.run_us.Percentile(99);
  }
  status.estimated_wait_us = lane.EstimatedWaitUs();
  return status;
}

ReadPoolStatus ReadPool::GetStatus() const {
  return ReadPoolStatus{GetStatus(Priority::kHigh), GetStatus(Priority::kNormal), GetStatus(Priority::kLow)};
}

int64_t ReadPool::EstimatedWaitMicros(Priority priority) const { return LaneFor(priority).EstimatedWaitUs(); }

void ReadPool::Stop() {
  stopped_.store(true, std::memory_order_release);
  for (auto& lane : lanes_) {
    if (lane != nullptr && lane->pool != nullptr) lane->pool->Stop();
  }
}

void ReadPool::WaitUntilIdle() {
  for (auto& lane : lanes_) lane->pool->WaitUntilIdle();
}

}  // namespace ebb
