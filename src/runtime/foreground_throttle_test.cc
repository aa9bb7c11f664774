#include "runtime/foreground_throttle.h"

#include <gtest/gtest.h>

#include <memory>

#include "runtime/work_settings.h"

namespace ebb {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(ForegroundThrottleTest, ZeroBelowSoftMaxAtAndBeyondHard) {
  ForegroundThrottle throttle;
  const uint64_t soft = 256 * kMiB, hard = 512 * kMiB;
  EXPECT_EQ(throttle.PauseMicros(0, soft, hard), 0);
  EXPECT_EQ(throttle.PauseMicros(soft, soft, hard), 0);
  EXPECT_GT(throttle.PauseMicros(soft + kMiB, soft, hard), 0);
  EXPECT_EQ(throttle.PauseMicros(hard, soft, hard), 200'000);
  EXPECT_EQ(throttle.PauseMicros(100 * hard, soft, hard), 200'000);
  // Half the maximum at the setpoint, as Linux's pos_ratio = 1 there.
  EXPECT_NEAR(throttle.PauseMicros((soft + hard) / 2, soft, hard), 100'000, 1);
}

TEST(ForegroundThrottleTest, MonotonicSmoothAndBounded) {
  const uint64_t soft = 1000 * kMiB, hard = 3000 * kMiB;
  int64_t previous = 0;
  int64_t largest_step = 0;
  for (uint64_t pending = 0; pending <= 4000 * kMiB; pending += kMiB) {
    const int64_t pause = ThrottlePauseMicros(pending, soft, hard, 200'000);
    ASSERT_GE(pause, previous) << "pending " << pending;
    ASSERT_LE(pause, 200'000) << "pending " << pending;
    largest_step = std::max(largest_step, pause - previous);
    previous = pause;
  }
  // No cliff: 1 MiB more pending never adds more than 1% of the maximum.
  EXPECT_LE(largest_step, 2'000);
}

TEST(ForegroundThrottleTest, MaxPauseIsCappedAt200Ms) {
  ForegroundThrottle throttle(10'000'000);
  EXPECT_EQ(throttle.max_pause_micros(), 200'000);
  EXPECT_EQ(throttle.PauseMicros(10, 1, 2), 200'000);
  EXPECT_EQ(ThrottlePauseMicros(10, 1, 2, -5), 0);
  // Degenerate limits: a step at hard.
  EXPECT_EQ(ThrottlePauseMicros(99, 100, 100, 50'000), 0);
  EXPECT_EQ(ThrottlePauseMicros(100, 100, 100, 50'000), 50'000);
  EXPECT_EQ(ThrottlePauseMicros(100, 200, 100, 50'000), 50'000);
}

TEST(ForegroundThrottleTest, FollowsWorkMaxPauseSetting) {
  auto schema = std::make_shared<ConfigSchema>();
  RegisterWorkSettings(schema.get());
  Config config(schema);
  ForegroundThrottle throttle;
  throttle.ApplyConfig(config);
  EXPECT_EQ(throttle.max_pause_micros(), 200'000);
  ASSERT_TRUE(config.Set("work", "max_pause_ms", "20", /*at_runtime=*/true).ok());
  throttle.ApplyConfig(config);
  EXPECT_EQ(throttle.PauseMicros(kMiB, 0, kMiB), 20'000);
}

}  // namespace
}  // namespace ebb
