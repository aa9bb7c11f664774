// Storage under failures whose outcome is unknown, missing and unnamed files,
// races around journal reclaim, and a full disk: each test shows the error
// the user gets at the time, and that nothing acknowledged is lost after a
// power loss and reopen. The file system is PowerLossFileSystem (what a
// power cut keeps) under FaultInjectionFileSystem (errors, sync points).

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "base/sync_point.h"
#include "env/fault_injection_file_system.h"
#include "env/power_loss_file_system.h"
#include "storage/storage.h"

namespace ebb {
namespace {

class FailureTest : public ::testing::Test {
 protected:
  void TearDown() override { sync_point::ClearAll(); }

  StorageOptions Options() {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kAlways;
    o.memtable_bytes = 64 << 10;
    return o;
  }
  void Open(StorageOptions o) {
    auto s = Storage::Open(&fs_, SystemClock(), o, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
  }
  void Open() { Open(Options()); }
  // The machine loses power: the store's handles die, unsynced data is
  // dropped as `unsynced` says, and the store is opened again.
  void PowerLossAndReopen(PowerLossFileSystem::CrashOptions::Unsynced unsynced =
                              PowerLossFileSystem::CrashOptions::Unsynced::kDropAll) {
    disk_.Freeze();
    storage_.reset();
    PowerLossFileSystem::CrashOptions crash;
    crash.unsynced = unsynced;
    disk_.SimulatePowerLoss(crash);
    fs_.ClearFaults();
    Open();
  }
  std::shared_ptr<DatabaseCore> Db(const std::string& name) {
    auto db = storage_->OpenDatabase(name, true);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? *db : nullptr;
  }
  static Status Put(DatabaseCore* db, std::string_view k, std::string_view v) {
    WriteBatch b;
    b.Put(k, v);
    return db->Write(WriteOptions(), b);
  }
  static std::string Get(DatabaseCore* db, std::string_view k) {
    std::string v;
    Status s = db->Get(ReadOptions(), k, &v);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return v;
  }
  static std::string Value(int i) { return fmt::format("value-{:05}-{}", i, std::string(40, 'x')); }
  void Fill(DatabaseCore* db, int from, int to) {
    for (int i = from; i < to; i++) ASSERT_TRUE(Put(db, fmt::format("k{:05}", i), Value(i)).ok());
  }
  void ExpectAll(DatabaseCore* db, int from, int to) {
    for (int i = from; i < to; i++) ASSERT_EQ(Get(db, fmt::format("k{:05}", i)), Value(i)) << i;
  }
  size_t Count(const std::string& dir, std::string_view suffix) {
    if (!disk_.FileExists(dir)) return 0;
    size_t n = 0;
    auto names = disk_.GetChildren(dir);
    for (const auto& name : *names) {
      if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) n++;
    }
    return n;
  }
  void FailManifestSync(FaultTiming timing) {
    FaultSpec spec;
    spec.op = FaultOp::kSync;
    spec.path_contains = "MANIFEST";
    spec.timing = timing;
    spec.error = Status::IOError("fdatasync /store/MANIFEST: Input/output error (injected)");
    fs_.Fail(spec);
  }

