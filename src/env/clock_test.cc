#include "env/clock.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(ClockTest, SystemClockIsMonotonic) {
  Clock* clock = SystemClock();
  int64_t a = clock->NowMicros();
  int64_t b = clock->NowMicros();
  EXPECT_LE(a, b);
  EXPECT_GT(clock->WallMicros(), 1'600'000'000'000'000);  // after 2020
}

TEST(ClockTest, ManualClockMovesOnlyWhenAdvanced) {
  ManualClock clock(100);
  EXPECT_EQ(clock.NowMicros(), 100);
  clock.Advance(50);
  EXPECT_EQ(clock.NowMicros(), 150);
  clock.SetWallMicros(1'000'000'000);
  EXPECT_EQ(clock.WallMicros(), 1'000'000'000);
  clock.AdvanceSeconds(1.5);
  EXPECT_EQ(clock.WallMicros(), 1'001'500'000);
}

TEST(ClockTest, ManualWaitUntilReturnsFalseAtDeadline) {
  ManualClock clock(0);
  Mutex mu;
  CondVar cv(&mu);
  MutexLock lock(&mu);
  EXPECT_FALSE(clock.WaitUntil(&cv, 0));
  clock.Advance(10);
  EXPECT_FALSE(clock.WaitUntil(&cv, 5));
}

}  // namespace
}  // namespace ebb
