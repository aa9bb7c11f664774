// The engine's background runtime end to end, on the real clock with short
// intervals: writes batch up, then the store rushes to idle (flush, compact,
// reclaim the journal) and goes to sleep with no timer armed.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "base/mutex.h"
#include "base/test_util.h"
#include "engine/admin.h"
#include "engine/engine.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"

namespace ebb {
namespace {

// A MemFileSystem whose next segment file creation, once armed, blocks until
// released: it holds a compaction right after it created its output.
class HoldingFileSystem final : public FileSystem {
 public:
  void HoldNextSegment() {
    MutexLock lock(&mu_);
    armed_ = true;
  }
  // Waits (bounded in real time) until a creation is being held.
  bool WaitHeld() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    MutexLock lock(&mu_);
    while (!held_) {
      if (std::chrono::steady_clock::now() >= give_up) return false;
      cv_.WaitFor(std::chrono::milliseconds(10));
    }
    return true;
  }
  void Release() {
    MutexLock lock(&mu_);
    armed_ = false;
    held_ = false;
    cv_.SignalAll();
  }
  MemFileSystem* base() { return &base_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".seg") == 0) {
      MutexLock lock(&mu_);
      if (armed_) {
        armed_ = false;
        held_ = true;
        cv_.SignalAll();
        while (held_) cv_.Wait();
      }
    }
    return base_.NewWritableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    return base_.NewAppendableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewMappedLogFile(const std::string& path) override {
    return base_.NewMappedLogFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_.NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    return base_.NewSequentialFile(path);
  }
  bool FileExists(const std::string& path) override { return base_.FileExists(path); }
  Result<uint64_t> GetFileSize(const std::string& path) override { return base_.GetFileSize(path); }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override { return base_.GetChildren(dir); }
  Status CreateDir(const std::string& dir) override { return base_.CreateDir(dir); }
  Status DeleteDir(const std::string& dir) override { return base_.DeleteDir(dir); }
  Status DeleteFile(const std::string& path) override { return base_.DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_.RenameFile(from, to); }
  Status TruncateFile(const std::string& path, uint64_t size) override { return base_.TruncateFile(path, size); }
  Status SyncDir(const std::string& dir) override { return base_.SyncDir(dir); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override { return base_.LockFile(path); }
  Result<uint64_t> GetFreeSpace(const std::string& path) override { return base_.GetFreeSpace(path); }

 private:
  MemFileSystem base_;
  Mutex mu_;
  CondVar cv_{&mu_};
  bool armed_ GUARDED_BY(mu_) = false;
  bool held_ GUARDED_BY(mu_) = false;
};

std::vector<std::string> SegmentFiles(FileSystem* fs) {
  std::vector<std::string> out;
  auto names = fs->GetChildren("/store/segments");
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".seg") == 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Options FastIdleOptions(const std::string& policy) {
  Options o;
  o.data_dir = "/store";
  o.Set("journal.sync", "batch");
  o.Set("journal.sync_interval_ms", "20");
  o.Set("store.memtable_bytes", "256KiB");
  o.Set("work.policy", policy);
  o.Set("work.interval_ms", "20");
  o.Set("work.idle_hysteresis_ms", "40");
  o.Set("work.idle_horizon_ms", "200");
  o.Set("smoosh.wait_secs", "0");
  o.Set("work.max_pending_age_s", "1");
  return o;
}

// Polls (bounded) until every class is asleep with nothing pending.
bool WaitForQuiescence(Store* store, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    StoreStatus st = store->GetStatus();
    bool asleep = !st.work.armed_deadline_micros.has_value();
    for (const auto& c : st.work.classes) asleep = asleep && c.state == "asleep" && c.pending_bytes == 0;
    if (asleep) return true;
    std::this_thread::yield();
  }
  return false;
}

