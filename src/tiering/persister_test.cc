#include "tiering/persister.h"

#include <gtest/gtest.h>

#include "env/clock.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"
#include "env/power_loss_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/bucket_meta.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestMeta;
using testing::TestRing;

constexpr int kSegments = 4;
constexpr char kTierDir[] = "/data/tier";

uint64_t SegmentBytes(uint64_t id) { return 20'000 + id * 3000; }
SegmentKey Key(uint64_t id) { return SegmentKey{"db1", id, Hash64(SegmentContents(id, SegmentBytes(id)))}; }

class PersisterTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(); }

  // A fresh world: empty disk and object store, segment files written.
  void Reset() {
    persister_.reset();
    index_ = TierIndex();
    request_ = SnapshotRequest();
    store_ = std::make_unique<MemObjectStore>();
    fs_.reset();
    base_ = std::make_unique<PowerLossFileSystem>();
    fs_ = std::make_unique<FaultInjectionFileSystem>(base_.get());
    ASSERT_TRUE(fs_->CreateDir("/data/segments").ok());
    ASSERT_TRUE(fs_->SyncDir("/").ok());
    ASSERT_TRUE(fs_->SyncDir("/data").ok());
    for (int i = 1; i <= kSegments; i++) {
      std::string path = fmt::format("/data/segments/{:06d}.seg", i);
      ASSERT_TRUE(WriteStringToFile(fs_.get(), SegmentContents(i, SegmentBytes(i)), path, true).ok());
      request_.segments.push_back({.meta = TestMeta(i), .path = path});
    }
    ASSERT_TRUE(fs_->SyncDir("/data/segments").ok());
    request_.tombstones.push_back({"dropped", 12});
  }

  // Opens a persister the way the agent does after a (re)start.
  Status Reopen() {
    persister_.reset();
    index_ = TierIndex();
    auto loaded = TierIndex::Load(fs_.get(), TierIndexPath(kTierDir));
    if (loaded.ok()) {
      index_ = *loaded;
    } else if (!loaded.status().IsNotFound()) {
      return loaded.status();
    }
    EBB_RETURN_IF_ERROR(fs_->CreateDir(kTierDir));
    EBB_ASSIGN_OR_RETURN(EpochAdvance epoch,
                         AdvanceEpoch(fs_.get(), std::string(kTierDir) + "/EPOCH", store_.get()));
    EBB_ASSIGN_OR_RETURN(persister_, Persister::Open(fs_.get(), store_.get(), ring_.get(), &index_, &clock_, options_));
    persister_->SetEpoch(epoch.epoch);
    return Status::OK();
  }

  Status PersistAll() {
    auto id = persister_->StartSnapshot(request_);
    if (!id.ok()) return id.status();
    return persister_->RunToCompletion();
  }

  // What a user cares about: every indexed segment reads back exactly from
  // the object store, and every segment still exists locally (the persister
  // never deletes one), so nothing is lost whatever the index says.
  void ExpectNoLoss() {
    for (const auto& e : index_.entries()) {
      auto plain = ReadMember(ObjectRangeReader(store_.get(), ArchiveObjectKey(e.archive)), e.archive, e.member,
                              *ring_->current());
      ASSERT_TRUE(plain.ok()) << plain.status().ToString();
      uint64_t id = e.member.meta.segment_id;
      EXPECT_TRUE(*plain == SegmentContents(id, SegmentBytes(id))) << "segment " << id;
    }
    for (const auto& s : request_.segments) EXPECT_TRUE(fs_->FileExists(s.path)) << s.path;
    // The saved index says the same as the one in memory.
    auto saved = TierIndex::Load(fs_.get(), TierIndexPath(kTierDir));
    if (saved.ok()) {
      EXPECT_TRUE(*saved == index_);
    }
  }

  void ExpectAllPersisted() {
    for (int i = 1; i <= kSegments; i++) EXPECT_TRUE(index_.Contains(Key(i))) << "segment " << i;
    EXPECT_TRUE(index_.HasTombstone({"dropped", 12}));
  }

  std::unique_ptr<PowerLossFileSystem> base_;
  std::unique_ptr<FaultInjectionFileSystem> fs_;
  std::unique_ptr<MemObjectStore> store_;
  ManualClock clock_;
  std::unique_ptr<KeyRing> ring_ = TestRing();
  PersisterOptions options_{.tier_dir = kTierDir};
  TierIndex index_;
  std::unique_ptr<Persister> persister_;
  SnapshotRequest request_;
};

