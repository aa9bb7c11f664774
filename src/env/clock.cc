#include "env/clock.h"

#include <chrono>
#include <thread>

namespace ebb {
namespace {

class RealClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void SleepForMicros(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
  bool WaitUntil(CondVar* cv, int64_t deadline_micros) override {
    int64_t now = NowMicros();
    if (now >= deadline_micros) return false;
    return cv->WaitFor(std::chrono::microseconds(deadline_micros - now));
  }
};

constexpr auto kManualPoll = std::chrono::milliseconds(1);

}  // namespace

Clock* SystemClock() {
  static RealClock* clock = new RealClock();
  return clock;
}

void ManualClock::SleepForMicros(int64_t micros) {
  int64_t deadline = NowMicros() + micros;
  while (NowMicros() < deadline) std::this_thread::sleep_for(kManualPoll);
}

bool ManualClock::WaitUntil(CondVar* cv, int64_t deadline_micros) {
  if (NowMicros() >= deadline_micros) return false;
  if (cv->WaitFor(kManualPoll)) return true;
  return NowMicros() < deadline_micros;
}

}  // namespace ebb