// Polls (bounded) until the first database's memtables are flushed and
// every class is asleep with nothing pending, twice 50 ms apart (a flush
// can leave the classes asleep for a moment before compaction starts).
bool WaitUntilSettled(Store* store, std::chrono::seconds limit) {
  auto settled = [&] {
    StoreStatus st = store->GetStatus();
    bool asleep = st.databases[0].memtable_bytes == 0;
    for (const auto& c : st.work.classes) asleep = asleep && c.state == "asleep" && c.pending_bytes == 0;
    return asleep;
  };
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (settled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (settled()) return true;
    }
    std::this_thread::yield();
  }
  return false;
}

TEST(BackgroundTest, RushesToIdleThenMakesNoWakeups) {
  MemFileSystem fs;
  auto store = OpenStore(FastIdleOptions("ebb"), EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 4000; i++) ASSERT_TRUE(db->Put(fmt::format("key{:05}", i), std::string(100, 'a' + round)).ok());
  }
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60))) << "did not reach idle";
  StoreStatus st = (*store)->GetStatus();
  // Everything flushed and the journal given back.
  EXPECT_EQ(st.databases[0].memtable_bytes, 0u);
  EXPECT_LE(st.journal.files, 1u);
  uint64_t wakeups = st.work.wakeups;
  uint64_t syncs = st.journal.syncs;
  // Idle means idle: no background activity at all while nothing happens.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  st = (*store)->GetStatus();
  EXPECT_EQ(st.work.wakeups, wakeups);
  EXPECT_EQ(st.journal.syncs, syncs);
  EXPECT_FALSE(st.work.armed_deadline_micros.has_value());
  // A lone small write wakes it again; it is not worth a flush of its own
  // at once, so it waits (deferred) for its age limit, then goes to disk.
  const auto written = std::chrono::steady_clock::now();
  ASSERT_TRUE(db->Put("again", "x").ok());
  auto writeback_state = [&] {
    for (const auto& c : (*store)->GetStatus().work.classes) {
      if (c.name == "writeback") return c.state;
    }
    return std::string();
  };
  while (writeback_state() != "deferred" && std::chrono::steady_clock::now() < written + std::chrono::seconds(60)) {
    std::this_thread::yield();
  }
  EXPECT_EQ(writeback_state(), "deferred");
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  EXPECT_GE(std::chrono::steady_clock::now() - written, std::chrono::milliseconds(875))
      << "flushed before the last eighth of work.max_pending_age_s";
  EXPECT_EQ((*store)->GetStatus().databases[0].memtable_bytes, 0u);
  EXPECT_GT((*store)->GetStatus().work.wakeups, wakeups);
  EXPECT_EQ(*db->Get("key00042"), std::string(100, 'c'));
  EXPECT_EQ(*db->Get("again"), "x");
}

// Writes `n` pairs: keepNNNNN (no expiry) and dropNNNNN, expiring at
// deadline_ms(i); 100-byte values.
void WriteKeptAndExpiring(Database* db, int n, const std::function<int64_t(int)>& deadline_ms) {
  for (int i = 0; i < n; i++) {
    WriteBatch b;
    b.Put(fmt::format("keep{:05}", i), std::string(100, 'k'));
    b.PutWithExpiry(fmt::format("drop{:05}", i), std::string(100, 'd'), deadline_ms(i));
    ASSERT_TRUE(db->Write(WriteOptions(), b).ok());
  }
}

