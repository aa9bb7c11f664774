#include "storage/storage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/random.h"
#include "base/sync_point.h"
#include "base/test_util.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

class StorageTest : public ::testing::Test {
 protected:
  StorageOptions Options() {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kAlways;
    o.memtable_bytes = 64 << 10;
    o.segment_target_bytes = 256 << 10;
    return o;
  }

  void Open(StorageOptions o) {
    auto s = Storage::Open(&fs_, SystemClock(), o, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
  }
  void Open() { Open(Options()); }
  void Reopen() {
    storage_.reset();
    Open();
  }

  std::shared_ptr<DatabaseCore> Db(const std::string& name) {
    auto db = storage_->OpenDatabase(name, true);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return *db;
  }

  static Status Put(DatabaseCore* db, std::string_view k, std::string_view v) {
    WriteBatch b;
    b.Put(k, v);
    return db->Write(WriteOptions(), b);
  }
  static Status Del(DatabaseCore* db, std::string_view k) {
    WriteBatch b;
    b.Delete(k);
    return db->Write(WriteOptions(), b);
  }
  static std::string Get(DatabaseCore* db, std::string_view k, std::shared_ptr<const Snapshot> snap = nullptr) {
    ReadOptions ro;
    ro.snapshot = std::move(snap);
    std::string v;
    Status s = db->Get(ro, k, &v);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return v;
  }
  static std::map<std::string, std::string> Scan(DatabaseCore* db, std::shared_ptr<const Snapshot> snap = nullptr) {
    ReadOptions ro;
    ro.snapshot = std::move(snap);
    std::map<std::string, std::string> out;
    auto it = db->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace(it->key(), it->value());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageTest, ImmutableMemtableFiltersNeverHideAKeyOrATombstone) {
  StorageOptions o = Options();
  o.memtable_bytes = 1 << 30;  // only explicit switches
  Open(o);
  auto db = Db("filters");
  ASSERT_TRUE(Put(db.get(), "gone", "old").ok());
  ASSERT_TRUE(db->Flush().ok());  // "gone" is in a segment
  ASSERT_TRUE(Del(db.get(), "gone").ok());
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(Put(db.get(), "a" + std::to_string(i), "v1-" + std::to_string(i)).ok());
  ASSERT_TRUE(db->SwitchMemtable());
  for (int i = 0; i < 2000; i += 2) ASSERT_TRUE(Put(db.get(), "a" + std::to_string(i), "v2-" + std::to_string(i)).ok());
  ASSERT_TRUE(db->SwitchMemtable());
  ASSERT_TRUE(Put(db.get(), "active", "x").ok());
  EXPECT_EQ(db->BuildImmutableFilters(), 2u);
  EXPECT_EQ(db->BuildImmutableFilters(), 0u) << "built once";

  EXPECT_EQ(Get(db.get(), "gone"), "NOT_FOUND") << "the tombstone in a filtered memtable still hides the segment";
  for (int i = 0; i < 2000; i++) {
    std::string want = (i % 2 == 0 ? "v2-" : "v1-") + std::to_string(i);
    ASSERT_EQ(Get(db.get(), "a" + std::to_string(i)), want) << i;
  }
  EXPECT_EQ(Get(db.get(), "active"), "x");
  EXPECT_EQ(Get(db.get(), "absent"), "NOT_FOUND");
}

TEST_F(StorageTest, PutGetDeleteAcrossFlushAndReopen) {
  Open();
  auto db = Db("users");
  ASSERT_TRUE(Put(db.get(), "alice", "1").ok());
  ASSERT_TRUE(Put(db.get(), "bob", "2").ok());
  ASSERT_TRUE(Del(db.get(), "alice").ok());
  EXPECT_EQ(Get(db.get(), "alice"), "NOT_FOUND");
  EXPECT_EQ(Get(db.get(), "bob"), "2");
  ASSERT_TRUE(db->Flush().ok());
  EXPECT_EQ(db->SegmentCount(), 1u);
  ASSERT_TRUE(Put(db.get(), "carol", "3").ok());
  db.reset();
  Reopen();
  db = Db("users");
  EXPECT_EQ(Get(db.get(), "alice"), "NOT_FOUND");
  EXPECT_EQ(Get(db.get(), "bob"), "2");
  EXPECT_EQ(Get(db.get(), "carol"), "3");
  EXPECT_EQ(storage_->recovery_report().batches_replayed, 1u);
}

TEST_F(StorageTest, WriteBatchIsAtomicAndOrdered) {
  Open();
  auto db = Db("d");
  WriteBatch b;
  b.Put("k", "first");
  b.Put("k", "second");
  b.Put("other", "x");
  b.Delete("other");
  ASSERT_TRUE(db->Write(WriteOptions(), b).ok());
  EXPECT_EQ(Get(db.get(), "k"), "second");
  EXPECT_EQ(Get(db.get(), "other"), "NOT_FOUND");
  EXPECT_EQ(db->GetStats().update_seq, 4u);
}

TEST_F(StorageTest, SnapshotsAndIteratorsSeeAConsistentPrefix) {
  Open();
  auto db = Db("d");
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put(db.get(), "k" + std::to_string(i), "v1").ok());
  auto snap = db->GetSnapshot();
  auto it = db->NewIterator(ReadOptions());
  for (int i = 0; i < 100; i += 2) ASSERT_TRUE(Put(db.get(), "k" + std::to_string(i), "v2").ok());
  ASSERT_TRUE(Del(db.get(), "k1").ok());
  ASSERT_TRUE(db->Flush().ok());
  auto c = db->Compact(CompactionOptions());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // The snapshot still sees every v1, through flush and compaction.
  auto old = Scan(db.get(), snap);
  EXPECT_EQ(old.size(), 100u);
  for (const auto& [k, v] : old) EXPECT_EQ(v, "v1") << k;
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_EQ(it->value(), "v1");
    n++;
  }
  EXPECT_EQ(n, 100);
  auto now = Scan(db.get());
  EXPECT_EQ(now.size(), 99u);
  EXPECT_EQ(now["k0"], "v2");
  EXPECT_EQ(now["k3"], "v1");
  EXPECT_EQ(Get(db.get(), "k1", snap), "v1");
  EXPECT_EQ(Get(db.get(), "k1"), "NOT_FOUND");
}

