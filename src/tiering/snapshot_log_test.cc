#include "tiering/snapshot_log.h"

#include <gtest/gtest.h>

#include "env/mem_file_system.h"
#include "env/mem_object_store.h"

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

TEST(EpochTest, AdvanceAndFence) {
  MemFileSystem fs;
  MemObjectStore store;
  auto e1 = AdvanceEpoch(&fs, "/EPOCH", &store);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(*e1, 1u);
  EXPECT_TRUE(CheckEpoch(&store, *e1).ok());
  // A second agent (another machine: its own local file) starts on the same store.
  MemFileSystem other_fs;
  auto e2 = AdvanceEpoch(&other_fs, "/EPOCH", &store);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(*e2, 2u) << "the remote epoch counts";
  Status fenced = CheckEpoch(&store, *e1);
  EXPECT_TRUE(fenced.IsAborted());
  EXPECT_NE(fenced.message().find("fenced"), std::string::npos) << fenced.ToString();
  EXPECT_TRUE(CheckEpoch(&store, *e2).ok());
  // Restarting the first agent moves past both.
  EXPECT_EQ(*AdvanceEpoch(&fs, "/EPOCH", &store), 3u);
}

}  // namespace
}  // namespace ebb