  PowerLossFileSystem disk_;
  FaultInjectionFileSystem fs_{&disk_};
  std::unique_ptr<Storage> storage_;
};

class UnknownOutcomeTest : public FailureTest, public ::testing::WithParamInterface<FaultTiming> {};

// A flush whose manifest edit fails to sync: it may have landed (kAfter) or
// not (kBefore). Either way the new segment is kept, the store turns
// read-only with a clear error while reads go on, no journal file is
// deleted, and after a power loss every acknowledged write is back.
TEST_P(UnknownOutcomeTest, FailedFlushEditKeepsEveryFileAndLosesNothing) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 300);
  ASSERT_TRUE(db->SwitchMemtable());
  FailManifestSync(GetParam());
  Status s = db->Flush();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("may or may not have reached the disk"), std::string::npos) << s.ToString();
  EXPECT_EQ(Count("/store/segments", ".seg"), 1u) << "the new segment is kept";

  Status w = Put(db.get(), "later", "x");
  EXPECT_TRUE(w.IsReadOnly()) << w.ToString();
  EXPECT_NE(w.message().find("reopen the store"), std::string::npos) << w.ToString();
  EXPECT_FALSE(storage_->background_error().ok());
  ExpectAll(db.get(), 0, 300);  // reads go on
  const size_t journal_files = Count("/store/journal", ".log");
  auto reclaimed = storage_->ReclaimJournal();
  ASSERT_TRUE(reclaimed.ok());
  EXPECT_EQ(*reclaimed, 0u);
  EXPECT_EQ(Count("/store/journal", ".log"), journal_files);
  EXPECT_TRUE(db->Compact(CompactionOptions()).status().IsReadOnly()) << "nothing new starts";

  db.reset();
  PowerLossAndReopen();
  db = Db("a");
  ExpectAll(db.get(), 0, 300);
  ASSERT_TRUE(Put(db.get(), "later", "x").ok()) << "a reopen recovers";
  const RecoveryReport& r = storage_->recovery_report();
  if (GetParam() == FaultTiming::kAfter) {
    EXPECT_EQ(r.segments_quarantined, 0u) << "the edit landed: the segment is in use";
  } else {
    EXPECT_EQ(r.segments_quarantined, 1u) << "the edit did not land: the segment is kept aside";
    EXPECT_EQ(Count("/store/lost+found", ".seg"), 1u);
  }
}

// After an unknown outcome nothing is deleted, not even a segment that an
// earlier compaction made obsolete and a reader still pinned.
TEST_F(FailureTest, AfterAnUnknownOutcomeObsoleteSegmentsAreKept) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 100);
  ASSERT_TRUE(db->Flush().ok());
  Fill(db.get(), 50, 150);
  ASSERT_TRUE(db->Flush().ok());
  auto it = db->NewIterator(ReadOptions());  // pins both segments
  ASSERT_TRUE(db->Compact(CompactionOptions()).ok());
  ASSERT_EQ(Count("/store/segments", ".seg"), 3u) << "two obsolete inputs, pinned, and the output";
  Fill(db.get(), 150, 160);
  FailManifestSync(FaultTiming::kAfter);
  ASSERT_FALSE(db->Flush().ok());
  it.reset();  // the inputs' last reference goes: they would be deleted now
  storage_->WaitForObsoleteFiles();
  EXPECT_EQ(Count("/store/segments", ".seg"), 4u) << "nothing deleted after the unknown outcome";
  db.reset();
  PowerLossAndReopen();
  ExpectAll(Db("a").get(), 0, 160);
}

// The same for a compaction: inputs and outputs are all kept.
TEST_P(UnknownOutcomeTest, FailedCompactionEditKeepsInputsAndOutputs) {
  Open();
  auto db = Db("a");
  for (int round = 0; round < 3; round++) {
    Fill(db.get(), round * 100, round * 100 + 150);  // overlapping rounds
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_EQ(Count("/store/segments", ".seg"), 3u);
  FailManifestSync(GetParam());
  auto result = db->Compact(CompactionOptions());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("may or may not have reached the disk"), std::string::npos);
  EXPECT_EQ(Count("/store/segments", ".seg"), 4u) << "three inputs and the output";
  ExpectAll(db.get(), 0, 350);
  db.reset();
  PowerLossAndReopen();
  db = Db("a");
  ExpectAll(db.get(), 0, 350);
  EXPECT_EQ(Count("/store/segments", ".seg") + Count("/store/lost+found", ".seg"), 4u) << "nothing deleted";
}

INSTANTIATE_TEST_SUITE_P(Timing, UnknownOutcomeTest, ::testing::Values(FaultTiming::kBefore, FaultTiming::kAfter),
                         [](const auto& info) {
                           return std::string(info.param == FaultTiming::kBefore ? "before" : "after");
                         });