TEST_F(StorageTest, IteratorSeekAndUpperBound) {
  Open();
  auto db = Db("d");
  for (char c = 'a'; c <= 'j'; c++) ASSERT_TRUE(Put(db.get(), std::string(1, c), "v").ok());
  ASSERT_TRUE(Del(db.get(), "d").ok());
  ReadOptions ro;
  ro.upper_bound = "g";
  auto it = db->NewIterator(ro);
  std::string keys;
  for (it->Seek("c"); it->Valid(); it->Next()) keys += std::string(it->key());
  EXPECT_EQ(keys, "cef");
}

// A user's full compaction that meets one already running (the compaction
// daemon's) waits for it and then runs, where the daemon's own second try
// is refused with Busy.
TEST_F(StorageTest, AFullCompactionWaitsForTheOneRunning) {
  Open();
  auto db = Db("d");
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 500; i++) ASSERT_TRUE(Put(db.get(), "key" + std::to_string(i), std::string(200, 'a' + round)).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  std::atomic<bool> started{false}, release{false};
  // should_stop is polled every 1,024 entries: 1,500 here.
  CompactionOptions held;
  held.should_stop = [&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return false;
  };
  std::thread first([&] { EXPECT_TRUE(db->Compact(held).ok()); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto refused = db->Compact(CompactionOptions());
  EXPECT_TRUE(refused.status().IsBusy()) << refused.status().ToString();
  for (int i = 0; i < 500; i++) ASSERT_TRUE(Put(db.get(), "key" + std::to_string(i), "new").ok());
  ASSERT_TRUE(db->Flush().ok());
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    CompactionOptions wait;
    wait.wait_for_running = true;
    auto r = db->Compact(wait);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(second_done) << "the waiting compaction did not wait";
  release = true;
  first.join();
  second.join();
  DatabaseStats stats = db->GetStats();
  EXPECT_EQ(stats.segments, 1u) << "the second compaction merged what the first left and the newer flush";
  EXPECT_EQ(stats.compactions, 2u);
  for (int i = 0; i < 500; i++) EXPECT_EQ(Get(db.get(), "key" + std::to_string(i)), "new");
}

TEST_F(StorageTest, CompactionDropsShadowedVersionsAndTombstones) {
  Open();
  auto db = Db("d");
  std::string value(200, 'x');
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 500; i++) ASSERT_TRUE(Put(db.get(), "key" + std::to_string(i), value + std::to_string(round)).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  for (int i = 0; i < 250; i++) ASSERT_TRUE(Del(db.get(), "key" + std::to_string(i)).ok());
  ASSERT_TRUE(db->Flush().ok());
  DatabaseStats before = db->GetStats();
  EXPECT_GE(before.segments, 6u);
  EXPECT_FALSE(before.live_bytes_exact);
  // The flush-time bloom probes estimated most of the garbage.
  EXPECT_LT(before.live_bytes, before.disk_bytes / 2);
  auto r = db->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  DatabaseStats after = db->GetStats();
  EXPECT_EQ(after.entries, 250u);
  EXPECT_EQ(after.tombstones, 0u);
  EXPECT_TRUE(after.live_bytes_exact);
  EXPECT_EQ(after.live_bytes, after.disk_bytes);
  EXPECT_LT(after.disk_bytes, before.disk_bytes / 4);
  EXPECT_EQ(after.compactions, 1u);
  EXPECT_EQ(after.changes_since_compaction, 0u);
  for (int i = 0; i < 500; i++) {
    EXPECT_EQ(Get(db.get(), "key" + std::to_string(i)), i < 250 ? "NOT_FOUND" : value + "4");
  }
  // Obsolete inputs are deleted.
  auto files = fs_.GetChildren("/store/segments");
  EXPECT_EQ(files->size(), after.segments);
  db.reset();
  Reopen();
  db = Db("d");
  EXPECT_EQ(db->GetStats().entries, 250u);
  EXPECT_EQ(Get(db.get(), "key499"), value + "4");
}

TEST_F(StorageTest, ManyDatabasesAreCheapAndIsolated) {
  Open();
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  for (int i = 0; i < 1000; i++) dbs.push_back(Db("db" + std::to_string(i)));
  for (int i = 0; i < 1000; i += 7) ASSERT_TRUE(Put(dbs[i].get(), "k", "v" + std::to_string(i)).ok());
  for (int i = 0; i < 1000; i++) {
    EXPECT_EQ(Get(dbs[i].get(), "k"), i % 7 == 0 ? "v" + std::to_string(i) : "NOT_FOUND");
  }
  dbs.clear();
  Reopen();
  EXPECT_EQ(storage_->ListDatabases().size(), 1000u);
  EXPECT_EQ(Get(Db("db994").get(), "k"), "v994");
}

// Segment files on disk under /store/segments.
size_t SegmentFiles(FileSystem* fs) {
  auto names = fs->GetChildren("/store/segments");
  return names.ok() ? static_cast<size_t>(std::count_if(names->begin(), names->end(),
                                                         [](const std::string& n) { return n.ends_with(".seg"); }))
                    : 0;
}

// Bytes of the segment files on disk under /store/segments.
uint64_t SegmentFileBytes(FileSystem* fs) {
  uint64_t total = 0;
  auto names = fs->GetChildren("/store/segments");
  if (!names.ok()) return 0;
  for (const std::string& n : *names) {
    if (!n.ends_with(".seg")) continue;
    auto size = fs->GetFileSize("/store/segments/" + n);
    if (size.ok()) total += *size;
  }
  return total;
}

// Two overlapping flushes of "d": keys 0-199, then 100-299.
void FillTwoSegments(DatabaseCore* db, const std::function<Status(DatabaseCore*, std::string_view, std::string_view)>& put) {
  for (int round = 0; round < 2; round++) {
    for (int i = round * 100; i < round * 100 + 200; i++) {
      ASSERT_TRUE(put(db, "key" + std::to_string(i), "v" + std::to_string(round)).ok());
    }
    ASSERT_TRUE(db->Flush().ok());
  }
}

// A compaction's inputs that no reader holds are deleted by the compaction
// itself, before it returns; a reader that drops the last view of them
// leaves the unmapping and unlinking to the deleter's thread instead of
// paying for it before its next read.
TEST_F(StorageTest, AReaderDroppingTheLastViewOfObsoleteSegmentsDoesNotDeleteThem) {
  Open();
  auto db = Db("d");
  FillTwoSegments(db.get(), Put);
  ASSERT_EQ(SegmentFiles(&fs_), 2u);
  std::mutex mu;
  std::vector<std::thread::id> deleters;
  sync_point::Set("ObsoleteFiles::Delete", [&] {
    std::lock_guard<std::mutex> lock(mu);
    deleters.push_back(std::this_thread::get_id());
  });
  // Cleared on every way out, before `deleters` goes.
  struct ClearSyncPoints {
    ~ClearSyncPoints() { sync_point::ClearAll(); }
  } clear_sync_points;

  // No reader: deleted here, on the compacting thread.
  ASSERT_TRUE(db->Compact(CompactionOptions()).ok());
  EXPECT_EQ(SegmentFiles(&fs_), 1u) << "deleted before Compact returned";
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(deleters, std::vector<std::thread::id>(2, std::this_thread::get_id()));
    deleters.clear();
  }

  // A reader pins the inputs of the next compaction and drops them later.
  FillTwoSegments(db.get(), Put);
  auto it = db->NewIterator(ReadOptions());
  ASSERT_TRUE(db->Compact(CompactionOptions()).ok());
  EXPECT_EQ(SegmentFiles(&fs_), 4u) << "three inputs, pinned, and the output";
  EXPECT_EQ(storage_->LocalSegmentBytes(), SegmentFileBytes(&fs_)) << "the pinned inputs are still on disk";
  it.reset();
  storage_->WaitForObsoleteFiles();
  EXPECT_EQ(SegmentFiles(&fs_), 1u);
  EXPECT_EQ(storage_->LocalSegmentBytes(), SegmentFileBytes(&fs_)) << "they leave the gauge once deleted";
  EXPECT_EQ(storage_->obsolete_files_deleted(), 5u) << "two inputs, then three";
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(deleters.size(), 3u);
    for (const auto& id : deleters) EXPECT_NE(id, std::this_thread::get_id()) << "deleted on the reader's thread";
  }
  for (int i = 0; i < 300; i++) EXPECT_EQ(Get(db.get(), "key" + std::to_string(i)), i < 100 ? "v0" : "v1");
}

