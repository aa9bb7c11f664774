// The write path in both completion modes (write.completion): op_lock
// acknowledges without the database lock and completes in order under the
// in-flight queue's own lock; db_lock holds the database lock from submit to
// completion. Both must give read-your-writes and prefix-consistent
// snapshots; op_lock must take the database lock once per write only, and a
// drop must cancel the writes still in flight.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/sync_point.h"
#include "env/mem_file_system.h"
#include "storage/storage.h"

namespace ebb {
namespace {

class WritePathTest : public ::testing::TestWithParam<WriteCompletion> {
 protected:
  void SetUp() override {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kNone;
    o.completion = GetParam();
    o.memtable_bytes = 256 << 10;
    auto s = Storage::Open(&fs_, SystemClock(), o, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
  }
  void TearDown() override { sync_point::ClearAll(); }
  static Status Put(DatabaseCore* db, std::string_view k, std::string_view v) {
    WriteBatch b;
    b.Put(k, v);
    return db->Write(WriteOptions(), b);
  }
  MemFileSystem fs_;
  std::unique_ptr<Storage> storage_;
};

// Writers read their own write back at once; a reader's snapshots always
// see, per writer, a prefix of its writes.
TEST_P(WritePathTest, ReadYourWritesAndPrefixSnapshotsUnderConcurrency) {
  auto db = *storage_->OpenDatabase("d", true);
  constexpr int kWriters = 6, kWrites = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto snap = db->GetSnapshot();
      ReadOptions ro;
      ro.snapshot = snap;
      for (int t = 0; t < kWriters; t++) {
        // Binary-search-free check: once a key is absent, later ones are too.
        bool gap = false;
        for (int i = 0; i < kWrites; i += 97) {
          std::string v;
          bool present = db->Get(ro, fmt::format("w{}-{:05}", t, i), &v).ok();
          if (present && gap) failures++;
          if (!present) gap = true;
        }
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; t++) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites; i++) {
        const std::string key = fmt::format("w{}-{:05}", t, i);
        if (!Put(db.get(), key, "v").ok()) failures++;
        std::string v;
        if (!db->Get(ReadOptions(), key, &v).ok()) failures++;  // read-your-writes
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  DatabaseStats st = db->GetStats();
  EXPECT_EQ(st.update_seq, uint64_t{kWriters} * kWrites);
}

// op_lock takes the database lock to submit and never to complete; db_lock
// takes it once per write too, but holds it through the journal commit.
TEST_P(WritePathTest, DatabaseLockAcquisitionsPerWrite) {
  auto db = *storage_->OpenDatabase("d", true);
  constexpr int kThreads = 8, kWrites = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; i++) ASSERT_TRUE(Put(db.get(), fmt::format("{}-{}", t, i), "v").ok());
    });
  }
  for (auto& th : threads) th.join();
  DatabaseStats st = db->GetStats();
  const uint64_t writes = uint64_t{kThreads} * kWrites;
  EXPECT_EQ(st.lock_acquisitions, writes) << "one acquisition per write, none for completion";
  EXPECT_EQ(st.completion_items, writes);
  if (GetParam() == WriteCompletion::kOpLock) {
    EXPECT_GT(st.completion_passes, 0u);
    EXPECT_LE(st.completion_passes, writes);
  }
}

// A drop does not wait for the writes in flight: they return the drop's
// status at once (op_lock; under db_lock the drop waits for the lock holder).
TEST_P(WritePathTest, DropCancelsTheWritesInFlight) {
  if (GetParam() != WriteCompletion::kOpLock) GTEST_SKIP() << "db_lock writers hold the lock the drop needs";
  auto db = *storage_->OpenDatabase("d", true);
  std::promise<void> writing, release;
  std::shared_future<void> released = release.get_future().share();
  bool held = false;
  sync_point::Set("Journal::WriteGroup:start", [&] {
    if (held) return;
    held = true;
    writing.set_value();
    released.wait();  // the journal write is stuck (a slow disk)
  });
  auto write = std::async(std::launch::async, [&] { return Put(db.get(), "k", "v"); });
  writing.get_future().wait();
  // The write is submitted and applied, its journal commit stuck.
  Status dropped = storage_->DropDatabase("d");
  EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  release.set_value();
  Status s = write.get();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("dropped while the write was in flight"), std::string::npos) << s.ToString();
  EXPECT_EQ(storage_->DirtyBytes(), 0u) << "nothing of the dropped database stays counted";
}

INSTANTIATE_TEST_SUITE_P(Completion, WritePathTest,
                         ::testing::Values(WriteCompletion::kOpLock, WriteCompletion::kDbLock),
                         [](const auto& info) {
                           return std::string(info.param == WriteCompletion::kOpLock ? "op_lock" : "db_lock");
                         });

}  // namespace
}  // namespace ebb