TEST_F(PersisterTest, PersistsVerifiesIndexesAndLogsEveryStep) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(persister_->unfinished_snapshots()[0].state, SnapshotEvent::kArchived)
      << "StartSnapshot returns once the archive is local";
  EXPECT_FALSE(index_.Contains(Key(1)));
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ExpectAllPersisted();
  ExpectNoLoss();
  ASSERT_TRUE(persister_->last_finished().has_value());
  EXPECT_EQ(persister_->last_finished()->state, SnapshotEvent::kDone);
  auto log = ParseSnapshotLog(fs_.get(), fmt::format("{}/snapshots/{}.log", kTierDir, *id));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->records, 7u) << "started, archived, uploaded, verified, indexed, published, done";
  EXPECT_TRUE(store_->Head(fmt::format("snapshots/{}", *id)).ok()) << "published remotely";
  EXPECT_FALSE(fs_->FileExists(fmt::format("{}/staging/{}.tar", kTierDir, *id))) << "staging cleaned up";
}

// A crash at every durable file-system step (the Nth sync, rename, append or
// create fails and the process dies, losing unsynced data): after restart
// the snapshot resumes or rolls back, and persisting again completes.
TEST_F(PersisterTest, CrashAtEveryFileSystemStep) {
  for (FaultOp op : {FaultOp::kSync, FaultOp::kSyncDir, FaultOp::kRename, FaultOp::kAppend, FaultOp::kCreate}) {
    for (int nth = 1; nth < 200; nth++) {
      SCOPED_TRACE(fmt::format("op {} nth {}", static_cast<int>(op), nth));
      // Fresh world per case.
      Reset();
      ASSERT_TRUE(Reopen().ok());
      fs_->FailNth(op, nth, Status::IOError("injected crash"), /*sticky=*/true);
      Status s = PersistAll();
      if (s.ok()) break;  // nth is past the last such operation of a clean run
      fs_->Deactivate();
      persister_.reset();
      PowerLossFileSystem::CrashOptions crash;
      crash.seed = static_cast<uint64_t>(nth);
      base_->SimulatePowerLoss(crash);
      fs_->Reactivate();
      fs_->ClearFaults();
      Status reopened = Reopen();
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      ASSERT_TRUE(persister_->RunToCompletion().ok());
      ExpectNoLoss();
      if (!index_.Contains(Key(1))) {
        // Rolled back: the segments are still local; persisting again works.
        ASSERT_TRUE(PersistAll().ok());
      }
      ExpectAllPersisted();
      ExpectNoLoss();
    }
  }
}

TEST_F(PersisterTest, ObjectStoreFailuresAreRetriedOnLaterSteps) {
  for (ObjectOp op : {ObjectOp::kPut, ObjectOp::kGet, ObjectOp::kHead}) {
    for (int nth = 1; nth <= 3; nth++) {
      SCOPED_TRACE(fmt::format("object op {} nth {}", static_cast<int>(op), nth));
      Reset();
      ASSERT_TRUE(Reopen().ok());
      store_->FailNth(op, nth, Status::Unavailable("injected outage"), /*sticky=*/true);
      Status s = PersistAll();
      EXPECT_FALSE(index_.Contains(Key(1)) && !s.ok() && op == ObjectOp::kPut && nth == 1);
      store_->ClearFaults();
      // A crash during the outage, then recovery.
      ASSERT_TRUE(Reopen().ok());
      ASSERT_TRUE(persister_->RunToCompletion().ok());
      if (!index_.Contains(Key(1))) {
        ASSERT_TRUE(PersistAll().ok());
      }
      ExpectAllPersisted();
      ExpectNoLoss();
    }
  }
}

TEST_F(PersisterTest, UploadFailingMidwayLeavesNothingAndIsRetried) {
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(persister_->StartSnapshot(request_).ok());
  store_->FailUploadMidway(1);
  auto step = persister_->Step();
  ASSERT_FALSE(step.ok());
  EXPECT_TRUE(step.status().IsUnavailable());
  EXPECT_EQ(store_->List("archives/")->size(), 0u);
  EXPECT_FALSE(index_.Contains(Key(1)));
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ExpectAllPersisted();
  ExpectNoLoss();
}

TEST_F(PersisterTest, CrashBetweenUploadAndIndexResumes) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(*persister_->Step());  // uploaded
  ASSERT_TRUE(*persister_->Step());  // verified
  ASSERT_TRUE(Reopen().ok());        // crash before indexing
  ASSERT_EQ(persister_->unfinished(), 1u);
  EXPECT_EQ(persister_->unfinished_snapshots()[0].state, SnapshotEvent::kVerified);
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ExpectAllPersisted();
  ExpectNoLoss();
  EXPECT_EQ(store_->List("archives/")->size(), 1u) << "resumed, not re-uploaded";
}

