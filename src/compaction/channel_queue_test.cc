// ChannelQueue: CouchDB's smoosh_priority_queue eunit behaviours.

#include "compaction/channel_queue.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "base/test_util.h"

namespace ebb {
namespace {

constexpr size_t kNoLimit = 1'000'000;

ChannelQueue::Item It(std::string name, double priority, uint64_t disk = 0, uint64_t live = 0) {
  return {std::move(name), priority, disk, live};
}

std::vector<std::string> Drain(ChannelQueue* q) {
  std::vector<std::string> out;
  while (auto item = q->PopTop()) out.push_back(item->database);
  return out;
}

TEST(ChannelQueueTest, Empty) {
  ChannelQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.Top(), nullptr);
  EXPECT_FALSE(q.PopTop().has_value());
  EXPECT_FALSE(q.min_priority().has_value());
  EXPECT_FALSE(q.max_priority().has_value());
  EXPECT_FALSE(q.Remove("nope"));
}

TEST(ChannelQueueTest, One) {
  ChannelQueue q;
  EXPECT_EQ(q.Insert(It("db", 3.5), kNoLimit), ChannelQueue::InsertResult::kInserted);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(*q.min_priority(), 3.5);
  EXPECT_EQ(*q.max_priority(), 3.5);
  auto item = q.PopTop();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->database, "db");
  EXPECT_EQ(item->priority, 3.5);
  EXPECT_TRUE(q.empty());
}

TEST(ChannelQueueTest, OrderingHighestFirstTiesLaterInsertFirst) {
  ChannelQueue q;
  q.Insert(It("k1", 1), kNoLimit);
  q.Insert(It("k3", 3), kNoLimit);
  q.Insert(It("k2a", 2), kNoLimit);
  q.Insert(It("k2b", 2), kNoLimit);
  EXPECT_EQ(*q.min_priority(), 1);
  EXPECT_EQ(*q.max_priority(), 3);
  EXPECT_EQ(Drain(&q), (std::vector<std::string>{"k3", "k2b", "k2a", "k1"}));
}

TEST(ChannelQueueTest, SamePriorityIsANoOp) {
  ChannelQueue q;
  q.Insert(It("a", 2), kNoLimit);
  q.Insert(It("b", 2), kNoLimit);
  // Re-inserting "a" at the same priority keeps its (older) place, so "b"
  // still comes out first.
  EXPECT_EQ(q.Insert(It("a", 2), kNoLimit), ChannelQueue::InsertResult::kUnchanged);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(Drain(&q), (std::vector<std::string>{"b", "a"}));
}

TEST(ChannelQueueTest, DifferentPriorityReplaces) {
  ChannelQueue q;
  q.Insert(It("a", 1), kNoLimit);
  q.Insert(It("b", 2), kNoLimit);
  EXPECT_EQ(q.Insert(It("a", 5), kNoLimit), ChannelQueue::InsertResult::kUpdated);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(*q.max_priority(), 5);
  EXPECT_EQ(*q.min_priority(), 2);
  EXPECT_EQ(Drain(&q), (std::vector<std::string>{"a", "b"}));
}

TEST(ChannelQueueTest, CapacityEvictsLowestAndNewItemCanEvictItself) {
  ChannelQueue q;
  q.Insert(It("p1", 1), 3);
  q.Insert(It("p2", 2), 3);
  q.Insert(It("p3", 3), 3);
  std::vector<std::string> evicted;
  EXPECT_EQ(q.Insert(It("p4", 4), 3, &evicted), ChannelQueue::InsertResult::kInserted);
  EXPECT_EQ(evicted, (std::vector<std::string>{"p1"}));
  EXPECT_EQ(q.size(), 3u);
  // Lower than everything in a full queue: it is the one evicted.
  evicted.clear();
  EXPECT_EQ(q.Insert(It("p0", 0.5), 3, &evicted), ChannelQueue::InsertResult::kEvicted);
  EXPECT_TRUE(evicted.empty());
  EXPECT_FALSE(q.Contains("p0"));
  EXPECT_EQ(Drain(&q), (std::vector<std::string>{"p4", "p3", "p2"}));
}

TEST(ChannelQueueTest, ReclaimableBytesFollowTheItems) {
  ChannelQueue q;
  q.Insert(It("a", 3, 100, 40), kNoLimit);  // 60 reclaimable
  q.Insert(It("b", 2, 50, 50), kNoLimit);   // 0 reclaimable, gauge 1
  EXPECT_EQ(q.reclaimable_bytes(), 60u);
  EXPECT_EQ(q.gauge_bytes(), 61u);
  q.Insert(It("a", 3, 200, 40), kNoLimit);  // same priority: sizes refresh
  EXPECT_EQ(q.reclaimable_bytes(), 160u);
  q.Remove("a");
  EXPECT_EQ(q.reclaimable_bytes(), 0u);
  EXPECT_EQ(q.gauge_bytes(), 1u);
  q.PopTop();
  EXPECT_EQ(q.gauge_bytes(), 0u);
}

TEST(ChannelQueueTest, HundredThousandElementsComeOutSorted) {
  uint64_t seed = testing::TestSeed(20261121);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> priority(0, 9999);
  ChannelQueue q;
  constexpr int kItems = 100'000;
  for (int i = 0; i < kItems; i++) q.Insert(It("db" + std::to_string(i), priority(rng) / 16.0), kNoLimit);
  ASSERT_EQ(q.size(), static_cast<size_t>(kItems));
  double last = std::numeric_limits<double>::infinity();
  size_t count = 0;
  while (auto item = q.PopTop()) {
    ASSERT_LE(item->priority, last) << "at item " << count;
    last = item->priority;
    count++;
  }
  EXPECT_EQ(count, static_cast<size_t>(kItems));
}

}  // namespace
}  // namespace ebb
