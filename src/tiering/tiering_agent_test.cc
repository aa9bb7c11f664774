#include "tiering/tiering_agent.h"

#include <gtest/gtest.h>

#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/tiering_settings.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::FakeHost;
using testing::SegmentContents;

constexpr uint64_t kSegBytes = 50'000;
constexpr uint64_t kBigBudget = uint64_t{1} << 40;

class TieringAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 6; i++) host_.AddSegment(i, kSegBytes, clock_.WallMicros() - int64_t{7200} * 1'000'000);
    host_.AddSegment(7, kSegBytes, clock_.WallMicros());  // too young
  }
  std::unique_ptr<TieringAgent> Open(uint64_t target) {
    TieringOptions o;
    o.enabled = true;
    o.tier_dir = "/data/tier";
    o.local_target_bytes = target;
    o.min_age_s = 3600;
    o.archive_target_bytes = 3 * kSegBytes;
    auto agent = TieringAgent::Open(&fs_, &store_, &host_, &clock_, o);
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return std::move(agent).value();
  }
  void RunUntilIdle(TieringAgent* agent) {
    for (int i = 0; i < 50; i++) {
      TieringWorkResult r = agent->DoWork(kBigBudget);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      if (!r.more_work) return;
    }
    FAIL() << "agent did not settle";
  }

  MemFileSystem fs_;
  ManualClock clock_;
  MemObjectStore store_;
  FakeHost host_{&fs_, "/data/segments"};
};

TEST_F(TieringAgentTest, PersistsColdSegmentsAndEvictsDownToTarget) {
  auto agent = Open(/*target=*/3 * kSegBytes);
  EXPECT_EQ(agent->PendingBytes(), 4 * kSegBytes);
  RunUntilIdle(agent.get());
  for (uint64_t id = 1; id <= 6; id++) EXPECT_TRUE(agent->index().Contains(id)) << id;
  EXPECT_FALSE(agent->index().Contains(7)) << "younger than min_age_s";
  EXPECT_EQ(agent->PendingBytes(), 0u);
  // Coldest first (FakeHost: last access = segment id).
  for (uint64_t id = 1; id <= 4; id++) EXPECT_FALSE(host_.IsLocal(id)) << id;
  EXPECT_TRUE(host_.IsLocal(5));
  EXPECT_TRUE(host_.IsLocal(7));
  TieringStatus st = agent->GetStatus();
  EXPECT_EQ(st.archives, 2u) << "archive_target_bytes splits the work";
  EXPECT_EQ(st.segments_remote, 6u);
  EXPECT_EQ(st.segments_evicted, 4u);
  EXPECT_EQ(st.last_snapshot_state, "done");
  EXPECT_EQ(st.segments_remote, 6u);

  // An evicted segment reads back through the member cache.
  auto h = agent->member_cache()->Acquire(2);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(*ReadFileToString(&fs_, (*h)->path()) == SegmentContents(2, kSegBytes));
}

TEST_F(TieringAgentTest, NeverEvictsBeforeTheRemoteCopyIsVerified) {
  auto agent = Open(/*target=*/0);
  store_.FailNth(ObjectOp::kHead, 1, Status::Unavailable("injected outage"), /*sticky=*/true);
  for (int i = 0; i < 10; i++) (void)agent->DoWork(kBigBudget);
  for (uint64_t id = 1; id <= 7; id++) EXPECT_TRUE(host_.IsLocal(id)) << id;
  EXPECT_EQ(agent->index().segment_count(), 0u);
  EXPECT_GT(agent->GetStatus().errors, 0u);
  // The evicter itself refuses unverified candidates.
  Evicter evicter(&agent->index(), &host_);
  EvictionResult r = evicter.Evict({{.segment_id = 1, .size_bytes = kSegBytes, .last_access_micros = 0}}, kSegBytes);
  EXPECT_TRUE(r.evicted.empty());
  EXPECT_EQ(r.refused_unverified, (std::vector<uint64_t>{1}));
  store_.ClearFaults();
  RunUntilIdle(agent.get());
  EXPECT_FALSE(host_.IsLocal(1));
}

TEST_F(TieringAgentTest, DroppedDatabasesBecomeTombstones) {
  host_.AddSegment(20, kSegBytes, clock_.WallMicros() - int64_t{7200} * 1'000'000, "doomed");
  auto agent = Open(UINT64_MAX);
  RunUntilIdle(agent.get());
  ASSERT_TRUE(agent->index().Contains(20));
  host_.DropDatabase("doomed", 1'000'000);
  RunUntilIdle(agent.get());
  EXPECT_FALSE(agent->index().Contains(20));
  EXPECT_TRUE(agent->index().HasTombstone({"doomed", 1'000'000}));
  // A fresh agent without its index rebuilds the same one from the archives.
  TierIndex before = agent->index();
  agent.reset();
  ASSERT_TRUE(fs_.DeleteFile("/data/tier/tier.index").ok());
  agent = Open(UINT64_MAX);
  EXPECT_TRUE(agent->index() == before);
}

TEST_F(TieringAgentTest, NoWorkWhenNothingIsColdOrOverTarget) {
  auto agent = Open(UINT64_MAX);
  RunUntilIdle(agent.get());
  uint64_t puts = store_.calls(ObjectOp::kPut);
  TieringWorkResult r = agent->DoWork(kBigBudget);
  EXPECT_FALSE(r.more_work);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(store_.calls(ObjectOp::kPut), puts);
}

TEST(TieringSettingsTest, RegisteredWithDefaults) {
  auto schema = std::make_shared<ConfigSchema>();
  RegisterTieringSettings(schema.get());
  Config config(schema);
  EXPECT_FALSE(config.GetBool("tiering", "enabled"));
  EXPECT_EQ(config.GetString("tiering", "store"), "local");
  TieringOptions o = TieringOptionsFromConfig(config, "/data");
  EXPECT_EQ(o.tier_dir, "/data/tier");
  EXPECT_EQ(o.key_file, "/data/tier/archive.key");
  EXPECT_EQ(o.archive_target_bytes, 256u << 20);
  ASSERT_TRUE(config.Set("tiering", "local_target_bytes", "10GiB", /*at_runtime=*/true).ok());
  EXPECT_FALSE(config.Set("tiering", "store", "s3", /*at_runtime=*/true).ok()) << "needs a restart";
  MemFileSystem fs;
  auto store = OpenTierObjectStore(config, &fs, "/data");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Describe(), "local:/data/tier-store");
}

}  // namespace
}  // namespace ebb