// Closing the store deletes what its last views dropped before the
// directory is given up, and a deletion that fails loses nothing: the file
// stays, and the next open sets it aside (lost+found/), since the manifest
// no longer names it.
TEST_F(StorageTest, ObsoleteSegmentsAreDeletedByCloseAndAFailedDeletionLosesNothing) {
  Open();
  auto db = Db("d");
  FillTwoSegments(db.get(), Put);
  auto it = db->NewIterator(ReadOptions());
  ASSERT_TRUE(db->Compact(CompactionOptions()).ok());
  it.reset();
  db.reset();
  ASSERT_TRUE(storage_->Close().ok());
  EXPECT_EQ(SegmentFiles(&fs_), 1u) << "deleted before Close returned";
  Reopen();

  db = Db("d");
  FillTwoSegments(db.get(), Put);
  it = db->NewIterator(ReadOptions());
  ASSERT_TRUE(db->Compact(CompactionOptions()).ok());
  ASSERT_EQ(SegmentFiles(&fs_), 4u);
  fs_.Fail(FaultSpec{.op = FaultOp::kDelete, .nth = 1, .error = Status::IOError("injected EIO on unlink"),
                     .path_contains = ".seg"});
  it.reset();
  storage_->WaitForObsoleteFiles();
  EXPECT_TRUE(fs_.fired(FaultOp::kDelete));
  EXPECT_EQ(SegmentFiles(&fs_), 2u) << "the segment whose deletion failed stays";
  for (int i = 0; i < 300; i++) EXPECT_EQ(Get(db.get(), "key" + std::to_string(i)), i < 100 ? "v0" : "v1");
  db.reset();
  Reopen();
  EXPECT_EQ(storage_->recovery_report().segments_quarantined, 1u) << "the leftover is set aside, not deleted";
  EXPECT_EQ(SegmentFiles(&fs_), 1u);
  db = Db("d");
  for (int i = 0; i < 300; i++) EXPECT_EQ(Get(db.get(), "key" + std::to_string(i)), i < 100 ? "v0" : "v1");
}

