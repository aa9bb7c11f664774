#include "tiering/snapshot_log.h"

#include <gtest/gtest.h>

#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

SnapshotRecord Rec(SnapshotEvent e, std::vector<uint64_t> ids = {}) {
  SnapshotRecord r;
  r.event = e;
  r.wall_micros = 1000 + static_cast<int64_t>(e);
  r.epoch = 3;
  r.archive = "01ARCHIVE";
  r.archive_bytes = e >= SnapshotEvent::kArchived ? 4096 : 0;
  r.segment_ids = std::move(ids);
  if (e == SnapshotEvent::kStarted) r.tombstones = {{"dropped", 77}};
  return r;
}

class SnapshotLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/s").ok()); }
  std::string WriteLog(const std::vector<SnapshotRecord>& records) {
    auto w = SnapshotLogWriter::Open(&fs_, path_);
    EXPECT_TRUE(w.ok());
    for (const auto& r : records) EXPECT_TRUE((*w)->Append(r).ok());
    return *ReadFileToString(&fs_, path_);
  }
  MemFileSystem fs_;
  std::string path_ = "/s/01SNAP.log";
};

TEST_F(SnapshotLogTest, ReplaysToTheCurrentState) {
  WriteLog({Rec(SnapshotEvent::kStarted, {4, 5}), Rec(SnapshotEvent::kArchived), Rec(SnapshotEvent::kUploaded)});
  auto state = ParseSnapshotLog(&fs_, path_);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->snapshot_id, "01SNAP");
  EXPECT_EQ(state->state, SnapshotEvent::kUploaded);
  EXPECT_EQ(state->segment_ids, (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(state->tombstones, (std::vector<DatabaseTombstone>{{"dropped", 77}}));
  EXPECT_EQ(state->archive_bytes, 4096u);
  EXPECT_EQ(state->epoch, 3u);
  EXPECT_FALSE(state->torn_tail);
  EXPECT_FALSE(state->finished());
  // Appending later resumes the same file.
  WriteLog({Rec(SnapshotEvent::kVerified), Rec(SnapshotEvent::kIndexed), Rec(SnapshotEvent::kPublished),
            Rec(SnapshotEvent::kDone), Rec(SnapshotEvent::kEvicting, {4})});
  state = ParseSnapshotLog(&fs_, path_);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->state, SnapshotEvent::kDone) << "eviction bookkeeping does not reopen a snapshot";
  EXPECT_EQ(state->evicted_segment_ids, (std::vector<uint64_t>{4}));
  EXPECT_EQ(state->records, 8u);
}

TEST_F(SnapshotLogTest, TornTailIsIgnoredAtEveryCut) {
  std::string full = WriteLog({Rec(SnapshotEvent::kStarted, {1}), Rec(SnapshotEvent::kArchived),
                               Rec(SnapshotEvent::kUploaded)});
  auto whole = ParseSnapshotLogBytes(full, path_);
  ASSERT_TRUE(whole.ok());
  size_t first_record_end = 0;
  for (size_t cut = 1; cut < full.size(); cut++) {
    SCOPED_TRACE(cut);
    auto state = ParseSnapshotLogBytes(full.substr(0, cut), path_);
    if (!state.ok()) {
      // Only a cut inside the very first record leaves nothing to parse.
      EXPECT_TRUE(state.status().IsNotFound()) << state.status().ToString();
      EXPECT_EQ(first_record_end, 0u);
      continue;
    }
    if (first_record_end == 0) first_record_end = cut;
    EXPECT_LE(state->state, SnapshotEvent::kUploaded);
    EXPECT_GE(state->state, SnapshotEvent::kStarted);
  }
  // A garbage last record (bad checksum) is treated as torn as well.
  std::string garbled = full;
  garbled[garbled.size() - 3] ^= 0x40;
  auto state = ParseSnapshotLogBytes(garbled, path_);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->torn_tail);
  EXPECT_EQ(state->state, SnapshotEvent::kArchived);
}