TEST_F(PersisterTest, BadRemoteCopyIsUploadedAgain) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(*persister_->Step());  // uploaded
  ASSERT_TRUE(store_->TruncateObject(ArchiveObjectKey(*id), 1000).ok());
  ASSERT_TRUE(*persister_->Step());  // verification fails -> archived again
  EXPECT_EQ(persister_->unfinished_snapshots()[0].state, SnapshotEvent::kArchived);
  EXPECT_FALSE(index_.Contains(Key(1))) << "nothing indexed before a verified copy exists";
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ExpectAllPersisted();
  ExpectNoLoss();
}

TEST_F(PersisterTest, VerificationGivesUpAfterTheAttemptLimit) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  Status last;
  for (int i = 0; i < 10 && !persister_->idle(); i++) {
    auto st = persister_->unfinished_snapshots()[0].state;
    auto step = persister_->Step();
    if (!step.ok()) last = step.status();
    if (st == SnapshotEvent::kArchived) {
      ASSERT_TRUE(store_->TruncateObject(ArchiveObjectKey(*id), 10).ok());
    }
  }
  EXPECT_TRUE(persister_->idle());
  EXPECT_TRUE(last.IsCorruption()) << last.ToString();
  EXPECT_EQ(persister_->last_finished()->state, SnapshotEvent::kAborted);
  EXPECT_FALSE(index_.Contains(Key(1)));
  EXPECT_TRUE(store_->Head(ArchiveObjectKey(*id)).status().IsNotFound()) << "the bad copy is removed";
  ExpectNoLoss();
}

TEST_F(PersisterTest, StaleAgentIsFencedFromPublishing) {
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(persister_->StartSnapshot(request_).ok());
  ASSERT_TRUE(*persister_->Step());  // uploaded
  ASSERT_TRUE(*persister_->Step());  // verified
  // Another agent starts on the same object store.
  MemFileSystem other;
  ASSERT_TRUE(AdvanceEpoch(&other, "/EPOCH", store_.get()).ok());
  auto step = persister_->Step();
  ASSERT_FALSE(step.ok());
  EXPECT_TRUE(step.status().IsAborted()) << step.status().ToString();
  EXPECT_TRUE(persister_->fenced());
  EXPECT_FALSE(index_.Contains(Key(1)));
  EXPECT_TRUE(persister_->StartSnapshot(request_).status().IsAborted());
  ExpectNoLoss();
}

TEST_F(PersisterTest, TheArchiveCarriesTheCatalogWithItsOwnNameFilledIn) {
  ASSERT_TRUE(Reopen().ok());
  StoreCatalog catalog;
  catalog.next_file_number = 10;
  CatalogDatabase db{.id = 1, .name = "db1", .sequence = 499, .segments = {}};
  CatalogSegment mine;
  mine.meta = TestMeta(1);
  mine.archive = "";  // this snapshot's archive
  CatalogSegment older;
  older.meta = TestMeta(2);
  older.archive = "0OLDERARCHIVE0000000000000";
  db.segments = {mine, older};
  catalog.databases.push_back(db);
  request_.catalog = catalog;
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  auto latest = index_.latest_catalog();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->first, *id);
  ASSERT_EQ(latest->second.databases.size(), 1u);
  EXPECT_EQ(latest->second.databases[0].segments[0].archive, *id);
  EXPECT_EQ(latest->second.databases[0].segments[1].archive, older.archive);
  // The published record names the archive and its key.
  auto record = store_->Get(fmt::format("snapshots/{}", *id));
  ASSERT_TRUE(record.ok());
  EXPECT_NE(record->find(ring_->current()->key_id_hex()), std::string::npos) << *record;
}

TEST_F(PersisterTest, NothingStartsOrStepsWithoutAnEpoch) {
  ASSERT_TRUE(fs_->CreateDir(kTierDir).ok());
  auto p = Persister::Open(fs_.get(), store_.get(), ring_.get(), &index_, &clock_, options_);
  ASSERT_TRUE(p.ok());
  Status s = (*p)->StartSnapshot(request_).status();
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(store_->calls(ObjectOp::kPut), 0u);
}