TEST_F(StorageTest, DropRemovesDataAndNameCanBeReused) {
  Open();
  auto db = Db("tmp");
  ASSERT_TRUE(Put(db.get(), "k", "v").ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(Put(db.get(), "k2", "v2").ok());
  ASSERT_TRUE(storage_->DropDatabase("tmp").ok());
  EXPECT_TRUE(Put(db.get(), "k", "v").IsNotFound());
  db.reset();
  EXPECT_TRUE(storage_->DropDatabase("tmp").IsNotFound());
  storage_->WaitForObsoleteFiles();
  EXPECT_TRUE(fs_.GetChildren("/store/segments")->empty());
  db = Db("tmp");
  EXPECT_EQ(Get(db.get(), "k"), "NOT_FOUND");
  db.reset();
  Reopen();
  EXPECT_EQ(Get(Db("tmp").get(), "k2"), "NOT_FOUND");
}

TEST_F(StorageTest, LimitsAndNamesAreChecked) {
  StorageOptions o = Options();
  o.max_key_bytes = 10;
  o.max_value_bytes = 20;
  Open(o);
  auto db = Db("d");
  Status s = Put(db.get(), std::string(11, 'k'), "v");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("max_key_bytes"), std::string::npos);
  EXPECT_TRUE(Put(db.get(), "k", std::string(21, 'v')).IsInvalidArgument());
  EXPECT_TRUE(storage_->OpenDatabase("bad/name", true).status().IsInvalidArgument());
  EXPECT_TRUE(storage_->OpenDatabase("", true).status().IsInvalidArgument());
  EXPECT_TRUE(storage_->OpenDatabase(".hidden", true).status().IsInvalidArgument());
  EXPECT_TRUE(storage_->OpenDatabase(std::string(129, 'a'), true).status().IsInvalidArgument());
  EXPECT_TRUE(storage_->OpenDatabase("missing", false).status().IsNotFound());
}

