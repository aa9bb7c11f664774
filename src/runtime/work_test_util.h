// Test-only helpers for the work runtime: a fake WorkSource with a pending
// gauge the test controls, and a driver that steps a BackgroundScheduler
// with a ManualClock. Linked only into runtime_test.

#ifndef EBB_RUNTIME_WORK_TEST_UTIL_H_
#define EBB_RUNTIME_WORK_TEST_UTIL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_name.h"
#include "env/clock.h"
#include "runtime/background_scheduler.h"
#include "runtime/work_source.h"

namespace ebb::testing {

// A WorkSource whose pending work is a counter. DoWork removes
// min(budget, pending) (or whole units, or at most a capacity per pass) and
// can hand a fraction of what it did to downstream fakes, modelling
// writeback creating compaction work. Thread-safe.
class FakeWorkSource final : public WorkSource {
 public:
  struct Pass {
    int64_t micros;  // clock time when the pass started
    uint64_t budget_bytes;
    uint64_t done_bytes;
    std::string thread;  // name of the thread that ran it
  };

  explicit FakeWorkSource(ManualClock* clock) : clock_(clock) {}

  void Add(uint64_t bytes) {
    MutexLock lock(&mu_);
    pending_ += bytes;
  }
  void AddDownstream(FakeWorkSource* downstream, double fraction) {
    MutexLock lock(&mu_);
    downstreams_.push_back({downstream, fraction});
  }
  // Each pass does whole units of this size (at least one), like memtable flushes.
  void set_unit_bytes(uint64_t bytes) {
    MutexLock lock(&mu_);
    unit_bytes_ = bytes;
  }
  // A slow worker: at most this much per pass.
  void set_capacity_per_pass_bytes(uint64_t bytes) {
    MutexLock lock(&mu_);
    capacity_per_pass_bytes_ = bytes;
  }
  // A pass takes this long on the ManualClock.
  void set_pass_micros(int64_t micros) {
    MutexLock lock(&mu_);
    pass_micros_ = micros;
  }
  // A pass takes as long as a device of this speed needs for what it did.
  void set_device_bytes_per_s(double bytes_per_s) {
    MutexLock lock(&mu_);
    device_bytes_per_s_ = bytes_per_s;
  }
  // Passes make no progress (or fail with `error`) while set.
  void set_stuck(bool stuck, Status error = Status::OK()) {
    MutexLock lock(&mu_);
    stuck_ = stuck;
    error_ = std::move(error);
  }
  // Its passes may wait on an object store (WorkSource::PassesWaitOnNetwork).
  void set_remote(bool remote) {
    MutexLock lock(&mu_);
    remote_ = remote;
  }
  bool PassesWaitOnNetwork() override {
    MutexLock lock(&mu_);
    return remote_;
  }
  // Passes block while set (threaded tests).
  void set_blocking(bool blocking) {
    MutexLock lock(&mu_);
    blocking_ = blocking;
    cv_.SignalAll();
  }

  uint64_t PendingBytes() override {
    MutexLock lock(&mu_);
    gauge_reads_++;
    cv_.SignalAll();
    return pending_;
  }

  // Work held back until the classes above go idle (like smoosh's
  // wait_secs): not in the gauge until UpstreamsIdle releases it.
  void Hold(uint64_t bytes) {
    MutexLock lock(&mu_);
    held_ += bytes;
  }
  bool HoldsWorkForUpstreams() override {
    MutexLock lock(&mu_);
    return held_ > 0;
  }
  void UpstreamsIdle() override {
    MutexLock lock(&mu_);
    upstreams_idle_calls_++;
    pending_ += held_;
    held_ = 0;
  }
  uint64_t upstreams_idle_calls() {
    MutexLock lock(&mu_);
    return upstreams_idle_calls_;
  }
  uint64_t HeldBytes() override {
    MutexLock lock(&mu_);
    return held_;
  }
  void ReleaseHeldWork() override {
    MutexLock lock(&mu_);
    held_releases_++;
    pending_ += held_;
    held_ = 0;
  }
  uint64_t held_releases() {
    MutexLock lock(&mu_);
    return held_releases_;
  }

