// Clock: Ebb reads time only through this interface so that runtime behaviour
// (idle detection, controllers, windows, ticks) is tested with a ManualClock
// and no sleeps.
//
// NowMicros is monotonic (never goes back; for intervals and deadlines).
// WallMicros is UTC since the Unix epoch (for time-of-day windows and
// human-readable timestamps).
//
// Thread-safe.

#ifndef EBB_ENV_CLOCK_H_
#define EBB_ENV_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "base/mutex.h"

namespace ebb {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMicros() const = 0;
  virtual int64_t WallMicros() const = 0;
  // Blocks the calling thread for `micros` of this clock's time.
  virtual void SleepForMicros(int64_t micros) = 0;
  // Waits on `cv` (whose mutex the caller holds) until it is signalled or
  // NowMicros() >= deadline_micros. Returns false if the deadline passed.
  // Spurious wakeups are possible: callers re-check their condition.
  virtual bool WaitUntil(CondVar* cv, int64_t deadline_micros) = 0;
};

// The real clock (steady_clock / system_clock).
Clock* SystemClock();

// A clock that moves only when told to. Threads blocked in SleepForMicros or
// WaitUntil on it re-check at least every millisecond of real time, so a
// test advancing it releases them promptly; unit tests of time-based logic
// call that logic directly instead of running threads against it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 1'000'000, int64_t wall_start_micros = 1'767'225'600'000'000)
      : now_(start_micros), wall_offset_(wall_start_micros - start_micros) {}

  int64_t NowMicros() const override { return now_.load(std::memory_order_acquire); }
  int64_t WallMicros() const override { return NowMicros() + wall_offset_.load(std::memory_order_acquire); }
  void SleepForMicros(int64_t micros) override;
  bool WaitUntil(CondVar* cv, int64_t deadline_micros) override;

  void Advance(int64_t micros) { now_.fetch_add(micros, std::memory_order_acq_rel); }
  void AdvanceMillis(int64_t millis) { Advance(millis * 1000); }
  void AdvanceSeconds(double seconds) { Advance(static_cast<int64_t>(seconds * 1e6)); }
  // Sets the wall clock (UTC micros) without moving the monotonic clock.
  void SetWallMicros(int64_t wall_micros) {
    wall_offset_.store(wall_micros - NowMicros(), std::memory_order_release);
  }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> wall_offset_;
};

}  // namespace ebb

#endif  // EBB_ENV_CLOCK_H_