TEST_F(StorageTest, SecondOpenOfTheDirectoryIsLocked) {
  Open();
  auto second = Storage::Open(&fs_, SystemClock(), Options(), nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsLocked()) << second.status().ToString();
}

TEST_F(StorageTest, NewestJournalFileWithoutHeaderIsRemovedNotKeptAsDamaged) {
  Open();
  auto db = Db("a");
  ASSERT_TRUE(Put(db.get(), "k", "v").ok());
  db.reset();
  storage_.reset();
  // A crash right after a new journal file was created: it is empty, or
  // holds part of its header.
  auto names = mem_.GetChildren(JournalDir("/store"));
  ASSERT_TRUE(names.ok());
  uint64_t newest = 0;
  for (const auto& name : *names) {
    uint64_t n;
    if (ParseNumberedName(name, "", ".log", &n)) newest = std::max(newest, n);
  }
  ASSERT_TRUE(WriteStringToFile(&mem_, "\x01\x02\x03", JournalFileName("/store", newest + 1), true).ok());
  // Twice: the second open must not find the stub as an older, damaged file.
  for (int i = 0; i < 2; i++) {
    Open();
    db = Db("a");
    EXPECT_EQ(Get(db.get(), "k"), "v");
    ASSERT_TRUE(Put(db.get(), fmt::format("after{}", i), "x").ok());
    db.reset();
    storage_.reset();
  }
  EXPECT_FALSE(mem_.FileExists(JournalFileName("/store", newest + 1)));
}

TEST_F(StorageTest, JournalFilesAreReclaimedOnceFlushed) {
  StorageOptions o = Options();
  o.journal.segment_bytes = 16 << 10;
  Open(o);
  auto a = Db("a");
  auto b = Db("b");
  std::string value(100, 'v');
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(Put(i % 2 ? a.get() : b.get(), std::to_string(i), value).ok());
  EXPECT_GT(storage_->journal()->Files().size(), 5u);
  EXPECT_EQ(storage_->ReclaimableJournalBytes(), 0u);
  // `a` pins everything until it is flushed too.
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(storage_->ReclaimableJournalBytes(), 0u);
  EXPECT_FALSE(storage_->DatabasesPinning(storage_->journal()->Files().front().number).empty());
  ASSERT_TRUE(a->Flush().ok());
  EXPECT_GT(storage_->ReclaimableJournalBytes(), 0u);
  ASSERT_TRUE(storage_->ReclaimJournal().ok());
  EXPECT_EQ(storage_->journal()->Files().size(), 1u);
  a.reset();
  b.reset();
  Reopen();
  EXPECT_EQ(Get(Db("a").get(), "1999"), value);
  EXPECT_EQ(storage_->recovery_report().batches_replayed, 0u);
}

