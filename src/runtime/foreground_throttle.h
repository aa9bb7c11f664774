// Foreground backpressure: how long one foreground write should pause when
// background work falls behind. Writes never fail because of it; the engine
// sleeps the returned time (Clock::SleepForMicros) before the write.
//
// Shaped like Linux's dirty throttling (mm/page-writeback.c): with
// setpoint = (soft + hard) / 2 and x = (pending - setpoint) / (hard - setpoint),
// Linux scales the allowed dirtying rate by pos_ratio = 1 - x^3 (2 at soft,
// 1 at the setpoint, 0 at hard). Here the pause follows the same cubic,
//
//   pause = max_pause * (1 - pos_ratio / 2) = max_pause * (1 + x^3) / 2
//
// zero at and below soft, max_pause / 2 at the setpoint, max_pause at and
// beyond hard; continuous and non-decreasing in pending, flat around the
// setpoint (small changes there barely change latency) and steep near the
// limits. max_pause defaults to 200 ms (Linux's MAX_PAUSE) and is never
// exceeded (setting work.max_pause_ms, at most 200).

#ifndef EBB_RUNTIME_FOREGROUND_THROTTLE_H_
#define EBB_RUNTIME_FOREGROUND_THROTTLE_H_

#include <atomic>
#include <cstdint>

#include "base/config.h"

namespace ebb {

inline constexpr int64_t kDefaultMaxPauseMicros = 200'000;
// No configuration can make one write pause longer than this.
inline constexpr int64_t kMaxPauseLimitMicros = 200'000;

// The pause for one foreground operation (micros). If hard <= soft, the
// pause is max_pause at or beyond hard and zero below it. max_pause is
// clamped to [0, kMaxPauseLimitMicros].
int64_t ThrottlePauseMicros(uint64_t pending_bytes, uint64_t soft_limit_bytes, uint64_t hard_limit_bytes,
                            int64_t max_pause_micros);

// Holds the run-time max pause. Thread-safe; PauseMicros is lock-free.
class ForegroundThrottle {
 public:
  explicit ForegroundThrottle(int64_t max_pause_micros = kDefaultMaxPauseMicros) {
    set_max_pause_micros(max_pause_micros);
  }

  int64_t PauseMicros(uint64_t pending_bytes, uint64_t soft_limit_bytes, uint64_t hard_limit_bytes) const {
    return ThrottlePauseMicros(pending_bytes, soft_limit_bytes, hard_limit_bytes,
                               max_pause_micros_.load(std::memory_order_relaxed));
  }

  int64_t max_pause_micros() const { return max_pause_micros_.load(std::memory_order_relaxed); }
  // Clamped to [0, kMaxPauseLimitMicros].
  void set_max_pause_micros(int64_t micros);
  // Reads work.max_pause_ms (RegisterWorkSettings).
  void ApplyConfig(const Config& config);

 private:
  std::atomic<int64_t> max_pause_micros_{kDefaultMaxPauseMicros};
};

}  // namespace ebb

#endif  // EBB_RUNTIME_FOREGROUND_THROTTLE_H_
