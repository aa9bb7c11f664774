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
  TieringOptions Options(uint64_t target) {
    TieringOptions o;
    o.enabled = true;
    o.tier_dir = "/data/tier";
    o.local_target_bytes = target;
    o.min_age_s = 3600;
    o.archive_target_bytes = 3 * kSegBytes;
    o.recall = false;
    o.open_timeout_ms = 200;
    return o;
  }
  std::unique_ptr<TieringAgent> Open(uint64_t target) { return Open(Options(target)); }
  std::unique_ptr<TieringAgent> Open(TieringOptions o) {
    auto agent = TieringAgent::Open(&fs_, &store_, &host_, &clock_, o);
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }
  SegmentKey Key(uint64_t id) { return host_.KeyOfSegment(id); }
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
  for (uint64_t id = 1; id <= 6; id++) EXPECT_TRUE(agent->index().Contains(Key(id))) << id;
  EXPECT_FALSE(agent->index().Contains(Key(7))) << "younger than min_age_s";
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

  EXPECT_EQ(st.object_store, "connected");
  EXPECT_NE(st.fencing.find("conditional"), std::string::npos) << st.fencing;
  // The evictions are in the snapshot logs of the archives that hold them.
  int evicting_records = 0;
  auto logs = fs_.GetChildren("/data/tier/snapshots");
  ASSERT_TRUE(logs.ok());
  for (const auto& name : *logs) {
    auto log = ParseSnapshotLog(&fs_, "/data/tier/snapshots/" + name);
    ASSERT_TRUE(log.ok());
    evicting_records += static_cast<int>(log->evicted_segment_ids.size());
  }
  EXPECT_EQ(evicting_records, 4);
  // The newest archive's catalog describes every archived segment.
  auto catalog = agent->index().latest_catalog();
  ASSERT_TRUE(catalog.has_value());
  ASSERT_EQ(catalog->second.databases.size(), 1u);
  EXPECT_EQ(catalog->second.databases[0].segments.size(), 6u);

  // An evicted segment reads back through the member cache.
  auto h = agent->member_cache()->Acquire(Key(2));
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
  EvictionResult r = evicter.Evict({{.key = Key(1), .size_bytes = kSegBytes, .last_access_micros = 0}}, kSegBytes);
  EXPECT_TRUE(r.evicted.empty());
  EXPECT_EQ(r.refused_unverified, (std::vector<SegmentKey>{Key(1)}));
  store_.ClearFaults();
  RunUntilIdle(agent.get());
  EXPECT_FALSE(host_.IsLocal(1));
}

TEST_F(TieringAgentTest, DroppedDatabasesBecomeTombstones) {
  host_.AddSegment(20, kSegBytes, clock_.WallMicros() - int64_t{7200} * 1'000'000, "doomed");
  auto agent = Open(UINT64_MAX);
  RunUntilIdle(agent.get());
  SegmentKey doomed = Key(20);
  ASSERT_TRUE(agent->index().Contains(doomed));
  host_.DropDatabase("doomed", 1'000'000);
  RunUntilIdle(agent.get());
  EXPECT_FALSE(agent->index().Contains(doomed));
  EXPECT_TRUE(agent->index().HasTombstone({"doomed", 1'000'000}));
  // A fresh agent without its index rebuilds the same one from the archives.
  TierIndex before = agent->index();
  agent.reset();
  ASSERT_TRUE(fs_.DeleteFile("/data/tier/tier.index").ok());
  agent = Open(UINT64_MAX);
  EXPECT_TRUE(agent->index() == before);
  // The newest catalog has no "doomed" database.
  auto catalog = agent->index().latest_catalog();
  ASSERT_TRUE(catalog.has_value());
  for (const auto& db : catalog->second.databases) EXPECT_NE(db.name, "doomed");
}

