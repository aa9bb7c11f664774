// The journal's batch syncer, driven with a ManualClock: how many syncs a
// trickle of writes and a run of writes cost.

#include "storage/journal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "env/clock.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"
#include "env/power_loss_file_system.h"

namespace ebb {
namespace {

constexpr int64_t kIntervalMicros = 100'000;

class JournalSyncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JournalOptions o;
    o.sync = SyncMode::kBatch;
    o.sync_interval_ms = kIntervalMicros / 1000;
    o.mmap_writes = false;
    auto j = Journal::Open(file_system(), &clock_, "/j", o, 1, [this] { return next_file_++; });
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    base_syncs_ = journal_->stats().syncs;  // creating the first file synced it
  }

  void Write(bool caller_syncs = false) {
    JournalRequest r;
    r.db_id = 1;
    r.first_seq = ++seq_;
    r.batch_rep = "a write batch";
    r.caller_syncs = caller_syncs;
    ASSERT_TRUE(journal_->Submit(&r).ok());
    ASSERT_TRUE(journal_->AwaitCommit(&r).ok());
  }

  // The file system the journal writes to.
  virtual FileSystem* file_system() { return &fs_; }

  uint64_t Syncs() { return journal_->stats().syncs - base_syncs_; }

  // Waits (bounded in real time) until the syncer has made `n` syncs.
  bool WaitForSyncs(uint64_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (Syncs() < n) {
      if (std::chrono::steady_clock::now() >= give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  PowerLossFileSystem fs_;  // UnsyncedBytes: what a power cut would lose
  ManualClock clock_{10'000'000};
  std::unique_ptr<Journal> journal_;
  uint64_t next_file_ = 2;
  uint64_t base_syncs_ = 0;
  SequenceNumber seq_ = 0;
};

TEST_F(JournalSyncerTest, LoneWriteIsSyncedAtOnceWithoutWaitingForATimer) {
  Write();
  // The manual clock does not move: a syncer that armed a timer for the
  // interval would never sync.
  ASSERT_TRUE(WaitForSyncs(1));
  // A trickle: one write per 2 s, one sync each, each at once.
  for (uint64_t i = 2; i <= 5; i++) {
    clock_.AdvanceSeconds(2);
    Write();
    ASSERT_TRUE(WaitForSyncs(i)) << "write " << i;
  }
  EXPECT_EQ(Syncs(), 5u);
}

TEST_F(JournalSyncerTest, WritesWithinAnIntervalOfTheLastSyncShareTheNextOne) {
  Write();
  ASSERT_TRUE(WaitForSyncs(1));
  // Three writes right after the sync: none is synced before the interval
  // since the last sync has passed, and then one sync covers all three.
  Write();
  clock_.Advance(kIntervalMicros / 4);
  Write();
  clock_.Advance(kIntervalMicros / 4);
  Write();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the syncer polls the manual clock every 1 ms
  EXPECT_EQ(Syncs(), 1u);
  clock_.Advance(kIntervalMicros / 2);
  ASSERT_TRUE(WaitForSyncs(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 2u) << "one sync covers every write before it";
  // Nothing unsynced: however much time passes, no more syncs.
  clock_.AdvanceSeconds(60);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 2u);
}

// A writer that syncs itself (a server's I/O thread): the write that would
// have woken the syncer to sync at once leaves the sync to its writer, and
// one thread makes both.
TEST_F(JournalSyncerTest, ACallerSyncsWriteLeavesTheDueSyncToItsWriter) {
  Write(/*caller_syncs=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 0u) << "the syncer was woken for a sync its writer owes";
  EXPECT_GT(fs_.UnsyncedBytes(), 0u);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 1u) << "SyncOwed syncs on the caller's thread before it returns";
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
  // Nothing owed any more: a second call does nothing.
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 1u);
  // The next lone write, an interval later, is owed the same way.
  clock_.AdvanceSeconds(2);
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 2u) << "the syncer synced a second time";
}

TEST_F(JournalSyncerTest, WritesBeforeTheOwedSyncAreCoveredByIt) {
  Write(true);
  Write(false);  // finds bytes unsynced: starts nothing, rides on the owed sync
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 0u);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 1u);
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u) << "one sync covered both writes";
  clock_.AdvanceSeconds(60);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 1u);
}

TEST_F(JournalSyncerTest, ACallerSyncsWriteWithinTheIntervalStaysWithTheSyncer) {
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  ASSERT_EQ(Syncs(), 1u);
  // Right after a sync the next one is not due: the syncer keeps the
  // interval (the writer is owed nothing and its call does nothing).
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 1u);
  EXPECT_GT(fs_.UnsyncedBytes(), 0u);
  clock_.Advance(kIntervalMicros);
  ASSERT_TRUE(WaitForSyncs(2));
}

TEST_F(JournalSyncerTest, AGroupWithAWriterThatDoesNotSyncWakesTheSyncer) {
  Write(false);
  ASSERT_TRUE(WaitForSyncs(1));
  ASSERT_TRUE(journal_->SyncOwed().ok());  // nothing owed
  EXPECT_EQ(Syncs(), 1u);
}

TEST_F(JournalSyncerTest, CloseSyncsWhatAWriterOwed) {
  Write(true);
  EXPECT_GT(fs_.UnsyncedBytes(), 0u);
  ASSERT_TRUE(journal_->Close().ok());
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
  EXPECT_TRUE(journal_->SyncOwed().ok()) << "after close there is nothing to owe";
}

// Where the file can start a sync without waiting for the disk (the POSIX
// file system's native AIO; here FaultInjectionFileSystem's held syncs), the
// owed sync is started by SyncOwed and settled by whoever comes next.
class JournalStartedSyncTest : public JournalSyncerTest {
 protected:
  FileSystem* file_system() override { return &faults_; }
  void TearDown() override { journal_.reset(); }  // before faults_, which its files use

  FaultInjectionFileSystem faults_{&fs_};
};

TEST_F(JournalStartedSyncTest, TheOwedSyncStartsWithoutWaitingAndTheNextWriteSettlesIt) {
  faults_.HoldStartedSyncs();  // the disk is slow: the sync runs until released
  Write(/*caller_syncs=*/true);
  ASSERT_TRUE(journal_->SyncOwed().ok()) << "returns while the sync runs";
  EXPECT_EQ(faults_.started_syncs(), 1u);
  EXPECT_EQ(Syncs(), 0u) << "not settled yet";
  EXPECT_GT(fs_.UnsyncedBytes(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 0u) << "the syncer made a sync the started one covers";
  faults_.ReleaseStartedSyncs();
  // The next lone write settles it (one sync), then owes and starts its own.
  clock_.AdvanceSeconds(2);
  Write(true);
  EXPECT_EQ(Syncs(), 1u);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  EXPECT_EQ(Syncs(), 2u) << "not held: the file starts nothing and SyncOwed syncs itself";
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
}

TEST_F(JournalStartedSyncTest, TheSyncerStartsItsSyncAndGoesBackToSleep) {
  const uint64_t file_syncs = faults_.syncs();  // creating the file synced it
  faults_.HoldStartedSyncs();
  Write(/*caller_syncs=*/false);  // wakes the syncer, due at once
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (faults_.started_syncs() < 1 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(faults_.started_syncs(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 0u) << "the syncer waited for its sync instead of sleeping";
  EXPECT_EQ(faults_.syncs(), file_syncs) << "no sync ran while held";
  faults_.ReleaseStartedSyncs();
  clock_.AdvanceSeconds(2);
  Write(false);  // settles it, then wakes the syncer for its own bytes
  EXPECT_GE(Syncs(), 1u);
  ASSERT_TRUE(WaitForSyncs(2));
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
}

TEST_F(JournalStartedSyncTest, AWriteWhileTheStartedSyncRunsIsLeftToTheSyncerWhichWaitsForItFirst) {
  faults_.HoldStartedSyncs();
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  Write(false);  // after the started sync began: not covered by it
  clock_.Advance(kIntervalMicros);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Syncs(), 0u) << "the syncer synced while the started sync ran";
  faults_.ReleaseStartedSyncs();
  ASSERT_TRUE(WaitForSyncs(2)) << "the started sync, then the syncer's";
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
}

TEST_F(JournalStartedSyncTest, AFailedStartedSyncMakesTheStoreReadOnlyBeforeTheNextWriteLands) {
  faults_.HoldStartedSyncs();
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  faults_.FailNth(FaultOp::kSync, 1, Status::IOError("fdatasync /j/000001.log: Input/output error (injected)"));
  faults_.ReleaseStartedSyncs();
  clock_.AdvanceSeconds(2);
  JournalRequest r;
  r.db_id = 1;
  r.first_seq = ++seq_;
  r.batch_rep = "a write batch";
  ASSERT_TRUE(journal_->Submit(&r).ok());
  Status s = journal_->AwaitCommit(&r);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("journal sync of"), std::string::npos) << s.ToString();
  EXPECT_NE(journal_->error().message().find("Input/output error (injected)"), std::string::npos)
      << journal_->error().ToString();
  JournalRequest later;
  later.db_id = 1;
  later.first_seq = ++seq_;
  later.batch_rep = "refused";
  EXPECT_TRUE(journal_->Submit(&later).IsReadOnly());
}

TEST_F(JournalStartedSyncTest, SyncNowAndCloseWaitForTheStartedSync) {
  faults_.HoldStartedSyncs();
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  auto sync_now = std::async(std::launch::async, [this] { return journal_->SyncNow(); });
  EXPECT_EQ(sync_now.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "SyncNow did not wait for the started sync";
  faults_.ReleaseStartedSyncs();
  ASSERT_TRUE(sync_now.get().ok());
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);

  faults_.HoldStartedSyncs();
  clock_.AdvanceSeconds(2);
  Write(true);
  ASSERT_TRUE(journal_->SyncOwed().ok());
  auto close = std::async(std::launch::async, [this] { return journal_->Close(); });
  EXPECT_EQ(close.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "Close did not wait for the started sync";
  faults_.ReleaseStartedSyncs();
  ASSERT_TRUE(close.get().ok());
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
}

// Only batch mode has a due sync to hand over: with none there is no sync,
// with always the write itself syncs.
TEST(JournalCallerSyncsTest, OtherModesOweNothing) {
  for (SyncMode mode : {SyncMode::kNone, SyncMode::kAlways}) {
    MemFileSystem fs;
    ManualClock clock{10'000'000};
    JournalOptions o;
    o.sync = mode;
    o.mmap_writes = false;
    uint64_t next_file = 2;
    auto j = Journal::Open(&fs, &clock, "/j", o, 1, [&] { return next_file++; });
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    const uint64_t base = (*j)->stats().syncs;
    JournalRequest r;
    r.db_id = 1;
    r.first_seq = 1;
    r.batch_rep = "a write batch";
    r.caller_syncs = true;
    ASSERT_TRUE((*j)->Submit(&r).ok());
    ASSERT_TRUE((*j)->AwaitCommit(&r).ok());
    const uint64_t after_write = (*j)->stats().syncs - base;
    EXPECT_EQ(after_write, mode == SyncMode::kAlways ? 1u : 0u);
    ASSERT_TRUE((*j)->SyncOwed().ok());
    EXPECT_EQ((*j)->stats().syncs - base, after_write) << "SyncOwed synced in a mode that owes nothing";
  }
}

}  // namespace
}  // namespace ebb