// The torn tail a crash leaves is cut before the next record: a second
// crash and restart then still read the log, instead of finding damage in
// the middle and setting the snapshot (and its uploaded archive) aside.
TEST_F(PersisterTest, TornLogTailIsCutSoALaterRestartStillReadsTheLog) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  std::string log = fmt::format("{}/snapshots/{}.log", kTierDir, *id);
  uint64_t archived_size = *fs_->GetFileSize(log);
  ASSERT_TRUE(*persister_->Step());  // uploaded
  persister_.reset();
  // The crash cut the "uploaded" record in half.
  std::string bytes = *ReadFileToString(fs_.get(), log);
  std::string last_frame = bytes.substr(archived_size);
  ASSERT_TRUE(WriteStringToFile(fs_.get(), bytes.substr(0, archived_size) + last_frame.substr(0, last_frame.size() / 2),
                                log, true).ok());
  ASSERT_TRUE(Reopen().ok());
  ASSERT_EQ(persister_->unfinished(), 1u);
  ASSERT_EQ(persister_->unfinished_snapshots()[0].state, SnapshotEvent::kArchived);
  ASSERT_TRUE(*persister_->Step());  // uploaded again, appended after the cut
  ASSERT_TRUE(*persister_->Step());  // verified
  ASSERT_TRUE(Reopen().ok());         // another crash
  EXPECT_FALSE(fs_->FileExists(log + ".corrupt"));
  ASSERT_EQ(persister_->unfinished(), 1u);
  EXPECT_EQ(persister_->unfinished_snapshots()[0].state, SnapshotEvent::kVerified);
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ExpectAllPersisted();
  ExpectNoLoss();
  EXPECT_EQ(store_->List("archives/")->size(), 1u);
}

TEST_F(PersisterTest, EvictingIsRecordedInTheSnapshotLog) {
  ASSERT_TRUE(Reopen().ok());
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  ASSERT_TRUE(persister_->RecordEvicting(*id, {1, 3}).ok());
  auto state = ParseSnapshotLog(fs_.get(), fmt::format("{}/snapshots/{}.log", kTierDir, *id));
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->state, SnapshotEvent::kDone);
  EXPECT_EQ(state->evicted_segment_ids, (std::vector<uint64_t>{1, 3}));
  // A log already gone (retention) is no error; a failing append is.
  EXPECT_TRUE(persister_->RecordEvicting("0NOSUCHSNAPSHOT00000000000", {2}).ok());
  fs_->FailNth(FaultOp::kSync, 1, Status::IOError("injected"));
  Status s = persister_->RecordEvicting(*id, {2});
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find(*id), std::string::npos) << s.ToString();
}

TEST_F(PersisterTest, FinishedLogsAreKeptByRetention) {
  options_.retain_snapshots = 2;
  options_.retain_s = 3600;
  ASSERT_TRUE(Reopen().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; i++) {
    clock_.AdvanceMillis(1000);
    auto id = persister_->StartSnapshot(request_);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(persister_->RunToCompletion().ok());
    ids.push_back(*id);
  }
  auto logs = [&] {
    std::vector<std::string> names = *fs_->GetChildren(std::string(kTierDir) + "/snapshots");
    std::sort(names.begin(), names.end());
    return names;
  };
  EXPECT_EQ(logs().size(), 5u) << "all within retain_s";
  clock_.AdvanceMillis(3600 * 1000 + 1);
  auto id = persister_->StartSnapshot(request_);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  std::vector<std::string> kept = logs();
  ASSERT_EQ(kept.size(), 2u) << "past retain_s only the newest retain_snapshots stay";
  EXPECT_EQ(kept[0], ids.back() + ".log");
  EXPECT_EQ(kept[1], *id + ".log");
}

TEST_F(PersisterTest, RefusesWhileTooManySnapshotsAreUnfinished) {
  ASSERT_TRUE(Reopen().ok());
  ASSERT_TRUE(persister_->StartSnapshot(request_).ok());
  ASSERT_TRUE(persister_->StartSnapshot(request_).ok());
  EXPECT_TRUE(persister_->StartSnapshot(request_).status().IsBusy());
  ASSERT_TRUE(persister_->RunToCompletion().ok());
  EXPECT_TRUE(persister_->idle());
  ExpectAllPersisted();
}

}  // namespace
}  // namespace ebb

// libarchive 3.6.2's pax writer leaks its per-entry block list (32 bytes)
// when a write fails in the middle of an entry, which the crash tests do on
// purpose; the leak is in the dependency's error path, not in Ebb.
extern "C" const char* __lsan_default_suppressions() { return "leak:libarchive.so\n"; }