// A seeded random workload against std::map, with flushes, compactions,
// snapshots and reopen thrown in.
TEST_F(StorageTest, RandomizedModel) {
  uint64_t seed = testing::TestSeed(20261121);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with EBB_TEST_SEED)");
  Random rnd(seed);
  Open();
  constexpr int kDbs = 8, kKeys = 300;
  std::vector<std::map<std::string, std::string>> model(kDbs);
  auto name = [](int d) { return "db" + std::to_string(d); };
  for (int step = 0; step < 20000; step++) {
    int d = static_cast<int>(rnd.Uniform(kDbs));
    auto db = Db(name(d));
    std::string key = "k" + std::to_string(rnd.Uniform(kKeys));
    uint64_t op = rnd.Uniform(100);
    if (op < 55) {
      std::string value = rnd.RandomString(rnd.Uniform(64));
      ASSERT_TRUE(Put(db.get(), key, value).ok());
      model[d][key] = value;
    } else if (op < 70) {
      ASSERT_TRUE(Del(db.get(), key).ok());
      model[d].erase(key);
    } else if (op < 80) {
      WriteBatch b;
      for (int j = 0; j < 5; j++) {
        std::string k = "k" + std::to_string(rnd.Uniform(kKeys));
        if (rnd.OneIn(3)) {
          b.Delete(k);
          model[d].erase(k);
        } else {
          b.Put(k, "batch" + std::to_string(step));
          model[d][k] = "batch" + std::to_string(step);
        }
      }
      ASSERT_TRUE(db->Write(WriteOptions(), b).ok());
    } else if (op < 92) {
      auto it = model[d].find(key);
      ASSERT_EQ(Get(db.get(), key), it == model[d].end() ? "NOT_FOUND" : it->second) << "step " << step;
    } else if (op < 95) {
      // A batch read, repeated and absent keys included, must agree key by
      // key with the model (memtables, segments, tombstones alike).
      std::vector<std::string> keys;
      for (int j = 0; j < 12; j++) keys.push_back("k" + std::to_string(rnd.Uniform(kKeys + 20)));
      keys.push_back(keys.front());
      std::vector<std::string> values;
      std::vector<Status> statuses;
      db->MultiGet(ReadOptions(), keys, &values, &statuses);
      ASSERT_EQ(values.size(), keys.size());
      ASSERT_EQ(statuses.size(), keys.size());
      for (size_t j = 0; j < keys.size(); j++) {
        auto it = model[d].find(keys[j]);
        const std::string got = statuses[j].IsNotFound() ? "NOT_FOUND"
                                : statuses[j].ok()      ? values[j]
                                                        : "ERROR: " + statuses[j].ToString();
        ASSERT_EQ(got, it == model[d].end() ? "NOT_FOUND" : it->second) << "step " << step << " key " << keys[j];
      }
    } else if (op < 97) {
      ASSERT_TRUE(db->Flush().ok());
    } else if (op < 98) {
      CompactionOptions co;
      co.full = rnd.OneIn(2);
      co.newest_segments = 2 + rnd.Uniform(3);
      ASSERT_TRUE(db->Compact(co).ok());
    } else if (op < 99) {
      ASSERT_EQ(Scan(db.get()), model[d]) << "step " << step;
    } else if (rnd.OneIn(5)) {
      db.reset();
      Reopen();
    }
  }
  for (int d = 0; d < kDbs; d++) EXPECT_EQ(Scan(Db(name(d)).get()), model[d]);
  Reopen();
  for (int d = 0; d < kDbs; d++) EXPECT_EQ(Scan(Db(name(d)).get()), model[d]);
}