// A checkpoint whose CURRENT swap fails may have switched CURRENT or not:
// the store stops editing either manifest and deletes neither.
TEST_F(FailureTest, CheckpointWhoseSwapFailsMakesTheStoreReadOnly) {
  StorageOptions o = Options();
  o.manifest_checkpoint_bytes = 1024;
  Open(o);
  auto db = Db("a");
  FaultSpec spec;
  spec.op = FaultOp::kRename;
  spec.path_contains = "CURRENT";
  spec.timing = FaultTiming::kAfter;
  fs_.Fail(spec);
  Status flushed;
  for (int round = 0; round < 20 && !fs_.fired(FaultOp::kRename); round++) {
    Fill(db.get(), round * 20, round * 20 + 20);
    flushed = db->Flush();
  }
  ASSERT_TRUE(fs_.fired(FaultOp::kRename)) << "a checkpoint ran";
  EXPECT_TRUE(Put(db.get(), "later", "x").IsReadOnly());
  EXPECT_NE(storage_->background_error().message().find("checkpoint"), std::string::npos)
      << storage_->background_error().ToString();
  db.reset();
  PowerLossAndReopen();
  db = Db("a");
  ExpectAll(db.get(), 0, 20);
}

TEST_F(FailureTest, MissingSegmentFileIsCorruptionNotAnAbsentKey) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 50);
  ASSERT_TRUE(db->Flush().ok());
  const uint64_t number = (*db->segment_set())[0]->meta().number;
  const std::string path = SegmentFileName("/store", number);
  storage_->segment_cache()->Evict(number);
  ASSERT_TRUE(disk_.DeleteFile(path).ok());  // behind the store's back
  const std::string got = Get(db.get(), "k00007");
  EXPECT_NE(got.find("Corruption"), std::string::npos) << got;
  EXPECT_NE(got.find(path), std::string::npos) << got;
  EXPECT_NE(got.find("missing"), std::string::npos) << got;
}

// A batch read gives each key its own answer: the keys that need the
// missing segment its error, the others their values or NotFound.
TEST_F(FailureTest, MultiGetGivesTheMissingSegmentsErrorOnlyToTheKeysThatNeedIt) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 50);
  ASSERT_TRUE(db->Flush().ok());
  Fill(db.get(), 100, 101);  // k00100: in the memtable
  const uint64_t number = (*db->segment_set())[0]->meta().number;
  const std::string path = SegmentFileName("/store", number);
  storage_->segment_cache()->Evict(number);
  ASSERT_TRUE(disk_.DeleteFile(path).ok());  // behind the store's back
  const std::vector<std::string> keys = {"k00007", "k00100", "zzz", "k00031"};
  std::vector<std::string> values;
  std::vector<Status> statuses;
  db->MultiGet(ReadOptions(), keys, &values, &statuses);
  ASSERT_EQ(statuses.size(), keys.size());
  for (size_t i : {size_t{0}, size_t{3}}) {
    EXPECT_TRUE(statuses[i].IsCorruption()) << keys[i] << ": " << statuses[i].ToString();
    EXPECT_NE(statuses[i].ToString().find(path), std::string::npos) << statuses[i].ToString();
  }
  ASSERT_TRUE(statuses[1].ok()) << statuses[1].ToString();
  EXPECT_EQ(values[1], Value(100));
  EXPECT_TRUE(statuses[2].IsNotFound()) << "outside the segment's key range: " << statuses[2].ToString();
}

// A write and a journal rotation that happen while reclaim works out which
// files to keep must not lose the file the write went to.
TEST_F(FailureTest, WriteAndRotationDuringReclaimKeepTheirJournalFile) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 20);
  ASSERT_TRUE(db->Flush().ok());  // nothing unflushed: no file is needed
  bool ran = false;
  sync_point::Set("Storage::FirstJournalFileToKeep:between", [&] {
    if (ran) return;
    ran = true;
    ASSERT_TRUE(Put(db.get(), "racing", "write").ok());
    ASSERT_TRUE(storage_->journal()->Rotate().ok());
  });
  ASSERT_TRUE(storage_->ReclaimJournal().ok());
  ASSERT_TRUE(ran);
  sync_point::ClearAll();
  db.reset();
  // A clean close and reopen: a wrongly deleted journal file stays deleted
  // (a power loss could bring it back, since reclaim does not sync the
  // journal directory after deleting).
  storage_.reset();
  Open();
  EXPECT_EQ(Get(Db("a").get(), "racing"), "write");
}