TEST_F(SnapshotLogTest, MidFileCorruptionNamesFileAndOffset) {
  std::string full = WriteLog({Rec(SnapshotEvent::kStarted, {1}), Rec(SnapshotEvent::kArchived),
                               Rec(SnapshotEvent::kUploaded)});
  std::string bad = full;
  bad[12] ^= 1;  // inside the first record's body
  Status s = ParseSnapshotLogBytes(bad, path_).status();
  ASSERT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find(path_), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("offset 0"), std::string::npos) << s.ToString();
}

// A writer resuming after a crash cuts the torn tail off first; otherwise
// the next record would follow garbage and the log would read as damaged in
// the middle (and the snapshot be abandoned with its archive uploaded).
TEST_F(SnapshotLogTest, ResumingAfterATornTailCutsItOff) {
  std::string full = WriteLog({Rec(SnapshotEvent::kStarted, {1}), Rec(SnapshotEvent::kArchived),
                               Rec(SnapshotEvent::kUploaded)});
  for (size_t keep : {full.size() - 1, full.size() - 7, full.size() - 20}) {
    SCOPED_TRACE(keep);
    ASSERT_TRUE(WriteStringToFile(&fs_, full.substr(0, keep), path_, true).ok());
    auto torn = ParseSnapshotLog(&fs_, path_);
    ASSERT_TRUE(torn.ok());
    ASSERT_TRUE(torn->torn_tail);
    EXPECT_EQ(torn->state, SnapshotEvent::kArchived);
    auto w = SnapshotLogWriter::Open(&fs_, path_, torn->valid_bytes);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Rec(SnapshotEvent::kUploaded)).ok());
    ASSERT_TRUE((*w)->Append(Rec(SnapshotEvent::kVerified)).ok());
    w->reset();
    auto resumed = ParseSnapshotLog(&fs_, path_);
    ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
    EXPECT_FALSE(resumed->torn_tail);
    EXPECT_EQ(resumed->state, SnapshotEvent::kVerified);
    EXPECT_EQ(resumed->records, 4u);
    // Without the cut, the same appends leave damage mid-file.
    ASSERT_TRUE(WriteStringToFile(&fs_, full.substr(0, keep), path_, true).ok());
    auto uncut = SnapshotLogWriter::Open(&fs_, path_);
    ASSERT_TRUE((*uncut)->Append(Rec(SnapshotEvent::kUploaded)).ok());
    ASSERT_TRUE((*uncut)->Append(Rec(SnapshotEvent::kVerified)).ok());
    uncut->reset();
    auto damaged = ParseSnapshotLog(&fs_, path_);
    EXPECT_FALSE(damaged.ok() && damaged->state == SnapshotEvent::kVerified && !damaged->torn_tail);
  }
}

TEST_F(SnapshotLogTest, FailedTruncationOfATornTailIsAnErrorNamingTheLog) {
  std::string full = WriteLog({Rec(SnapshotEvent::kStarted, {1}), Rec(SnapshotEvent::kArchived)});
  ASSERT_TRUE(WriteStringToFile(&fs_, full.substr(0, full.size() - 3), path_, true).ok());
  auto torn = ParseSnapshotLog(&fs_, path_);
  ASSERT_TRUE(torn.ok());
  FaultInjectionFileSystem faulty(&fs_);
  faulty.FailNth(FaultOp::kTruncate, 1, Status::IOError("injected"));
  auto w = SnapshotLogWriter::Open(&faulty, path_, torn->valid_bytes);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find(path_), std::string::npos) << w.status().ToString();
  EXPECT_NE(w.status().message().find("torn tail"), std::string::npos) << w.status().ToString();
  // Nothing was appended after the tail: the log still parses to the same state.
  auto again = ParseSnapshotLog(&fs_, path_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, torn->state);
}

}  // namespace
}  // namespace ebb