TEST_F(StorageTest, ConcurrentWritersAndReadersManyDatabases) {
  StorageOptions o = Options();
  o.journal.sync = SyncMode::kNone;
  Open(o);
  constexpr int kThreads = 8, kOps = 3000;
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  for (int i = 0; i < 4; i++) dbs.push_back(Db("db" + std::to_string(i)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      DatabaseCore* db = dbs[t % 4].get();
      for (int i = 0; i < kOps; i++) {
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!Put(db, key, std::to_string(i)).ok()) failures++;
        // Read-your-writes from this thread, at once.
        if (Get(db, key) != std::to_string(i)) failures++;
        if (i % 1000 == 999) (void)db->Flush();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < 4; i++) {
    auto all = Scan(dbs[i].get());
    EXPECT_EQ(all.size(), static_cast<size_t>(kThreads / 4 * kOps));
    EXPECT_EQ(dbs[i]->GetStats().update_seq, static_cast<uint64_t>(kThreads / 4 * kOps));
  }
}

// A plain Get loads the visible sequence and then the read view; a flush or
// compaction in between may have dropped versions visible at that older
// sequence. Reads must never go back in time because of it.
TEST_F(StorageTest, PlainReadsNeverGoBackAcrossFlushesAndCompactions) {
  StorageOptions o = Options();
  o.journal.sync = SyncMode::kNone;
  o.memtable_bytes = 1 << 30;  // only explicit flushes switch memtables
  Open(o);
  auto db = Db("d");
  std::atomic<bool> done{false};
  std::atomic<int> went_back{0};
  std::thread writer([&] {
    for (int r = 1; r <= 20000; r++) {
      WriteBatch b;
      b.Put("x", fmt::format("{:08}", r));
      b.Put(fmt::format("bulk{}", r % 200), std::string(100, 'b'));
      ASSERT_TRUE(db->Write(WriteOptions(), b).ok());
    }
    done = true;
  });
  std::thread reader([&] {
    std::string prev;
    while (!done.load()) {
      std::string v;
      if (!db->Get(ReadOptions(), "x", &v).ok()) continue;
      if (v < prev) went_back++;
      prev = v;
    }
  });
  int i = 0;
  while (!done.load()) {
    if (i++ % 2) {
      ASSERT_TRUE(db->Flush().ok());
    } else {
      auto c = db->Compact(CompactionOptions());
      ASSERT_TRUE(c.ok() || c.status().IsBusy());
    }
  }
  writer.join();
  reader.join();
  EXPECT_EQ(went_back.load(), 0);
}

// Serves evicted segments from copies taken before eviction (a stand-in for
// the tiering agent's member cache), counting fetches.
class CopiedRemoteSource final : public RemoteSegmentSource {
 public:
  explicit CopiedRemoteSource(FileSystem* fs) : fs_(fs) {}
  void Keep(uint64_t number, const std::string& path) {
    auto data = ReadFileToString(fs_, path);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    ASSERT_TRUE(WriteStringToFile(fs_, *data, Copy(number), true).ok());
  }
  Result<std::shared_ptr<Segment>> OpenEvicted(const std::string& database, const SegmentMeta& meta) override {
    fetches++;
    return Segment::Open(fs_, Copy(meta.number), meta.number);
  }
  std::atomic<int> fetches{0};

 private:
  static std::string Copy(uint64_t number) { return fmt::format("/remote/{:06}.seg", number); }
  FileSystem* fs_;
};

TEST_F(StorageTest, EvictedSegmentsKeepTheirFilterLocallySoAbsentKeysFetchNothing) {
  ASSERT_TRUE(fs_.CreateDir("/remote").ok());
  CopiedRemoteSource remote(&fs_);
  Open();
  storage_->SetRemoteSegmentSource(&remote);
  auto db = Db("cold");
  for (int i = 0; i < 400; i++) ASSERT_TRUE(Put(db.get(), fmt::format("k{:04}", 2 * i), fmt::format("v{}", i)).ok());
  ASSERT_TRUE(db->Flush().ok());
  std::vector<uint64_t> numbers;
  {
    // Not held past the Reopen below: its files refer to the store.
    const auto set = db->segment_set();
    for (const auto& f : *set) {
      numbers.push_back(f->meta().number);
      remote.Keep(f->meta().number, f->path());
    }
  }
  ASSERT_FALSE(numbers.empty());
  for (uint64_t n : numbers) ASSERT_TRUE(storage_->EvictSegment(n).ok());
  for (uint64_t n : numbers) {
    EXPECT_FALSE(fs_.FileExists(SegmentFileName("/store", n))) << n;
    EXPECT_TRUE(fs_.FileExists(SegmentFilterFileName("/store", n))) << n;
  }

  // Odd keys are absent but inside the key range: the local filter answers
  // for nearly all of them (~1% false positives at 10 bits per key).
  // Each lookup starts with no evicted segment open (as under cache
  // pressure), so every filter miss would otherwise be a fetch.
  for (int i = 0; i < 400; i++) {
    storage_->segment_cache()->EvictRemote();
    EXPECT_EQ(Get(db.get(), fmt::format("k{:04}", 2 * i + 1)), "NOT_FOUND");
  }
  EXPECT_LT(remote.fetches.load(), 20);
  // Present keys are fetched and read back.
  for (int i = 0; i < 400; i += 37) EXPECT_EQ(Get(db.get(), fmt::format("k{:04}", 2 * i)), fmt::format("v{}", i));
  EXPECT_GT(remote.fetches.load(), 0);

  // A scan of newer keys past the evicted range fetches nothing; a full
  // scan fetches and sees everything.
  for (int i = 0; i < 50; i++) ASSERT_TRUE(Put(db.get(), fmt::format("z{:04}", i), "new").ok());
  ASSERT_TRUE(db->Flush().ok());
  storage_->segment_cache()->EvictRemote();
  remote.fetches = 0;
  {
    auto it = db->NewIterator(ReadOptions());
    int n = 0;
    for (it->Seek("z"); it->Valid(); it->Next()) n++;
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(n, 50);
    ReadOptions bounded;
    bounded.upper_bound = "k";
    auto none = db->NewIterator(bounded);
    none->SeekToFirst();
    EXPECT_FALSE(none->Valid());
  }
  EXPECT_EQ(remote.fetches.load(), 0);
  EXPECT_EQ(Scan(db.get()).size(), 450u);
  EXPECT_GT(remote.fetches.load(), 0);

  // Reopen keeps the filter files of evicted segments. A damaged or missing
  // filter file costs a fetch, never a wrong answer.
  storage_->SetRemoteSegmentSource(nullptr);
  db.reset();
  Reopen();
  storage_->SetRemoteSegmentSource(&remote);
  for (uint64_t n : numbers) ASSERT_TRUE(fs_.FileExists(SegmentFilterFileName("/store", n))) << n;
  ASSERT_TRUE(fs_.CorruptBytes(SegmentFilterFileName("/store", numbers[0]), 0, 4).ok());
  if (numbers.size() > 1) ASSERT_TRUE(fs_.DeleteFile(SegmentFilterFileName("/store", numbers[1])).ok());
  db = Db("cold");
  remote.fetches = 0;
  for (int i = 0; i < 400; i += 13) {
    EXPECT_EQ(Get(db.get(), fmt::format("k{:04}", 2 * i)), fmt::format("v{}", i));
    EXPECT_EQ(Get(db.get(), fmt::format("k{:04}", 2 * i + 1)), "NOT_FOUND");
  }
  EXPECT_GT(remote.fetches.load(), 0);
  storage_->SetRemoteSegmentSource(nullptr);
}

// A read that found a segment local and then lost the race with its
// eviction (the local file deleted before the read opened it) reads the
// evicted copy: never "key absent", never a spurious Corruption.
TEST_F(StorageTest, ReadRacingTheEvictionOfItsSegmentReadsTheEvictedCopy) {
  ASSERT_TRUE(fs_.CreateDir("/remote").ok());
  CopiedRemoteSource remote(&fs_);
  Open();
  storage_->SetRemoteSegmentSource(&remote);
  auto db = Db("cold");
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put(db.get(), fmt::format("k{:04}", i), fmt::format("v{}", i)).ok());
  ASSERT_TRUE(db->Flush().ok());
  const auto set = db->segment_set();
  ASSERT_EQ(set->size(), 1u);
  const uint64_t number = (*set)[0]->meta().number;
  remote.Keep(number, (*set)[0]->path());
  storage_->segment_cache()->Evict(number);
  bool evicted = false;
  sync_point::Set("SegmentFile::Open:local", [&] {
    if (evicted) return;
    evicted = true;
    ASSERT_TRUE(storage_->EvictSegment(number).ok());
  });
  EXPECT_EQ(Get(db.get(), "k0042"), "v42");
  sync_point::ClearAll();
  EXPECT_TRUE(evicted);
  EXPECT_GT(remote.fetches.load(), 0);
  storage_->SetRemoteSegmentSource(nullptr);
}

}  // namespace
}  // namespace ebb
