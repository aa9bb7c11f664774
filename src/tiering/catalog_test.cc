#include "tiering/catalog.h"

#include <gtest/gtest.h>

#include <map>

namespace ebb {
namespace {

LiveSegment Seg(const std::string& db, uint64_t number, uint64_t first_seq, uint64_t last_seq) {
  LiveSegment s;
  s.meta = TieredSegmentMeta{.segment_id = number, .database = db, .smallest_key = "a", .largest_key = "z",
                             .smallest_seq = first_seq, .largest_seq = last_seq};
  s.checksum = number * 1000 + 7;
  s.size_bytes = 100 * number;
  s.entries = number;
  return s;
}

class CatalogTest : public ::testing::Test {
 protected:
  StoreCatalog Build(const StoreCatalog* previous = nullptr) {
    ArchiveOf archive_of = [&](const SegmentKey& key) -> std::optional<std::string> {
      auto it = archived_.find(key.number);
      if (it == archived_.end()) return std::nullopt;
      return it->second;
    };
    return BuildCatalog(databases_, segments_, archive_of, previous, 50, 9, 123);
  }
  std::vector<LiveDatabase> databases_ = {{.id = 1, .name = "users", .tier_name = "users#1"},
                                          {.id = 2, .name = "orders", .tier_name = "orders#2"}};
  std::vector<LiveSegment> segments_;
  std::map<uint64_t, std::string> archived_;  // number -> archive
};

TEST_F(CatalogTest, EachDatabaseIsThePrefixOfSegmentsWithAnArchivedCopy) {
  segments_ = {Seg("users#1", 12, 21, 30), Seg("users#1", 10, 1, 10), Seg("users#1", 11, 11, 20),
               Seg("orders#2", 13, 1, 5)};
  archived_ = {{10, "A1"}, {11, "A2"}};  // 12 is not archived yet; orders has none
  StoreCatalog c = Build();
  EXPECT_EQ(c.next_file_number, 50u);
  EXPECT_EQ(c.next_db_id, 9u);
  EXPECT_EQ(c.wall_micros, 123);
  ASSERT_EQ(c.databases.size(), 2u);
  const CatalogDatabase& users = c.databases[0];
  EXPECT_EQ(users.name, "users");
  EXPECT_EQ(users.sequence, 20u) << "the state after write 20: segments 10 and 11, oldest first";
  ASSERT_EQ(users.segments.size(), 2u);
  EXPECT_EQ(users.segments[0].meta.segment_id, 10u);
  EXPECT_EQ(users.segments[0].archive, "A1");
  EXPECT_EQ(users.segments[0].checksum, 10007u);
  EXPECT_EQ(users.segments[0].file_size, 1000u);
  EXPECT_EQ(users.segments[1].archive, "A2");
  const CatalogDatabase& orders = c.databases[1];
  EXPECT_EQ(orders.sequence, 0u) << "nothing archived: an empty database";
  EXPECT_TRUE(orders.segments.empty());
  EXPECT_EQ(CatalogArchives(c), (std::vector<std::string>{"A1", "A2"}));
}

TEST_F(CatalogTest, AnOldSegmentWithoutACopyEndsThePrefixEvenIfNewerOnesHaveOne) {
  segments_ = {Seg("users#1", 10, 1, 10), Seg("users#1", 11, 11, 20)};
  archived_ = {{11, "A2"}};
  StoreCatalog c = Build();
  EXPECT_EQ(c.databases[0].sequence, 0u);
  EXPECT_TRUE(c.databases[0].segments.empty()) << "segment 11 alone would be writes 11-20 without 1-10";
}

TEST_F(CatalogTest, ADatabaseNeverStepsBackAndDroppedOnesAreGone) {
  segments_ = {Seg("users#1", 10, 1, 10), Seg("users#1", 11, 11, 20), Seg("orders#2", 13, 1, 5)};
  archived_ = {{10, "A1"}, {11, "A1"}, {13, "A1"}};
  StoreCatalog first = Build();
  ASSERT_EQ(first.databases[0].sequence, 20u);
  // Compaction rewrote users' segments into one not archived yet.
  segments_ = {Seg("users#1", 14, 1, 20), Seg("orders#2", 13, 1, 5)};
  StoreCatalog second = Build(&first);
  EXPECT_EQ(second.databases[0], first.databases[0]) << "the previous snapshot's users is kept";
  // Once the new segment is archived, it replaces the old ones.
  archived_[14] = "A3";
  StoreCatalog third = Build(&second);
  ASSERT_EQ(third.databases[0].segments.size(), 1u);
  EXPECT_EQ(third.databases[0].segments[0].archive, "A3");
  EXPECT_EQ(CatalogArchives(third), (std::vector<std::string>{"A1", "A3"}));
  // orders is dropped: absent, and never carried forward.
  databases_.pop_back();
  segments_.pop_back();
  StoreCatalog fourth = Build(&third);
  ASSERT_EQ(fourth.databases.size(), 1u);
  EXPECT_EQ(fourth.databases[0].name, "users");
  // A database re-created with the same name has another id: a new entry.
  databases_.push_back({.id = 3, .name = "orders", .tier_name = "orders#3"});
  StoreCatalog fifth = Build(&third);
  ASSERT_EQ(fifth.databases.size(), 2u);
  EXPECT_EQ(fifth.databases[1].id, 3u);
  EXPECT_TRUE(fifth.databases[1].segments.empty());
}

}  // namespace
}  // namespace ebb
