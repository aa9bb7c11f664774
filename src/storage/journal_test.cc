// The journal's batch syncer, driven with a ManualClock: how many syncs a
// trickle of writes and a run of writes cost.

#include "storage/journal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "env/clock.h"
#include "env/mem_file_system.h"

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
    auto j = Journal::Open(&fs_, &clock_, "/j", o, 1, [this] { return next_file_++; });
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    base_syncs_ = journal_->stats().syncs;  // creating the first file synced it
  }

  void Write() {
    JournalRequest r;
    r.db_id = 1;
    r.first_seq = ++seq_;
    r.batch_rep = "a write batch";
    ASSERT_TRUE(journal_->Submit(&r).ok());
    ASSERT_TRUE(journal_->AwaitCommit(&r).ok());
  }

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

  MemFileSystem fs_;
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

}  // namespace
}  // namespace ebb