// Until a drop is durable, the dropped database's unflushed writes live only
// in the journal: reclaim must keep them, for a crash undoes the drop.
TEST_F(FailureTest, JournalDataOfADatabaseBeingDroppedSurvivesACrashBeforeTheDropIsDurable) {
  Open();
  auto db = Db("doomed");
  Fill(db.get(), 0, 30);
  ASSERT_TRUE(storage_->journal()->Rotate().ok());  // its data is in an older file now
  sync_point::Set("Storage::DropDatabase:before-edit", [&] {
    ASSERT_TRUE(storage_->ReclaimJournal().ok());
    // Whatever reclaim deleted has reached the disk...
    ASSERT_TRUE(disk_.SyncDir("/store/journal").ok());
    disk_.Freeze();  // ... and the power goes before the drop's edit is written
  });
  EXPECT_FALSE(storage_->DropDatabase("doomed").ok());
  sync_point::ClearAll();
  db.reset();
  PowerLossAndReopen();
  db = Db("doomed");
  ExpectAll(db.get(), 0, 30);
}

// The manifest's last edit damaged after it was synced (a flipped byte),
// and the journal data it replaced already reclaimed: the segment it named
// is adopted back, not deleted, and no key is lost.
TEST_F(FailureTest, SegmentOfADamagedLastManifestEditIsAdoptedBack) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 200);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(storage_->ReclaimJournal().ok());
  const std::string manifest = ManifestFileName("/store", storage_->manifest()->current_file_number());
  db.reset();
  storage_.reset();
  std::string data = *ReadFileToString(&disk_, manifest);
  data[data.size() - 20] ^= 0x5a;  // inside the last record: the flush's edit
  ASSERT_TRUE(WriteStringToFile(&disk_, data, manifest, true).ok());
  Open();
  db = Db("a");
  ExpectAll(db.get(), 0, 200);
  EXPECT_EQ(storage_->recovery_report().segments_adopted, 1u);
  // And the store goes on: new writes get fresh sequence numbers.
  ASSERT_TRUE(Put(db.get(), "k00000", "new").ok());
  EXPECT_EQ(Get(db.get(), "k00000"), "new");
}