// The object store is down at open: the agent opens (the store serves its
// local data), says so, and connects once the store is back.
TEST_F(TieringAgentTest, OpensWithTheObjectStoreDownAndRetriesWithBackoff) {
  store_.FailNth(ObjectOp::kGet, 1, Status::Unavailable("injected outage"), /*sticky=*/true);
  store_.FailNth(ObjectOp::kList, 1, Status::Unavailable("injected outage"), /*sticky=*/true);
  auto agent = Open(3 * kSegBytes);
  ASSERT_NE(agent, nullptr);
  EXPECT_FALSE(agent->connected());
  TieringStatus st = agent->GetStatus();
  EXPECT_EQ(st.object_store, "unreachable");
  EXPECT_NE(st.object_store_error.find("injected outage"), std::string::npos) << st.object_store_error;
  EXPECT_EQ(agent->PendingBytes(), 0u) << "nothing to do without the store";
  ASSERT_TRUE(agent->NextConnectMicros().has_value());
  EXPECT_EQ(*agent->NextConnectMicros(), clock_.NowMicros() + kReconnectMinMicros);
  // Not due yet: DoWork makes no request.
  uint64_t gets = store_.calls(ObjectOp::kGet);
  EXPECT_FALSE(agent->DoWork(kBigBudget).more_work);
  EXPECT_EQ(store_.calls(ObjectOp::kGet), gets);
  // Due, still down: the next attempt is twice as far.
  clock_.AdvanceMillis(kReconnectMinMicros / 1000);
  EXPECT_FALSE(agent->DoWork(kBigBudget).status.ok());
  EXPECT_EQ(*agent->NextConnectMicros(), clock_.NowMicros() + 2 * kReconnectMinMicros);
  for (uint64_t id = 1; id <= 7; id++) EXPECT_TRUE(host_.IsLocal(id)) << "nothing evicted while unreachable";
  // Back: the agent connects and catches up.
  store_.ClearFaults();
  clock_.AdvanceMillis(2 * kReconnectMinMicros / 1000);
  RunUntilIdle(agent.get());
  EXPECT_TRUE(agent->connected());
  EXPECT_EQ(agent->GetStatus().object_store, "connected");
  EXPECT_FALSE(host_.IsLocal(1));
}

// The tier index was lost while the store is down: it is rebuilt once the
// store answers; until then reads of evicted segments find nothing to read.
TEST_F(TieringAgentTest, AMissingIndexWaitsForTheObjectStore) {
  {
    auto agent = Open(3 * kSegBytes);
    RunUntilIdle(agent.get());
  }
  TierIndex before = *TierIndex::Load(&fs_, "/data/tier/tier.index");
  ASSERT_TRUE(fs_.DeleteFile("/data/tier/tier.index").ok());
  store_.FailNth(ObjectOp::kGet, 1, Status::Unavailable("injected outage"), /*sticky=*/true);
  auto agent = Open(3 * kSegBytes);
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(agent->GetStatus().index_rebuild_pending);
  EXPECT_EQ(agent->index().segment_count(), 0u);
  store_.ClearFaults();
  clock_.AdvanceMillis(kReconnectMinMicros / 1000);
  (void)agent->DoWork(kBigBudget);
  EXPECT_TRUE(agent->connected());
  EXPECT_TRUE(agent->index() == before);
  EXPECT_FALSE(agent->GetStatus().index_rebuild_pending);
}

// A lost key file is never replaced by a new key while archives exist.
TEST_F(TieringAgentTest, ALostKeyFileIsAnErrorNotANewKey) {
  {
    auto agent = Open(3 * kSegBytes);
    RunUntilIdle(agent.get());
  }
  ASSERT_TRUE(fs_.DeleteFile("/data/tier/archive.key").ok());
  auto agent = TieringAgent::Open(&fs_, &store_, &host_, &clock_, Options(3 * kSegBytes));
  ASSERT_FALSE(agent.ok());
  EXPECT_TRUE(agent.status().IsPermissionDenied()) << agent.status().ToString();
  EXPECT_NE(agent.status().message().find("/data/tier/archive.key"), std::string::npos);
  EXPECT_FALSE(fs_.FileExists("/data/tier/archive.key"));
  // Even with every local trace gone (a new machine), the bucket refuses.
  ASSERT_TRUE(DeleteRecursively(&fs_, "/data/tier").ok());
  agent = TieringAgent::Open(&fs_, &store_, &host_, &clock_, Options(3 * kSegBytes));
  ASSERT_FALSE(agent.ok());
  EXPECT_TRUE(agent.status().IsPermissionDenied()) << agent.status().ToString();
  EXPECT_NE(agent.status().message().find("key id"), std::string::npos) << agent.status().ToString();
  EXPECT_FALSE(fs_.FileExists("/data/tier/archive.key"));
}

