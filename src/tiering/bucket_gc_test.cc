#include "tiering/bucket_gc.h"

#include <gtest/gtest.h>

#include "base/checksum.h"
#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestMeta;
using testing::TestRing;

constexpr size_t kBytes = 4000;
SegmentKey Key(uint64_t id) { return SegmentKey{"db1", id, Hash64(SegmentContents(id, kBytes))}; }

// Three snapshots, as the agent would publish them:
//   S1 = A1 {1, 2}                  catalog: 1, 2 in A1
//   S2 = A2 {3}                     catalog: 1, 2 in A1; 3 in A2
//   S3 = A3 {4} (compacted 1, 2)    catalog: 4 in A3; 3 in A2
class BucketGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDir("/s").ok());
    a1_ = Publish({1, 2}, {{1, ""}, {2, ""}});
    a2_ = Publish({3}, {{1, a1_}, {2, a1_}, {3, ""}});
    a3_ = Publish({4}, {{4, ""}, {3, a2_}});
    inputs_.live = {Key(3), Key(4)};
  }
  // Writes, uploads and indexes an archive of `ids` with a catalog naming
  // `catalog` (segment -> archive, "" = this one), then publishes it.
  std::string Publish(std::vector<uint64_t> ids, std::vector<std::pair<uint64_t, std::string>> catalog) {
    clock_.AdvanceMillis(60'000);
    std::string name = NewArchiveName(&clock_);
    auto writer = ArchiveWriter::Create(&fs_, "/s/a.tar", name, ring_->current(), &clock_, {});
    EXPECT_TRUE(writer.ok());
    for (uint64_t id : ids) EXPECT_TRUE((*writer)->AddSegment(TestMeta(id), SegmentContents(id, kBytes)).ok());
    StoreCatalog c;
    CatalogDatabase db{.id = 1, .name = "db1", .sequence = 0, .segments = {}};
    for (const auto& [id, archive] : catalog) {
      CatalogSegment seg;
      seg.meta = TestMeta(id);
      seg.checksum = Key(id).checksum;
      seg.archive = archive.empty() ? name : archive;
      db.segments.push_back(seg);
    }
    c.databases.push_back(db);
    (*writer)->SetCatalog(c);
    auto toc = (*writer)->Finish();
    EXPECT_TRUE(toc.ok());
    std::string data = *ReadFileToString(&fs_, "/s/a.tar");
    EXPECT_TRUE(store_->Put(ArchiveObjectKey(name), data).ok());
    EXPECT_TRUE(store_->Put("snapshots/" + name, "published").ok());
    index_.AddArchive(*toc, data.size());
    sizes_[name] = data.size();
    return name;
  }
  Result<GcReport> Run(GcOptions options) { return CollectGarbage(store_.get(), *ring_, &index_, inputs_, options, &clock_); }
  bool Exists(const std::string& archive) { return store_->Head(ArchiveObjectKey(archive)).ok(); }

  MemFileSystem fs_;
  ManualClock clock_;
  std::unique_ptr<MemObjectStore> store_ = std::make_unique<MemObjectStore>();
  std::unique_ptr<KeyRing> ring_ = TestRing();
  TierIndex index_;
  GcInputs inputs_;
  std::map<std::string, uint64_t> sizes_;
  std::string a1_, a2_, a3_;
};

TEST_F(BucketGcTest, DeletesWhatNoRetainedSnapshotAndNoLiveSegmentNeeds) {
  auto report = Run({.retain_snapshots = 1, .retain_s = 0});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->snapshots, 3u);
  EXPECT_EQ(report->snapshots_retained, 1u);
  EXPECT_EQ(report->snapshots_deleted, 2u);
  EXPECT_EQ(report->archives_deleted, 1u);
  EXPECT_EQ(report->deleted, std::vector<std::string>{a1_});
  EXPECT_EQ(report->bytes_reclaimed, sizes_[a1_]);
  EXPECT_FALSE(Exists(a1_));
  EXPECT_TRUE(Exists(a2_) && Exists(a3_));
  EXPECT_FALSE(index_.archive(a1_).has_value()) << "the index forgets it";
  EXPECT_FALSE(index_.Contains(Key(1)));
  EXPECT_TRUE(index_.Contains(Key(3)) && index_.Contains(Key(4)));
  EXPECT_EQ(*ListPublishedSnapshots(store_.get()), std::vector<std::string>{a3_});
  // A second pass has nothing left to do.
  auto again = Run({.retain_snapshots = 1, .retain_s = 0});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->archives_deleted, 0u);
  EXPECT_EQ(again->garbage_bytes, 0u);
}