// journal.sync = batch through the mapped journal: a power loss keeps a
// random subset of the pages written since the last sync, so the newest
// journal file can come back with a hole followed by intact records. The
// store opens, keeps every write acknowledged before the last sync, and
// recovers a prefix of the later ones (point-in-time), never a write after
// a hole.
TEST_F(FailureTest, PowerLossHoleInTheBatchJournalRecoversAPrefix) {
  int holes = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PowerLossFileSystem disk;  // a fresh machine per seed
    StorageOptions o = Options();
    o.journal.sync = SyncMode::kBatch;
    o.journal.sync_interval_ms = 3600 * 1000;  // only the explicit sync below
    o.journal.mmap_writes = true;
    auto opened = Storage::Open(&disk, SystemClock(), o, nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<Storage> storage = std::move(*opened);
    auto db = *storage->OpenDatabase("a", true);
    Fill(db.get(), 0, 100);
    ASSERT_TRUE(storage->journal()->SyncNow().ok());  // everything so far is durable
    Fill(db.get(), 100, 400);
    db.reset();
    disk.Freeze();
    storage.reset();
    PowerLossFileSystem::CrashOptions crash;
    crash.seed = seed;
    crash.page_survival = 0.7;
    crash.size_survival = 1.0;  // the reservation's size is on disk: holes, not a shorter file
    disk.SimulatePowerLoss(crash);
    opened = Storage::Open(&disk, SystemClock(), o, nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    storage = std::move(*opened);
    if (storage->recovery_report().records_after_hole > 0) holes++;
    db = *storage->OpenDatabase("a", true);
    ExpectAll(db.get(), 0, 100);
    bool missing = false;
    for (int i = 100; i < 400; i++) {
      std::string got = Get(db.get(), fmt::format("k{:05}", i));
      if (got == "NOT_FOUND") {
        missing = true;
        continue;
      }
      ASSERT_EQ(got, Value(i));
      ASSERT_FALSE(missing) << "k" << i << " recovered after a lost earlier write: not a prefix";
    }
  }
  EXPECT_GT(holes, 0) << "some seed left a hole followed by intact records";
}

// Flushing many small databases together costs one segment sync each plus
// one directory sync and one manifest sync per batch, not three syncs each;
// a failed manifest edit keeps every segment and loses nothing.
TEST_F(FailureTest, FlushingManyDatabasesSharesTheDirectorySyncAndTheManifestEdit) {
  Open();
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  for (int i = 0; i < 40; i++) {
    dbs.push_back(Db(fmt::format("db{}", i)));
    ASSERT_TRUE(Put(dbs.back().get(), "k", fmt::format("v{}", i)).ok());
  }
  const uint64_t syncs = fs_.calls(FaultOp::kSync), dir_syncs = fs_.calls(FaultOp::kSyncDir);
  auto flushed = storage_->FlushDatabases(dbs);
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  EXPECT_GT(*flushed, 0u);
  EXPECT_EQ(fs_.calls(FaultOp::kSync) - syncs, 40u + 1) << "a sync per segment file, one for the manifest";
  EXPECT_EQ(fs_.calls(FaultOp::kSyncDir) - dir_syncs, 1u);
  EXPECT_EQ(Count("/store/segments", ".seg"), 40u);
  for (auto& db : dbs) EXPECT_EQ(db->SegmentCount(), 1u);

  for (int i = 0; i < 40; i++) ASSERT_TRUE(Put(dbs[i].get(), "k2", fmt::format("w{}", i)).ok());
  FailManifestSync(FaultTiming::kAfter);
  EXPECT_FALSE(storage_->FlushDatabases(dbs).ok());
  EXPECT_EQ(Count("/store/segments", ".seg"), 80u) << "every new segment kept";
  dbs.clear();
  PowerLossAndReopen();
  for (int i = 0; i < 40; i++) {
    auto db = Db(fmt::format("db{}", i));
    EXPECT_EQ(Get(db.get(), "k"), fmt::format("v{}", i));
    EXPECT_EQ(Get(db.get(), "k2"), fmt::format("w{}", i));
  }
}

TEST_F(FailureTest, FlushWaitsForRoomInsteadOfFailingHalfWay) {
  Open();
  auto db = Db("a");
  Fill(db.get(), 0, 200);
  ASSERT_TRUE(db->SwitchMemtable());
  fs_.SetSpaceBudget(64 << 10);  // less than a flush needs
  auto r = db->FlushOldestImmutable();
  ASSERT_TRUE(r.status().IsNoSpace()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("postponed"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(Count("/store/segments", ".seg"), 0u) << "nothing was started";
  EXPECT_TRUE(db->error().ok()) << "not read-only: the flush is retried";
  ASSERT_TRUE(Put(db.get(), "still", "writable").ok());
  // Out of space in the middle of writing the segment: not sticky either.
  fs_.ClearSpaceBudget();
  FaultSpec full;
  full.op = FaultOp::kAppend;
  full.path_contains = "segments/";
  full.error = Status::NoSpace("append: No space left on device (injected)");
  fs_.Fail(full);
  r = db->FlushOldestImmutable();
  ASSERT_TRUE(r.status().IsNoSpace()) << r.status().ToString();
  EXPECT_TRUE(db->error().ok());
  fs_.ClearFaults();
  ASSERT_TRUE(db->Flush().ok()) << "space freed: the flush goes through";
  db.reset();
  PowerLossAndReopen();
  db = Db("a");
  ExpectAll(db.get(), 0, 200);
  EXPECT_EQ(Get(db.get(), "still"), "writable");
}

}  // namespace
}  // namespace ebb
