#include "tiering/tier_index.h"

#include <gtest/gtest.h>

#include "base/checksum.h"
#include "base/test_util.h"
#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestKey;
using testing::TestMeta;
using testing::TestRing;

// The identity of test segment `id` (its contents are SegmentContents(id, 300)).
SegmentKey Key(uint64_t id, std::string db = "db1") { return SegmentKey{std::move(db), id, Hash64(SegmentContents(id, 300))}; }

// Writes archives into a MemObjectStore and mirrors them in an index, the
// way the persister does.
class TierIndexTest : public ::testing::Test {
 protected:
  ArchiveToc AddArchive(std::vector<TieredSegmentMeta> metas, std::vector<DatabaseTombstone> tombstones = {}) {
    clock_.AdvanceMillis(1);
    std::string name = NewArchiveName(&clock_);
    std::string path = "/staging/" + name;
    auto writer = ArchiveWriter::Create(&fs_, path, name, ring_->current(), &clock_, {});
    EXPECT_TRUE(writer.ok());
    for (const auto& m : metas) EXPECT_TRUE((*writer)->AddSegment(m, SegmentContents(m.segment_id, 300)).ok());
    for (const auto& t : tombstones) EXPECT_TRUE((*writer)->AddTombstone(t).ok());
    auto toc = (*writer)->Finish();
    EXPECT_TRUE(toc.ok());
    auto data = ReadFileToString(&fs_, path);
    EXPECT_TRUE(store_.Put(ArchiveObjectKey(name), *data).ok());
    index_.AddArchive(*toc, data->size());
    return *toc;
  }
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/staging").ok()); }

  MemFileSystem fs_;
  ManualClock clock_;
  MemObjectStore store_;
  std::unique_ptr<KeyRing> ring_ = TestRing();
  TierIndex index_;
};

TEST_F(TierIndexTest, FindsSegmentsAndAppliesTombstones) {
  AddArchive({TestMeta(1, "a", 100), TestMeta(2, "b", 200)});
  AddArchive({TestMeta(3, "a", 300)});
  ASSERT_TRUE(index_.Contains(Key(1, "a")));
  auto e = index_.Find(Key(3, "a"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->member.meta.database, "a");
  EXPECT_EQ(e->key_id, ring_->current()->key_id());
  // Database a dropped at sequence 400 (segment 3 ends at 399): segments 1
  // and 3 die, b survives.
  AddArchive({}, {{"a", 400}});
  EXPECT_FALSE(index_.Contains(Key(1, "a")));
  EXPECT_FALSE(index_.Contains(Key(3, "a")));
  EXPECT_TRUE(index_.Contains(Key(2, "b")));
  // A re-created database "a" writes higher sequences and is kept.
  AddArchive({TestMeta(4, "a", 1000)});
  EXPECT_TRUE(index_.Contains(Key(4, "a")));
  EXPECT_EQ(index_.segment_count(), 2u);
  EXPECT_EQ(index_.archives().size(), 4u);
}

TEST_F(TierIndexTest, NewestArchiveWinsForDuplicates) {
  AddArchive({TestMeta(1)});
  ArchiveToc second = AddArchive({TestMeta(1)});
  EXPECT_EQ(index_.Find(Key(1))->archive, second.archive);
}

// A number names a segment only together with its database and contents:
// after a restore or a rebuilt index, another segment with the same number
// (another database, or other bytes) must not pass for the archived one.
TEST_F(TierIndexTest, ANumberAloneNeverMatchesAnotherSegment) {
  AddArchive({TestMeta(42, "users#1")});
  EXPECT_TRUE(index_.Contains(Key(42, "users#1")));
  EXPECT_FALSE(index_.Contains(Key(42, "users#2"))) << "another database with the same name";
  EXPECT_FALSE(index_.Contains(SegmentKey{"users#1", 42, Key(42, "users#1").checksum ^ 1})) << "other contents";
  EXPECT_FALSE(index_.Contains(Key(43, "users#1")));
  // A checksum the store does not know (segments from before checksums)
  // matches the archived copy of that database and number.
  EXPECT_TRUE(index_.Contains(SegmentKey{"users#1", 42, 0}));
  EXPECT_FALSE(index_.Contains(SegmentKey{"users#2", 42, 0}));
  // Two segments with one number in two databases are two entries.
  AddArchive({TestMeta(42, "orders#2")});
  EXPECT_EQ(index_.segment_count(), 2u);
}

TEST_F(TierIndexTest, RemoveArchiveForgetsItsEntriesAndTheNewestCatalogComesFromTheNewestArchive) {
  ArchiveToc first = AddArchive({TestMeta(1), TestMeta(2)});
  ArchiveToc second = AddArchive({TestMeta(3)});
  index_.RemoveArchive(first.archive);
  EXPECT_FALSE(index_.Contains(Key(1)));
  EXPECT_TRUE(index_.Contains(Key(3)));
  EXPECT_EQ(index_.archives().size(), 1u);
  EXPECT_FALSE(index_.latest_catalog().has_value()) << "archives without a catalog";
  ArchiveToc with_catalog = second;
  with_catalog.archive = "ZZZZZZZZZZZZZZZZZZZZZZZZZZ";
  with_catalog.catalog = StoreCatalog{.wall_micros = 5, .next_file_number = 9, .next_db_id = 2, .databases = {}};
  index_.AddArchive(with_catalog, 100);
  ArchiveToc older = second;
  older.archive = "00000000000000000000000000";
  older.catalog = StoreCatalog{.wall_micros = 1, .next_file_number = 1, .next_db_id = 1, .databases = {}};
  index_.AddArchive(older, 100);
  ASSERT_TRUE(index_.latest_catalog().has_value());
  EXPECT_EQ(index_.latest_catalog()->first, with_catalog.archive);
  EXPECT_EQ(index_.latest_catalog()->second.next_file_number, 9u);
  ASSERT_TRUE(index_.Save(&fs_, "/tier.index").ok());
  auto loaded = TierIndex::Load(&fs_, "/tier.index");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(*loaded == index_) << "the catalog survives save and load";
}

TEST_F(TierIndexTest, SaveLoadRoundTripAndCorruptionIsReported) {
  AddArchive({TestMeta(1), TestMeta(2)}, {{"old", 5}});
  ASSERT_TRUE(index_.Save(&fs_, "/tier.index").ok());
  auto loaded = TierIndex::Load(&fs_, "/tier.index");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(*loaded == index_);
  EXPECT_TRUE(TierIndex::Load(&fs_, "/missing").status().IsNotFound());
  auto data = *ReadFileToString(&fs_, "/tier.index");
  data[data.size() / 2] ^= 1;
  ASSERT_TRUE(WriteStringToFile(&fs_, data, "/tier.index", true).ok());
  Status s = TierIndex::Load(&fs_, "/tier.index").status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("rebuild-index"), std::string::npos) << s.ToString();
  // An index of another version is rebuilt, not trusted.
  std::string v1 = *ReadFileToString(&fs_, "/tier.index");
  v1[8] = 1;
  ASSERT_TRUE(WriteStringToFile(&fs_, v1, "/tier.index", true).ok());
  EXPECT_FALSE(TierIndex::Load(&fs_, "/tier.index").ok());
}

