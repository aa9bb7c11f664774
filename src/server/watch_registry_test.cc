#include "server/watch_registry.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(WatchRegistryTest, ATouchOfAWatchedKeyIsSeenByEveryWatcherOfItOnly) {
  WatchRegistry registry;
  EXPECT_TRUE(registry.Empty());
  WatchSet a, b;
  a.Watch(&registry, "0", "k", 0);
  b.Watch(&registry, "0", "k", 0);
  b.Watch(&registry, "0", "other", 0);
  EXPECT_EQ(registry.watched_keys(), 2u);
  EXPECT_FALSE(a.Changed());
  EXPECT_FALSE(b.Changed());
  registry.Touch("0", {"unwatched", "other"});
  EXPECT_FALSE(a.Changed());
  EXPECT_TRUE(b.Changed());
  registry.Touch("0", {"k"});
  EXPECT_TRUE(a.Changed());
}

TEST(WatchRegistryTest, KeysAreWatchedPerDatabase) {
  WatchRegistry registry;
  WatchSet set;
  set.Watch(&registry, "1", "k", 0);
  registry.Touch("0", {"k"});
  EXPECT_FALSE(set.Changed());
  registry.TouchDatabase("0");
  EXPECT_FALSE(set.Changed());
  registry.TouchDatabase("1");
  EXPECT_TRUE(set.Changed());
}

TEST(WatchRegistryTest, WatchingAgainKeepsTheFirstVersion) {
  WatchRegistry registry;
  WatchSet set;
  set.Watch(&registry, "0", "k", 0);
  registry.Touch("0", {"k"});
  // Redis: a key watched twice is watched since the first WATCH.
  set.Watch(&registry, "0", "k", 0);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_TRUE(set.Changed());
}

TEST(WatchRegistryTest, ClearingAndDestroyingUnregister) {
  WatchRegistry registry;
  {
    WatchSet set;
    set.Watch(&registry, "0", "a", 0);
    set.Watch(&registry, "0", "b", 0);
    EXPECT_EQ(set.bytes(), 4u);
    WatchSet other;
    other.Watch(&registry, "0", "a", 0);
    EXPECT_EQ(registry.watched_keys(), 2u);
    set.Clear();
    // "a" is still watched by `other`.
    EXPECT_EQ(registry.watched_keys(), 1u);
    EXPECT_EQ(set.bytes(), 0u);
    WatchSet moved = std::move(other);
    EXPECT_EQ(registry.watched_keys(), 1u);
    EXPECT_TRUE(moved.Contains("0", "a"));
  }
  EXPECT_TRUE(registry.Empty());
  // Nothing watched: touches are no-ops, and a new watcher starts clean.
  registry.Touch("0", {"a"});
  WatchSet again;
  again.Watch(&registry, "0", "a", 0);
  EXPECT_FALSE(again.Changed());
}

TEST(WatchRegistryTest, MergeKeepsTheEarlierWatch) {
  WatchRegistry registry;
  WatchSet mine;
  mine.Watch(&registry, "0", "k", 0);
  registry.Touch("0", {"k"});
  WatchSet later;
  later.Watch(&registry, "0", "k", 0);
  later.Watch(&registry, "0", "j", 0);
  EXPECT_FALSE(later.Changed());
  mine.Merge(std::move(later));
  EXPECT_EQ(mine.size(), 2u);
  EXPECT_TRUE(mine.Changed());  // "k" changed after the first WATCH
  mine.Clear();
  EXPECT_TRUE(registry.Empty()) << "the duplicate registration was given back";
}

}  // namespace
}  // namespace ebb