TEST_F(TieringAgentTest, RecallsWhenThereIsRoomHottestFirstAndStopsAtTheDiskLimit) {
  {
    auto agent = Open(3 * kSegBytes);
    RunUntilIdle(agent.get());
    for (uint64_t id = 1; id <= 4; id++) ASSERT_FALSE(host_.IsLocal(id));
  }
  // The target is raised: 90% of it is 8 segments (6 local + 2 incoming).
  TieringOptions o = Options(9 * kSegBytes);
  o.recall = true;
  host_.Touch(3, 1'000'000);  // the hottest evicted segment
  host_.SetFreeSpace(2 * kSegBytes + kRecallFreeSpaceReserveBytes);
  auto agent = Open(o);
  (void)agent->DoWork(kBigBudget);
  EXPECT_TRUE(host_.IsLocal(3)) << "hottest first";
  EXPECT_EQ(host_.recalled(), 1) << "the disk has room for one";
  EXPECT_TRUE(agent->recall_stalled());
  EXPECT_NE(agent->GetStatus().last_error.find("NoSpace"), std::string::npos) << agent->GetStatus().last_error;
  // Space freed and the setting touched: recall resumes, up to 90% of the target.
  host_.SetFreeSpace(UINT64_MAX);
  agent.reset();
  agent = Open(o);
  RunUntilIdle(agent.get());
  int local = 0;
  for (uint64_t id = 1; id <= 7; id++) local += host_.IsLocal(id) ? 1 : 0;
  EXPECT_EQ(local, 7) << "7 segments fit under 90% of 9";
  EXPECT_EQ(agent->GetStatus().segments_recalled, 3u);
}

TEST_F(TieringAgentTest, RecallModeBringsEverythingBackAndWritesNothingRemote) {
  {
    auto agent = Open(0);
    RunUntilIdle(agent.get());
  }
  uint64_t puts = store_.calls(ObjectOp::kPut);
  TieringOptions o = Options(0);
  o.enabled = false;
  o.mode = TieringMode::kRecall;
  auto agent = Open(o);
  EXPECT_EQ(agent->GetStatus().mode, "recall");
  RunUntilIdle(agent.get());
  for (uint64_t id = 1; id <= 7; id++) EXPECT_TRUE(host_.IsLocal(id)) << id;
  EXPECT_EQ(store_.calls(ObjectOp::kPut), puts) << "no epoch, no key record, no archive";
}

TEST_F(TieringAgentTest, RecallNowAndItsFailures) {
  {
    auto agent = Open(0);
    RunUntilIdle(agent.get());
  }
  auto agent = Open(UINT64_MAX);
  host_.FailRecalls(Status::IOError("injected: disk write failed"));
  auto failed = agent->RecallNow([](const LiveSegment&) { return true; }, nullptr);
  EXPECT_TRUE(failed.status().IsIOError()) << failed.status().ToString();
  host_.FailRecalls(Status::OK());
  store_.FailNth(ObjectOp::kGet, 1, Status::Unavailable("injected outage"));
  failed = agent->RecallNow([](const LiveSegment&) { return true; }, nullptr);
  EXPECT_TRUE(failed.status().IsUnavailable()) << failed.status().ToString();
  EXPECT_NE(failed.status().message().find("recall of segment"), std::string::npos);
  std::vector<Progress> seen;
  auto done = agent->RecallNow([](const LiveSegment& s) { return s.meta.segment_id <= 4; },
                               [&](const Progress& p) { seen.push_back(p); });
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->segments_left, 0u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().items_done, seen.back().items_total);
  EXPECT_EQ(seen.back().bytes_done, done->bytes);
}

TEST_F(TieringAgentTest, GarbageCollectionAfterSnapshotsDeletesArchivesOfCompactedSegments) {
  TieringOptions o = Options(UINT64_MAX);
  o.retain_snapshots = 1;
  o.retain_s = 0;
  auto agent = Open(o);
  RunUntilIdle(agent.get());
  uint64_t archives = agent->index().archives().size();
  ASSERT_EQ(archives, 2u);
  // Compaction replaces segments 1-3 (the first archive) by segment 30.
  host_.RemoveSegments({1, 2, 3});
  host_.AddSegment(30, kSegBytes, clock_.WallMicros() - int64_t{7200} * 1'000'000);
  clock_.AdvanceMillis(1000);
  RunUntilIdle(agent.get());
  TieringStatus st = agent->GetStatus();
  EXPECT_EQ(st.gc_archives_deleted, 1u);
  EXPECT_GT(st.gc_bytes_reclaimed, 0u);
  EXPECT_EQ(agent->index().archives().size(), 2u);
  EXPECT_FALSE(agent->index().Contains(Key(1)));
  EXPECT_TRUE(agent->index().Contains(Key(30)));
  auto dry = agent->CollectGarbageNow(/*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->archives_deleted, 0u);
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
