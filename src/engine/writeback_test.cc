// The writeback class's pick: databases come from a queue ordered by need,
// so flushing many databases costs a probe per database, not a walk of the
// store per memtable.

#include "engine/writeback.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "env/mem_file_system.h"

namespace ebb {
namespace {

// Forwards storage events to the source's queue, as the engine does.
class QueueListener final : public StorageListener {
 public:
  void OnWritesCompleted(DatabaseCore* db, uint64_t, uint64_t) override {
    if (source != nullptr) source->queue()->NoteWrites(db);
  }
  void OnMemtableSwitched(DatabaseCore* db) override {
    if (source != nullptr) source->queue()->NoteSwitched(db);
  }
  WritebackSource* source = nullptr;
};

class WritebackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kNone;
    o.memtable_bytes = 64 << 10;
    auto s = Storage::Open(&fs_, SystemClock(), o, &listener_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
    source_ = std::make_unique<WritebackSource>(storage_.get());
    listener_.source = source_.get();
  }
  void TearDown() override {
    listener_.source = nullptr;
    source_.reset();
    if (storage_) EXPECT_TRUE(storage_->Close().ok());
  }

  std::shared_ptr<DatabaseCore> Db(const std::string& name) {
    auto db = storage_->OpenDatabase(name, true);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return *db;
  }
  static void Put(DatabaseCore* db, const std::string& k, size_t value_bytes) {
    WriteBatch b;
    b.Put(k, std::string(value_bytes, 'v'));
    ASSERT_TRUE(db->Write(WriteOptions(), b).ok());
  }
  // Runs passes of `budget` until nothing is pending (bounded).
  int DrainPasses(uint64_t budget) {
    int passes = 0;
    while (source_->PendingBytes() > 0 && passes < 100000) {
      auto done = source_->DoWork(budget);
      EXPECT_TRUE(done.ok()) << done.status().ToString();
      passes++;
    }
    return passes;
  }

  MemFileSystem fs_;
  QueueListener listener_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<WritebackSource> source_;
};

TEST_F(WritebackTest, TakesWaitingMemtablesFirstThenTheLargest) {
  auto small = Db("small");
  auto big = Db("big");
  auto waiting = Db("waiting");
  Put(small.get(), "k", 10);
  Put(big.get(), "k", 5000);
  Put(waiting.get(), "k", 100);
  ASSERT_TRUE(waiting->SwitchMemtable());
  listener_.OnMemtableSwitched(waiting.get());  // what a write-path switch reports
  auto order = source_->queue()->Take(storage_.get());
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].db, waiting);
  EXPECT_EQ(order[0].immutables, 1u);
  EXPECT_EQ(order[1].db, big);
  EXPECT_EQ(order[2].db, small);
  // Taken means gone until written again; a new write queues it again.
  EXPECT_TRUE(source_->queue()->Take(storage_.get()).empty());
  Put(small.get(), "k2", 10);
  order = source_->queue()->Take(storage_.get());
  ASSERT_EQ(order.size(), 1u);
  EXPECT_EQ(order[0].db, small);
}

TEST_F(WritebackTest, RepeatedWritesQueueADatabaseOnce) {
  auto db = Db("d");
  for (int i = 0; i < 100; i++) Put(db.get(), fmt::format("k{}", i), 10);
  EXPECT_EQ(source_->queue()->size(), 1u);
}

TEST_F(WritebackTest, SkipsDroppedDatabases) {
  auto keep = Db("keep");
  auto drop = Db("drop");
  Put(keep.get(), "k", 10);
  Put(drop.get(), "k", 10);
  ASSERT_TRUE(storage_->DropDatabase("drop").ok());
  auto order = source_->queue()->Take(storage_.get());
  ASSERT_EQ(order.size(), 1u);
  EXPECT_EQ(order[0].db, keep);
}

TEST_F(WritebackTest, FlushingManyDatabasesProbesEachOnce) {
  constexpr int kDbs = 2000;
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  for (int i = 0; i < kDbs; i++) {
    dbs.push_back(Db(fmt::format("db{:05}", i)));
    Put(dbs.back().get(), "key", 100 + static_cast<size_t>(i % 7));
  }
  const uint64_t probes_before = source_->queue()->probes();
  const uint64_t full_scans_before = source_->queue()->full_scans();
  // Budgets of about 50 databases per pass, as idle writeback hands out.
  int passes = DrainPasses(50 * 110);
  EXPECT_EQ(storage_->DirtyBytes(), 0u);
  for (const auto& db : dbs) EXPECT_EQ(db->DirtyBytes(), 0u);
  EXPECT_GE(passes, kDbs / 60);
  // Each database is probed once, when first taken; those a pass does not
  // reach are carried with their probe. A walk of the store per memtable
  // would have looked at kDbs * kDbs databases.
  EXPECT_EQ(source_->queue()->probes() - probes_before, static_cast<uint64_t>(kDbs));
  EXPECT_EQ(source_->queue()->full_scans(), full_scans_before);  // the queue knew every one
}

TEST_F(WritebackTest, UnlimitedPassFlushesEverythingWithOneProbeEach) {
  constexpr int kDbs = 1000;
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  for (int i = 0; i < kDbs; i++) {
    dbs.push_back(Db(fmt::format("db{:05}", i)));
    Put(dbs.back().get(), "key", 100);
  }
  const uint64_t probes_before = source_->queue()->probes();
  EXPECT_EQ(DrainPasses(kUnlimitedWorkBudgetBytes), 1);
  EXPECT_EQ(source_->queue()->probes() - probes_before, static_cast<uint64_t>(kDbs));
}

TEST_F(WritebackTest, FindsMemtableBytesTheQueueMissed) {
  auto db = Db("d");
  Put(db.get(), "k", 100);
  // Lose the queue's record of it (as a write racing a Take could).
  (void)source_->queue()->Take(storage_.get());
  ASSERT_GT(source_->PendingBytes(), 0u);
  const uint64_t full_scans_before = source_->queue()->full_scans();
  EXPECT_EQ(DrainPasses(1 << 20), 1);
  EXPECT_EQ(db->DirtyBytes(), 0u);
  EXPECT_EQ(source_->queue()->full_scans(), full_scans_before + 1);
}

TEST_F(WritebackTest, BudgetLeavesTheRestQueued) {
  auto a = Db("a");
  auto b = Db("b");
  Put(a.get(), "k", 1000);
  Put(b.get(), "k", 500);
  // One memtable per pass at this budget: the larger first.
  auto done = source_->DoWork(1);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(a->DirtyBytes(), 0u);
  EXPECT_GT(b->DirtyBytes(), 0u);
  EXPECT_EQ(source_->queue()->size(), 1u);
  done = source_->DoWork(1);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(b->DirtyBytes(), 0u);
}

}  // namespace
}  // namespace ebb
