#include "runtime/foreground_throttle.h"

#include <algorithm>
#include <cmath>

namespace ebb {

int64_t ThrottlePauseMicros(uint64_t pending_bytes, uint64_t soft_limit_bytes, uint64_t hard_limit_bytes,
                            int64_t max_pause_micros) {
  const int64_t max_pause = std::clamp<int64_t>(max_pause_micros, 0, kMaxPauseLimitMicros);
  if (pending_bytes >= hard_limit_bytes) return max_pause;
  if (pending_bytes <= soft_limit_bytes) return 0;
  // Here soft < pending < hard.
  const double soft = static_cast<double>(soft_limit_bytes);
  const double hard = static_cast<double>(hard_limit_bytes);
  const double setpoint = (soft + hard) / 2;
  const double x = std::clamp((static_cast<double>(pending_bytes) - setpoint) / (hard - setpoint), -1.0, 1.0);
  const double fraction = (1 + x * x * x) / 2;
  return std::clamp<int64_t>(static_cast<int64_t>(fraction * static_cast<double>(max_pause)), 0, max_pause);
}

void ForegroundThrottle::set_max_pause_micros(int64_t micros) {
  max_pause_micros_.store(std::clamp<int64_t>(micros, 0, kMaxPauseLimitMicros), std::memory_order_relaxed);
}

void ForegroundThrottle::ApplyConfig(const Config& config) {
  set_max_pause_micros(config.GetInt("work", "max_pause_ms") * 1000);
}

}  // namespace ebb