TEST_F(BucketGcTest, RetainedSnapshotsKeepWhatTheyNeedAndThatIsCountedAsGarbage) {
  auto by_count = Run({.retain_snapshots = 2, .retain_s = 0});
  ASSERT_TRUE(by_count.ok());
  EXPECT_EQ(by_count->archives_deleted, 0u) << "S2 still needs A1";
  EXPECT_EQ(by_count->snapshots_deleted, 1u);
  EXPECT_EQ(by_count->garbage_bytes, index_.archive(a1_)->member_bytes) << "A1 holds only dead segments";
  EXPECT_TRUE(Exists(a1_));
  // By time: S2 was published a minute before S3.
  auto by_time = Run({.retain_snapshots = 1, .retain_s = 90});
  ASSERT_TRUE(by_time.ok());
  EXPECT_EQ(by_time->archives_deleted, 0u);
  EXPECT_EQ(by_time->snapshots_retained, 2u);
  clock_.AdvanceMillis(120'000);
  by_time = Run({.retain_snapshots = 1, .retain_s = 90});
  ASSERT_TRUE(by_time.ok());
  EXPECT_EQ(by_time->deleted, std::vector<std::string>{a1_});
}

TEST_F(BucketGcTest, ReadersInFlightAndUnpublishedArchivesKeepTheirs) {
  inputs_.in_use_numbers = {1};  // an iterator still reads segment 1
  auto report = Run({.retain_snapshots = 1, .retain_s = 0});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->archives_deleted, 0u);
  inputs_.in_use_numbers.clear();
  inputs_.in_flight = {a1_};
  report = Run({.retain_snapshots = 1, .retain_s = 0});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->archives_deleted, 0u);
  inputs_.in_flight.clear();
  // An archive newer than every published snapshot (verified, not yet
  // published) stays even though nothing names it.
  clock_.AdvanceMillis(60'000);
  std::string unpublished = NewArchiveName(&clock_);
  ASSERT_TRUE(store_->Put(ArchiveObjectKey(unpublished), *store_->Get(ArchiveObjectKey(a1_))).ok());
  report = Run({.retain_snapshots = 1, .retain_s = 0});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(Exists(unpublished));
  EXPECT_EQ(report->deleted, std::vector<std::string>{a1_});
}

TEST_F(BucketGcTest, DryRunAndAFenceDeleteNothing) {
  auto dry = Run({.retain_snapshots = 1, .retain_s = 0, .dry_run = true});
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->deleted, std::vector<std::string>{a1_});
  EXPECT_EQ(dry->bytes_reclaimed, sizes_[a1_]);
  EXPECT_TRUE(Exists(a1_));
  EXPECT_EQ(ListPublishedSnapshots(store_.get())->size(), 3u);
  inputs_.may_delete = [] { return Status::Aborted("fenced: another agent started"); };
  auto fenced = Run({.retain_snapshots = 1, .retain_s = 0});
  EXPECT_TRUE(fenced.status().IsAborted()) << fenced.status().ToString();
  EXPECT_TRUE(Exists(a1_));
  EXPECT_EQ(ListPublishedSnapshots(store_.get())->size(), 3u);
}

TEST_F(BucketGcTest, ObjectStoreFailuresStopThePassAndTheNextOneFinishes) {
  for (ObjectOp op : {ObjectOp::kList, ObjectOp::kGet, ObjectOp::kDelete}) {
    for (int nth = 1; nth <= 3; nth++) {
      SCOPED_TRACE(fmt::format("op {} nth {}", static_cast<int>(op), nth));
      store_->FailNth(op, nth, Status::Unavailable("injected outage"));
      auto failed = Run({.retain_snapshots = 1, .retain_s = 0});
      store_->ClearFaults();
      if (!failed.ok()) EXPECT_TRUE(failed.status().IsUnavailable()) << failed.status().ToString();
      // Whatever was deleted, the retained snapshot and its archives are whole.
      EXPECT_TRUE(Exists(a2_) && Exists(a3_));
      EXPECT_EQ(ListPublishedSnapshots(store_.get())->back(), a3_);
      auto finished = Run({.retain_snapshots = 1, .retain_s = 0});
      ASSERT_TRUE(finished.ok()) << finished.status().ToString();
      EXPECT_FALSE(Exists(a1_));
      // Back to the start for the next case.
      index_ = TierIndex();
      store_ = std::make_unique<MemObjectStore>();
      sizes_.clear();
      SetUp();
    }
  }
}

TEST_F(BucketGcTest, ARetainedSnapshotWhoseCatalogCannotBeReadStopsEverything) {
  auto head = store_->Head(ArchiveObjectKey(a2_));
  // Past the tar end blocks and the footer member.
  ASSERT_TRUE(store_->TruncateObject(ArchiveObjectKey(a2_), head->size_bytes - 1600).ok());
  auto report = Run({.retain_snapshots = 2, .retain_s = 0});
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find(a2_), std::string::npos) << report.status().ToString();
  EXPECT_TRUE(Exists(a1_));
  EXPECT_EQ(ListPublishedSnapshots(store_.get())->size(), 3u);
}

}  // namespace
}  // namespace ebb
