#include "server/key_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace ebb {
namespace {

using Keys = std::vector<std::pair<std::string_view, bool>>;

// Whether another thread could take `keys` now (released at once): a thread
// must not lock a mutex it already holds.
bool Free(KeyLocks* locks, const Keys& keys) {
  bool taken = false;
  std::thread([&] { taken = locks->TryLock(keys).has_value(); }).join();
  return taken;
}

TEST(KeyLocksTest, TryLockTakesFreeStripesAndGivesThemBack) {
  KeyLocks locks;
  {
    auto shared = locks.TryLock({{"a", false}, {"b", false}});
    ASSERT_TRUE(shared.has_value());
    // Plain writes share their stripes.
    EXPECT_TRUE(Free(&locks, {{"a", false}}));
    // A read-modify-write of the same key must wait: TryLock refuses.
    EXPECT_FALSE(Free(&locks, {{"a", true}}));
  }
  // Released with the guard, including after a refusal part way through.
  EXPECT_TRUE(locks.TryLock({{"a", true}, {"b", true}}).has_value());
}

TEST(KeyLocksTest, ARefusedTryLockHoldsNothing) {
  KeyLocks locks;
  std::optional<KeyLocks::Guard> held = locks.TryLock({{"b", true}});
  ASSERT_TRUE(held.has_value());
  // "a", "c" and "b" together: some stripes are taken before "b" is refused.
  EXPECT_FALSE(Free(&locks, {{"a", true}, {"b", false}, {"c", true}}));
  held.reset();
  // Nothing of the refused attempt stayed locked.
  EXPECT_TRUE(locks.TryLock({{"a", true}, {"c", true}}).has_value());
}

TEST(KeyLocksTest, TryLockOfManyKeysTakesTheGlobalLock) {
  KeyLocks locks;
  std::vector<std::string> names;
  for (int i = 0; i < 200; i++) names.push_back("key" + std::to_string(i));
  Keys many;
  for (const auto& n : names) many.emplace_back(n, false);
  {
    auto one = locks.TryLock({{"x", false}});
    ASSERT_TRUE(one.has_value());
    EXPECT_FALSE(Free(&locks, many)) << "a big job must exclude every other job";
  }
  auto big = locks.TryLock(many);
  ASSERT_TRUE(big.has_value());
  EXPECT_FALSE(Free(&locks, {{"x", false}}));
}

TEST(KeyLocksTest, LockAllExcludesEveryJobAndWaitsForThem) {
  KeyLocks locks;
  {
    KeyLocks::Guard all = locks.LockAll();
    EXPECT_FALSE(Free(&locks, {{"x", false}}));
    EXPECT_FALSE(Free(&locks, {{"y", true}}));
  }
  EXPECT_TRUE(Free(&locks, {{"x", false}}));
  // LockAll waits for a job holding a stripe.
  std::optional<KeyLocks::Guard> job = locks.TryLock({{"x", false}});
  ASSERT_TRUE(job.has_value());
  std::atomic<bool> taken{false};
  std::thread flusher([&] {
    KeyLocks::Guard all = locks.LockAll();
    taken = true;
  });
  // Not a timing assertion: whatever the scheduling, the flusher cannot
  // hold the lock while the job does.
  for (int i = 0; i < 100 && !taken; i++) std::this_thread::yield();
  EXPECT_FALSE(taken.load());
  job.reset();
  flusher.join();
  EXPECT_TRUE(taken.load());
}

TEST(KeyLocksTest, AWaitingLockAllIsNotOvertakenByNewJobs) {
  KeyLocks locks;
  std::optional<KeyLocks::Guard> job = locks.TryLock({{"x", false}});
  ASSERT_TRUE(job.has_value());
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    KeyLocks::Guard all = locks.LockAll();
    flushed = true;
  });
  // Once the flusher waits, a new job (of another key too) waits behind it;
  // the global lock alone prefers readers, so a stream of jobs could starve
  // FLUSHDB. The loop ends when the flusher is waiting; the deadline only
  // turns a hang into a failure.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool overtaken = false;
  while (!overtaken && Free(&locks, {{"y", false}})) {
    overtaken = std::chrono::steady_clock::now() > deadline;
    std::this_thread::yield();
  }
  EXPECT_FALSE(overtaken) << "new jobs overtake a waiting LockAll";
  EXPECT_FALSE(flushed.load());
  job.reset();
  flusher.join();
  EXPECT_TRUE(flushed.load());
}

}  // namespace
}  // namespace ebb