// Active expiry: a store holding values that expire later arms one
// deadline for them and makes no wakeup until then; when they come due the
// `expiry` class compacts them away (within work.max_pending_age_s), and
// afterwards nothing is armed.
TEST(BackgroundTest, ExpiryArmsOneDeadlineSleepsUntilItThenReclaimsTheDueValues) {
  MemFileSystem fs;
  auto store = OpenStore(FastIdleOptions("ebb"), EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  const int64_t now_ms = SystemClock()->WallMicros() / 1000;
  const int64_t due_ms = now_ms + 2'500;
  WriteKeptAndExpiring(db.get(), 2000, [&](int) { return due_ms; });
  ASSERT_FALSE(HasFatalFailure());
  // Settled: everything flushed, every class asleep, one deadline armed.
  ASSERT_TRUE(WaitUntilSettled(store->get(), std::chrono::seconds(60))) << "did not settle";
  StoreStatus st = (*store)->GetStatus();
  if (SystemClock()->WallMicros() / 1000 >= due_ms - 500) GTEST_SKIP() << "the machine took too long to settle";
  ASSERT_TRUE(st.work.armed_deadline_micros.has_value()) << "the expiry deadline is armed";
  EXPECT_EQ(st.databases[0].expiring, 2000u);
  EXPECT_EQ(st.databases[0].earliest_expiry_ms, due_ms);
  const uint64_t wakeups = st.work.wakeups;
  const uint64_t timers = st.work.deadline_wakeups;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ((*store)->GetStatus().work.wakeups, wakeups) << "no wakeup before anything is due";

  // Due: gone to reads at once, and from the files soon after.
  while (SystemClock()->WallMicros() / 1000 < due_ms) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(db->Get("drop00001").status().IsNotFound());
  auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto reclaimed = [&] {
    StoreStatus s = (*store)->GetStatus();
    return s.databases[0].entries == 2000 && !s.work.armed_deadline_micros.has_value();
  };
  while (!reclaimed() && std::chrono::steady_clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  st = (*store)->GetStatus();
  EXPECT_EQ(st.databases[0].entries, 2000u) << "the expired values were compacted away";
  EXPECT_EQ(st.databases[0].expiring, 0u);
  EXPECT_FALSE(st.work.armed_deadline_micros.has_value()) << "nothing left to arm";
  EXPECT_EQ(st.work.wakeups - wakeups, 1u) << "the deadline, with the pass and the look after it; not polling";
  EXPECT_EQ(st.work.deadline_wakeups - timers, 1u);
  EXPECT_EQ(*db->Get("keep01999"), std::string(100, 'k'));
}

// A group of values due together that is under an eighth of its segment's
// values with an expiry (the eighths do not see it) is reclaimed once it has
// waited work.max_pending_age_s (1 s here; one age limit, the database being
// small), with one wakeup, a timer's; the rest stays, and its deadline is
// armed.
TEST(BackgroundTest, ExpiryReclaimsAGroupUnderAnEighthOfItsSegmentAfterTheAgeLimit) {
  MemFileSystem fs;
  auto store = OpenStore(FastIdleOptions("ebb"), EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  const int64_t now_ms = SystemClock()->WallMicros() / 1000;
  const int64_t soon_ms = now_ms + 2'500;
  const int64_t later_ms = now_ms + 3'600'000;
  // One in twenty (5%) soon, the rest in an hour.
  WriteKeptAndExpiring(db.get(), 2000, [&](int i) { return i % 20 == 0 ? soon_ms : later_ms; });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitUntilSettled(store->get(), std::chrono::seconds(60))) << "did not settle";
  if (SystemClock()->WallMicros() / 1000 >= soon_ms - 500) GTEST_SKIP() << "the machine took too long to settle";
  StoreStatus st = (*store)->GetStatus();
  ASSERT_EQ(st.databases[0].expiring, 2000u);
  EXPECT_EQ(st.databases[0].expired, 0u);
  const uint64_t timers = st.work.deadline_wakeups;
  const uint64_t wakeups = st.work.wakeups;

  auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Reclaimed, and the look after the pass has armed the next deadline.
  auto reclaimed = [&] {
    StoreStatus now = (*store)->GetStatus();
    return now.databases[0].expiring == 1900 && now.work.armed_deadline_micros.has_value();
  };
  while (!reclaimed() && std::chrono::steady_clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t reclaimed_ms = SystemClock()->WallMicros() / 1000;
  st = (*store)->GetStatus();
  ASSERT_EQ(st.databases[0].expiring, 1900u) << "the group due soon was compacted away";
  EXPECT_GE(reclaimed_ms, soon_ms + 1000) << "reclaimed before it had waited its age limit";
  EXPECT_EQ(st.databases[0].entries, 2000u + 1900u);
  EXPECT_EQ(st.work.deadline_wakeups - timers, 1u) << "one timer for the group";
  EXPECT_EQ(st.work.wakeups - wakeups, 1u) << "the timer; the dispatcher runs the pass and arms the next deadline";
  ASSERT_TRUE(st.work.armed_deadline_micros.has_value()) << "the values due in an hour stay armed";
  EXPECT_TRUE(db->Get("drop00000").status().IsNotFound());
  EXPECT_EQ(*db->Get("drop00001"), std::string(100, 'd'));
}

// The same group, due while the store is written to: it is held until the
// writes stop and then reclaimed in the rush to idle, long before its age
// limit (20 s here), by a pass the dispatcher runs itself.
TEST(BackgroundTest, ExpiryReclaimsAGroupUnderAnEighthInTheRushToIdle) {
  MemFileSystem fs;
  Options o = FastIdleOptions("ebb");
  o.Set("work.max_pending_age_s", "20");
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  auto other = *(*store)->OpenDatabase("other");
  const int64_t now_ms = SystemClock()->WallMicros() / 1000;
  const int64_t soon_ms = now_ms + 2'500;
  const int64_t later_ms = now_ms + 3'600'000;
  WriteKeptAndExpiring(db.get(), 2000, [&](int i) { return i % 20 == 0 ? soon_ms : later_ms; });
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(WaitUntilSettled(store->get(), std::chrono::seconds(60))) << "did not settle";
  if (SystemClock()->WallMicros() / 1000 >= soon_ms - 500) GTEST_SKIP() << "the machine took too long to settle";
  auto expiring = [&] {
    for (const auto& d : (*store)->GetStatus().databases) {
      if (d.name == "d") return d.expiring;
    }
    return uint64_t{0};
  };
  // Due, but under an eighth and short of its age limit: still there.
  while (SystemClock()->WallMicros() / 1000 < soon_ms + 300) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(expiring(), 2000u);
  const uint64_t dispatcher_passes = (*store)->GetStatus().work.dispatcher_passes;

  // Writes to another database, then quiet.
  for (int i = 0; i < 50; i++) ASSERT_TRUE(other->Put(fmt::format("k{}", i), "v").ok());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (expiring() != 1900u && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(expiring(), 1900u) << "the due group was not reclaimed in the rush to idle";
  EXPECT_LT(SystemClock()->WallMicros() / 1000, soon_ms + 20'000) << "it waited for its age limit instead";
  EXPECT_GT((*store)->GetStatus().work.dispatcher_passes, dispatcher_passes) << "the lone pass went to a worker";
  EXPECT_TRUE(db->Get("drop00000").status().IsNotFound());
  EXPECT_EQ(*db->Get("drop00001"), std::string(100, 'd'));
}

TEST(BackgroundTest, SuspendedCompactionStopsDropsItsPartialOutputAndRestartsOnResume) {
  HoldingFileSystem fs;
  Options o = FastIdleOptions("ebb");
  o.Set("work.idle_hysteresis_ms", "1000");  // no rush before the test has armed the hold
  o.Set("smoosh.ratio_dbs.min_size", "0");
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  // Three rounds over the same 4000 keys (two segments each): ratio 3, for ratio_dbs.
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 4000; i++) ASSERT_TRUE(db->Put(fmt::format("key{:05}", i), std::string(100, 'a' + round)).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  const std::vector<std::string> inputs = SegmentFiles(&fs);
  ASSERT_GE(inputs.size(), 3u);
  fs.HoldNextSegment();  // the next segment file is the compaction's output
  ASSERT_TRUE(fs.WaitHeld()) << "compaction did not start";
  ASSERT_TRUE(SuspendCompactionChannel(store->get(), "all").ok());
  fs.Release();
  // The job stops at its next check, deletes what it wrote and waits in its
  // queue again: not a failure.
  auto queued_again = [&] {
    for (const auto& c : (*store)->GetStatus().compaction.channels) {
      if (c.name == "ratio_dbs") return c.jobs.empty() && c.waiting.size == 1;
    }
    return false;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!queued_again() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  ASSERT_TRUE(queued_again());
  EXPECT_EQ(SegmentFiles(&fs), inputs) << "the partial output was left behind";
  for (const auto& c : (*store)->GetStatus().compaction.channels) EXPECT_EQ(c.jobs_failed, 0u) << c.name;
  EXPECT_EQ(db->GetStats().segments, inputs.size());
  // Resumed, it starts again from the beginning and finishes, without any
  // other event to wake the runtime.
  ASSERT_TRUE(ResumeCompactionChannel(store->get(), "all").ok());
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  EXPECT_EQ(db->GetStats().segments, 1u);
  EXPECT_EQ(*db->Get("key01234"), std::string(100, 'c'));
}

TEST(BackgroundTest, ACompactionsSplitOutputIsOneRunNotSegmentsToCompactAgain) {
  MemFileSystem fs;
  Options o = FastIdleOptions("ebb");
  o.Set("smoosh.ratio_dbs.min_size", "0");
  o.Set("smoosh.segments_dbs.min_size", "0");
  o.Set("store.segment_target_bytes", "64KiB");  // a compaction writes ~10 files
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 6000; i++) ASSERT_TRUE(db->Put(fmt::format("key{:05}", i), std::string(100, 'a' + round)).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  // One compaction (ratio 3) made more than 8 files of one run; segments_dbs
  // (more than 8 runs) had nothing to do after it.
  const DatabaseStats st = db->GetStats();
  EXPECT_EQ(st.compactions, 1u);
  EXPECT_GT(st.segments, 8u);
  for (const auto& c : (*store)->GetStatus().compaction.channels) {
    if (c.name == "segments_dbs") EXPECT_EQ(c.jobs_started, 0u);
    EXPECT_EQ(c.waiting.size, 0u) << c.name;
  }
}

TEST(BackgroundTest, AWriterAtTheMemoryBoundWaitsForAFlushAndIsNotFailed) {
  HoldingFileSystem fs;
  Options o = FastIdleOptions("ebb");
  o.Set("store.memtable_bytes", "64KiB");
  o.Set("store.max_immutable_memtables", "2");
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  fs.HoldNextSegment();  // the first flush cannot finish: the disk "hangs"
  std::atomic<int> written{0};
  Status failed;
  std::thread writer([&] {
    for (int i = 0; i < 4000; i++) {  // ~440 KiB: far past two immutable 64 KiB memtables
      Status s = db->Put(fmt::format("key{:05}", i), std::string(100, 'x'));
      if (!s.ok()) {
        failed = s;
        return;
      }
      written++;
    }
  });
  ASSERT_TRUE(fs.WaitHeld());
  auto waits = [&] { return (*store)->GetStatus().work.memory_bound_waits; };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (waits() == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  ASSERT_GT(waits(), 0u) << "the writer never reached the memory bound";
  const int stalled_at = written.load();
  EXPECT_LT(stalled_at, 4000) << "the writer waits while no flush can finish";
  fs.Release();
  writer.join();
  EXPECT_TRUE(failed.ok()) << failed.ToString();
  EXPECT_EQ(written.load(), 4000) << "every write went through once flushes could";
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  EXPECT_EQ(*db->Get("key03999"), std::string(100, 'x'));
}

TEST(BackgroundTest, ThrottleAndMemoryBoundKeepWritersGoing) {
  MemFileSystem fs;
  Options o = FastIdleOptions("ebb");
  o.Set("work.writeback.band_low_bytes", "256KiB");
  o.Set("work.writeback.band_high_bytes", "1MiB");
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok());
  auto db = *(*store)->OpenDatabase("d");
  uint64_t max_memtable = 0;
  for (int i = 0; i < 30000; i++) {
    ASSERT_TRUE(db->Put(fmt::format("key{:06}", i), std::string(100, 'x')).ok());
    if (i % 1000 == 0) max_memtable = std::max(max_memtable, db->GetStats().memtable_bytes);
  }
  // Never beyond the hard memory bound (memtable + max_immutable_memtables).
  EXPECT_LE(max_memtable, 9u * 256 * 1024 + 4096);
  // 3 MB written against a 1 MiB band: some writes paused, and status says so.
  BackgroundSchedulerStatus work = (*store)->GetStatus().work;
  EXPECT_GT(work.throttled_writes, 0u);
  EXPECT_GT(work.throttle_pause_us, 0u);
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  EXPECT_EQ(db->GetStats().memtable_bytes, 0u);
}

// Polls (bounded) until `done` holds.
template <typename Fn>
bool WaitUntil(Fn done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A writer paused by the tiering throttle gets the tiering class to evict at
// once. Nothing else would wake it here: the class last saw nothing to do,
// writeback is deferred (a trickle, with an hour's age limit) and the write
// path would wake the scheduler only after 64 KiB more writes, which the
// pauses stretch to minutes.
TEST(BackgroundTest, AWriterPausedByTheTieringThrottleGetsTieringToEvict) {
  MemFileSystem fs;
  MemObjectStore objects;
  Options o = FastIdleOptions("ebb");
  o.Set("store.memtable_bytes", "64KiB");
  o.Set("tiering.enabled", "true");
  o.Set("tiering.local_target_bytes", "128KiB");
  o.Set("tiering.min_age_s", "0");
  o.Set("tiering.archive_target_bytes", "1MiB");
  o.Set("tiering.recall", "false");
  auto store = OpenStore(o, EngineEnv{&fs, nullptr, &objects});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("d");
  int next = 0;
  auto put = [&] { return db->Put(fmt::format("key{:06}", next++), std::string(160, 'v')); };
  // Three segments of ~55 KiB: all archived, the oldest evicted to get under
  // the 128 KiB target (age limit 1 s: this part settles by itself).
  for (int segment = 0; segment < 3; segment++) {
    for (int i = 0; i < 300; i++) ASSERT_TRUE(put().ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(WaitForQuiescence(store->get(), std::chrono::seconds(60)));
  ASSERT_GE((*store)->GetStatus().tiering.segments_evicted, 1u) << "the first segments were not tiered out";
  ASSERT_TRUE((*store)->SetConfig("work", "max_pending_age_s", "3600").ok());
  const uint64_t evicted = (*store)->GetStatus().tiering.segments_evicted;
  const uint64_t throttled = (*store)->GetStatus().work.throttled_writes;
  // Writes until one is paused (local bytes plus the memtable past the
  // target plus half of tiering's band), then no more.
  while ((*store)->GetStatus().work.throttled_writes == throttled) {
    ASSERT_LT(next, 3 * 300 + 1000) << "no write was throttled";
    ASSERT_TRUE(put().ok());
  }
  EXPECT_TRUE(WaitUntil([&] { return (*store)->GetStatus().tiering.segments_evicted > evicted; },
                        std::chrono::seconds(30)))
      << "the paused writer did not get the tiering class to evict";
  // Under the throttle again: the next write goes through without a pause.
  const uint64_t throttled_before = (*store)->GetStatus().work.throttled_writes;
  ASSERT_TRUE(put().ok());
  EXPECT_EQ((*store)->GetStatus().work.throttled_writes, throttled_before);
}

TEST(BackgroundTest, PolicyChangesAtRunTime) {
  MemFileSystem fs;
  auto store = OpenStore(FastIdleOptions("threshold"), EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetStatus().work.policy, "threshold");
  ASSERT_TRUE((*store)->SetConfig("work", "policy", "eager").ok());
  EXPECT_EQ((*store)->GetStatus().work.policy, "eager");
  Status s = (*store)->SetConfig("work", "policy", "lazy");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

}  // namespace
}  // namespace ebb