TEST_F(TierIndexTest, RebuildEqualsOriginalWithSmallReads) {
  for (int a = 0; a < 20; a++) {
    std::vector<TieredSegmentMeta> metas;
    for (int i = 0; i < 5; i++) metas.push_back(TestMeta(a * 10 + i + 1, a % 3 ? "x" : "y", (a * 10 + i + 1) * 100));
    std::vector<DatabaseTombstone> tombs;
    if (a == 12) tombs.push_back({"y", 5000});
    AddArchive(metas, tombs);
  }
  AddArchive({TestMeta(7, "x", 700)});  // a duplicate in a newer archive
  uint64_t before = store_.calls(ObjectOp::kGet);
  RebuildReport report;
  auto rebuilt = RebuildIndex(&store_, *ring_, &report);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_TRUE(*rebuilt == index_);
  EXPECT_EQ(report.archives, 21u);
  EXPECT_EQ(report.from_toc, 21u);
  EXPECT_EQ(store_.calls(ObjectOp::kGet) - before, 21u) << "one ranged read per archive";
  EXPECT_EQ(store_.calls(ObjectOp::kHead), 0u) << "sizes come from the listing";
}

TEST_F(TierIndexTest, RebuildScansArchivesWithDamagedToc) {
  AddArchive({TestMeta(1), TestMeta(2)});
  ArchiveToc damaged = AddArchive({TestMeta(3), TestMeta(4)}, {{"gone", 1}});
  AddArchive({TestMeta(5)});
  std::string key = ArchiveObjectKey(damaged.archive);
  auto head = store_.Head(key);
  ASSERT_TRUE(store_.CorruptObject(key, head->size_bytes - 1024 - 448 - 30, 2).ok());  // the footer
  RebuildReport report;
  auto rebuilt = RebuildIndex(&store_, *ring_, &report);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(report.from_scan, 1u) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_TRUE(*rebuilt == index_);
}

TEST_F(TierIndexTest, RebuildWithWrongKeyFails) {
  AddArchive({TestMeta(1)});
  Status s = RebuildIndex(&store_, *TestRing('z')).status();
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
}

TEST_F(TierIndexTest, ListAndVerifyArchives) {
  ArchiveToc good = AddArchive({TestMeta(1), TestMeta(2)});
  ArchiveToc bad = AddArchive({TestMeta(3)});
  const auto& m = bad.members[0];
  ASSERT_TRUE(store_.CorruptObject(ArchiveObjectKey(bad.archive), m.payload_offset + 5, 1).ok());
  auto listed = ListArchives(&store_, *ring_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].toc.members.size(), 2u);
  auto verified = VerifyArchives(&store_, *ring_);
  ASSERT_TRUE(verified.ok());
  ASSERT_EQ(verified->size(), 2u);
  EXPECT_TRUE((*verified)[0].errors.empty());
  EXPECT_EQ((*verified)[0].members_checked, 2u);
  ASSERT_EQ((*verified)[1].errors.size(), 1u);
  EXPECT_NE((*verified)[1].errors[0].find(m.member), std::string::npos) << (*verified)[1].errors[0];
}

}  // namespace
}  // namespace ebb