  Result<uint64_t> DoWork(uint64_t budget_bytes) override {
    {
      MutexLock lock(&mu_);
      if (active_passes_ > 0) overlapping_passes_++;
      active_passes_++;
    }
    std::vector<std::pair<FakeWorkSource*, uint64_t>> handoff;
    Result<uint64_t> result = Work(budget_bytes, &handoff);
    for (const auto& [downstream, bytes] : handoff) downstream->Add(bytes);
    MutexLock lock(&mu_);
    active_passes_--;
    return result;
  }

  uint64_t pending() {
    MutexLock lock(&mu_);
    return pending_;
  }
  std::vector<Pass> passes() {
    MutexLock lock(&mu_);
    return passes_;
  }
  size_t pass_count() {
    MutexLock lock(&mu_);
    return passes_.size();
  }
  uint64_t gauge_reads() {
    MutexLock lock(&mu_);
    return gauge_reads_;
  }

  // Waits (bounded in real time, so a bug fails instead of hanging) until
  // `pred` holds; returns whether it did.
  bool WaitFor(const std::function<bool(FakeWorkSource&)>& pred) NO_THREAD_SAFETY_ANALYSIS {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    MutexLock lock(&mu_);
    while (true) {
      {
        MutexUnlock unlock(&mu_);
        if (pred(*this)) return true;
      }
      if (std::chrono::steady_clock::now() >= give_up) return false;
      cv_.WaitFor(std::chrono::milliseconds(50));
    }
  }
  bool WaitForPasses(size_t n) {
    return WaitFor([n](FakeWorkSource& s) { return s.pass_count() >= n; });
  }
  bool WaitForGaugeReads(uint64_t n) {
    return WaitFor([n](FakeWorkSource& s) { return s.gauge_reads() >= n; });
  }
  bool WaitInPass() {
    return WaitFor([](FakeWorkSource& s) {
      MutexLock lock(&s.mu_);
      return s.in_pass_;
    });
  }

  // DoWork calls that overlapped another on this source (must stay 0).
  uint64_t overlapping_passes() {
    MutexLock lock(&mu_);
    return overlapping_passes_;
  }

 private:
  Result<uint64_t> Work(uint64_t budget_bytes, std::vector<std::pair<FakeWorkSource*, uint64_t>>* handoff) {
    MutexLock lock(&mu_);
    const int64_t start = clock_->NowMicros();
    in_pass_ = true;
    cv_.SignalAll();
    while (blocking_) cv_.Wait();
    in_pass_ = false;
    if (pass_micros_ > 0) clock_->Advance(pass_micros_);
    if (stuck_) {
      passes_.push_back({start, budget_bytes, 0, CurrentThreadName()});
      cv_.SignalAll();
      if (!error_.ok()) return error_;
      return uint64_t{0};
    }
    uint64_t done = 0;
    if (unit_bytes_ > 0) {
      const uint64_t units = std::max<uint64_t>(1, budget_bytes / unit_bytes_);
      done = units > pending_ / unit_bytes_ ? pending_ : units * unit_bytes_;
    } else {
      done = std::min(pending_, budget_bytes);
    }
    if (capacity_per_pass_bytes_ > 0) done = std::min(done, capacity_per_pass_bytes_);
    pending_ -= done;
    if (device_bytes_per_s_ > 0) clock_->Advance(static_cast<int64_t>(static_cast<double>(done) * 1e6 / device_bytes_per_s_));
    passes_.push_back({start, budget_bytes, done, CurrentThreadName()});
    for (const auto& [downstream, fraction] : downstreams_) {
      handoff->emplace_back(downstream, static_cast<uint64_t>(static_cast<double>(done) * fraction));
    }
    cv_.SignalAll();
    return done;
  }

  ManualClock* const clock_;
  Mutex mu_;
  CondVar cv_{&mu_};
  uint64_t pending_ GUARDED_BY(mu_) = 0;
  uint64_t held_ GUARDED_BY(mu_) = 0;
  uint64_t upstreams_idle_calls_ GUARDED_BY(mu_) = 0;
  uint64_t held_releases_ GUARDED_BY(mu_) = 0;
  uint64_t unit_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t capacity_per_pass_bytes_ GUARDED_BY(mu_) = 0;
  int64_t pass_micros_ GUARDED_BY(mu_) = 0;
  double device_bytes_per_s_ GUARDED_BY(mu_) = 0;
  bool stuck_ GUARDED_BY(mu_) = false;
  bool remote_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  bool blocking_ GUARDED_BY(mu_) = false;
  bool in_pass_ GUARDED_BY(mu_) = false;
  uint64_t gauge_reads_ GUARDED_BY(mu_) = 0;
  int active_passes_ GUARDED_BY(mu_) = 0;
  uint64_t overlapping_passes_ GUARDED_BY(mu_) = 0;
  std::vector<std::pair<FakeWorkSource*, double>> downstreams_ GUARDED_BY(mu_);
  std::vector<Pass> passes_ GUARDED_BY(mu_);
};

// Waits until the scheduler has accounted `n` passes of class `name` (a
// fake's pass is recorded before the scheduler sees its result).
inline bool WaitForAccountedPasses(BackgroundScheduler* scheduler, FakeWorkSource* source, const std::string& name,
                                   uint64_t n) {
  return source->WaitFor([&](FakeWorkSource&) {
    for (const auto& c : scheduler->GetStatus().classes) {
      if (c.name == name) return c.passes >= n;
    }
    return false;
  });
}

// Drives a scheduler that is not started: RunOnce, then jump the clock to
// the returned deadline, until nothing is armed or a time limit passes.
class StepDriver {
 public:
  StepDriver(BackgroundScheduler* scheduler, ManualClock* clock) : scheduler_(scheduler), clock_(clock) {}

  // Steps until every class sleeps (returns the time it happened) or until
  // `limit_micros` (returns nullopt). `after_step` runs after each RunOnce.
  std::optional<int64_t> RunUntilAsleep(int64_t limit_micros, const std::function<void()>& after_step = {}) {
    for (int step = 0; step < kMaxSteps; step++) {
      std::optional<int64_t> deadline = scheduler_->RunOnce();
      if (after_step) after_step();
      if (!deadline) return clock_->NowMicros();
      if (*deadline > limit_micros) return std::nullopt;
      if (*deadline > clock_->NowMicros()) clock_->Advance(*deadline - clock_->NowMicros());
    }
    return std::nullopt;
  }

  // Steps at a fixed period until `until_micros`: `before_step` (e.g. add
  // foreground load), advance one period, RunOnce, `after_step`.
  void RunPeriodic(int64_t period_micros, int64_t until_micros, const std::function<void()>& before_step,
                   const std::function<void()>& after_step) {
    while (clock_->NowMicros() < until_micros) {
      if (before_step) before_step();
      clock_->Advance(period_micros);
      scheduler_->RunOnce();
      if (after_step) after_step();
    }
  }

  // Steps like a started dispatcher, for counting what a trace costs: a
  // round at every armed deadline and at every event that would have woken
  // it (BackgroundScheduler::TakeNotification), nothing in between. Events
  // are `on_event(i)` at `event_micros[i]` (ascending). Runs until
  // `until_micros`; returns the rounds taken (a started scheduler also takes
  // one after each pass, when its worker reports it).
  uint64_t RunEventDriven(int64_t until_micros, const std::vector<int64_t>& event_micros,
                          const std::function<void(size_t)>& on_event,
                          const std::function<void()>& after_round = {}) {
    uint64_t rounds = 1;
    std::optional<int64_t> deadline = scheduler_->RunOnce();
    if (after_round) after_round();
    size_t next_event = 0;
    for (int step = 0; step < kMaxSteps; step++) {
      int64_t next = deadline.value_or(INT64_MAX);
      if (next_event < event_micros.size()) next = std::min(next, event_micros[next_event]);
      if (next > until_micros) break;
      if (next > clock_->NowMicros()) clock_->Advance(next - clock_->NowMicros());
      bool round = deadline && clock_->NowMicros() >= *deadline;
      while (next_event < event_micros.size() && event_micros[next_event] <= clock_->NowMicros()) {
        on_event(next_event++);
        round = scheduler_->TakeNotification() || round;
      }
      if (!round) continue;
      deadline = scheduler_->RunOnce();
      rounds++;
      if (after_round) after_round();
    }
    if (until_micros > clock_->NowMicros()) clock_->Advance(until_micros - clock_->NowMicros());
    return rounds;
  }

  WorkClassStatus Class(const std::string& name) const {
    for (const auto& c : scheduler_->GetStatus().classes) {
      if (c.name == name) return c;
    }
    return {};
  }

 private:
  static constexpr int kMaxSteps = 1'000'000;
  BackgroundScheduler* const scheduler_;
  ManualClock* const clock_;
};

}  // namespace ebb::testing

#endif  // EBB_RUNTIME_WORK_TEST_UTIL_H_
