// Tiering end to end through the public API: a store configured with a
// small local target writes more than that; cold segments are archived to
// the object store (a local directory, or s3rver started by the test on
// loopback), evicted locally, and still read back — also after reopen and
// with the tier index rebuilt from the archives alone.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "base/random.h"
#include "base/test_util.h"
#include "engine/engine.h"
#include "engine/engine_settings.h"
#include "env/file_system.h"
#include "env/s3rver_process.h"
#include "tiering/archive_key.h"
#include "tiering/tier_index.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

constexpr uint64_t kTargetBytes = 512 << 10;

class TieringE2ETest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "s3") {
      bool skip = false;
      std::string err = s3rver_.Start(tmp_.Sub("s3rver"), testing::S3rverScript(testing::SourceDir()), &skip);
      if (!err.empty()) {
        if (skip) GTEST_SKIP() << err;
        FAIL() << err;
      }
    }
  }

  Options Opts() {
    Options o;
    o.data_dir = tmp_.Sub("data");
    o.Set("journal.sync", "batch");
    o.Set("store.memtable_bytes", "64KiB");
    o.Set("work.interval_ms", "20");
    o.Set("work.idle_hysteresis_ms", "40");
    o.Set("work.idle_horizon_ms", "200");
    o.Set("work.max_pending_age_s", "1");  // a lone small segment is tiered within a second
    o.Set("smoosh.wait_secs", "0");
    o.Set("tiering.enabled", "true");
    o.Set("tiering.local_target_bytes", std::to_string(kTargetBytes));
    o.Set("tiering.min_age_s", "0");
    o.Set("tiering.archive_target_bytes", "1MiB");
    o.Set("tiering.cache_bytes", "1MiB");
    if (GetParam() == "s3") {
      o.Set("tiering.store", "s3");
      o.Set("tiering.s3_endpoint", s3rver_.endpoint());
      o.Set("tiering.s3_bucket", testing::S3rverProcess::kBucket);
      o.Set("tiering.s3_access_key", testing::S3rverProcess::kAccessKey);
      o.Set("tiering.s3_secret_key", testing::S3rverProcess::kSecretKey);
    } else {
      o.Set("tiering.local_dir", tmp_.Sub("objects"));
    }
    return o;
  }

  // Polls (bounded) until the background is asleep with nothing pending.
  static bool WaitForQuiescence(Store* store) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      StoreStatus st = store->GetStatus();
      bool quiet = !st.work.armed_deadline_micros.has_value();
      for (const auto& c : st.work.classes) quiet = quiet && c.state == "asleep" && c.pending_bytes == 0;
      if (quiet) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    StoreStatus st = store->GetStatus();
    for (const auto& c : st.work.classes) {
      ADD_FAILURE() << c.name << ": " << c.state << " pending " << c.pending_bytes << " stuck " << c.stuck_passes << " "
                    << c.last_error;
    }
    ADD_FAILURE() << "tiering: " << st.tiering.last_error << " local " << st.tiering.bytes_local << " evicted "
                  << st.tiering.segments_evicted << " refused " << st.tiering.evictions_refused;
    return false;
  }

  static std::string Value(int db, int i) { return fmt::format("{}:{:06}:{}", db, i, std::string(180, 'a' + (i % 26))); }

  testing::TempDir tmp_;
  testing::S3rverProcess s3rver_;
};

TEST_P(TieringE2ETest, ColdSegmentsTierOutLocalBytesStayBoundedEverythingReadsBack) {
  constexpr int kDbs = 3, kKeys = 4000;  // ~2.4 MB of values: about 5x the local target
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<std::shared_ptr<Database>> dbs;
    for (int d = 0; d < kDbs; d++) dbs.push_back(*(*store)->OpenDatabase(fmt::format("db{}", d)));
    uint64_t local_max = 0;
    for (int i = 0; i < kKeys; i++) {
      for (int d = 0; d < kDbs; d++) ASSERT_TRUE(dbs[d]->Put(fmt::format("key{:06}", i), Value(d, i)).ok());
      if (i % 500 == 499) {
        for (auto& db : dbs) ASSERT_TRUE(db->Flush().ok());
      }
      // While writing too: the write throttle keeps local bytes bounded.
      if (i % 50 == 0) local_max = std::max(local_max, (*store)->GetStatus().tiering.bytes_local);
    }
    EXPECT_LE(local_max, kTargetBytes + kTargetBytes / 10) << "local segment bytes over target + 10% while writing";
    ASSERT_TRUE(WaitForQuiescence(store->get())) << "did not settle";
    StoreStatus st = (*store)->GetStatus();
    ASSERT_TRUE(st.tiering.enabled);
    EXPECT_GT(st.tiering.archives, 0u);
    EXPECT_GT(st.tiering.segments_evicted, 0u) << st.tiering.last_error;
    EXPECT_EQ(st.tiering.evictions_refused, 0u);
    uint64_t tiered = 0, disk = 0;
    for (const auto& d : st.databases) {
      tiered += d.tiered_bytes;
      disk += d.disk_bytes;
    }
    EXPECT_GT(tiered, 0u);
    EXPECT_LE(disk - tiered, kTargetBytes + kTargetBytes / 10) << "local segment bytes over target + 10%";
    // Everything reads back, evicted or not.
    for (int d = 0; d < kDbs; d++) {
      for (int i = 0; i < kKeys; i += 7) {
        auto v = dbs[d]->Get(fmt::format("key{:06}", i));
        ASSERT_TRUE(v.ok()) << d << "/" << i << ": " << v.status().ToString();
        ASSERT_EQ(*v, Value(d, i));
      }
    }
    EXPECT_GT((*store)->GetStatus().tiering.cache.fetches, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // Reopen: evicted segments are still read through the tier.
  std::string index_path = tmp_.Sub("data") + "/tier/tier.index";
  std::string index_before = *ReadFileToString(DefaultFileSystem(), index_path);
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto db = *(*store)->OpenDatabase("db1");
    auto it = db->NewIterator(ReadOptions());
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSERT_EQ(it->value(), Value(1, n));
      n++;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(n, kKeys);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // The index rebuilt from the archives alone equals the one the agent kept.
  auto config = NewEbbConfig();
  for (const auto& [k, v] : Opts().config) ASSERT_TRUE(config->SetDotted(k, v, false).ok());
  std::string data_dir = tmp_.Sub("data");
  auto object_store = OpenTierObjectStore(*config, DefaultFileSystem(), data_dir);
  ASSERT_TRUE(object_store.ok()) << object_store.status().ToString();
  auto key = ArchiveKey::Load(DefaultFileSystem(), data_dir + "/tier/archive.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  RebuildReport report;
  auto rebuilt = RebuildIndex(object_store->get(), **key, &report);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  auto kept = TierIndex::Load(DefaultFileSystem(), index_path);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(*rebuilt == *kept) << "rebuilt index differs from the agent's";
  EXPECT_EQ(report.from_scan, 0u);
  EXPECT_GT(report.archives, 0u);
  (void)index_before;
}

TEST_P(TieringE2ETest, DroppedDatabaseLeavesATombstoneAndItsSegmentsLeaveTheIndex) {
  auto store = OpenStore(Opts(), EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  {
    auto db = *(*store)->OpenDatabase("doomed");
    for (int i = 0; i < 6000; i++) ASSERT_TRUE(db->Put(fmt::format("key{:06}", i), Value(0, i)).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(WaitForQuiescence(store->get()));
  ASSERT_GT((*store)->GetStatus().tiering.segments_remote, 0u);
  ASSERT_TRUE((*store)->DropDatabase("doomed").ok());
  // A new database with the same name is a different one.
  auto reborn = *(*store)->OpenDatabase("doomed");
  ASSERT_TRUE(reborn->Put("fresh", "1").ok());
  ASSERT_TRUE(reborn->Flush().ok());
  ASSERT_TRUE(WaitForQuiescence(store->get()));
  EXPECT_EQ(*reborn->Get("fresh"), "1");
  EXPECT_TRUE(reborn->Get("key000001").status().IsNotFound());
  ASSERT_TRUE((*store)->Close().ok());
  // The tombstone is archived: an index rebuilt from the archives alone has
  // none of the dropped database's segments, only the new one's.
  auto config = NewEbbConfig();
  for (const auto& [k, v] : Opts().config) ASSERT_TRUE(config->SetDotted(k, v, false).ok());
  std::string data_dir = tmp_.Sub("data");
  auto object_store = OpenTierObjectStore(*config, DefaultFileSystem(), data_dir);
  ASSERT_TRUE(object_store.ok());
  auto key = ArchiveKey::Load(DefaultFileSystem(), data_dir + "/tier/archive.key");
  ASSERT_TRUE(key.ok());
  auto rebuilt = RebuildIndex(object_store->get(), **key);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  auto tombstones = rebuilt->tombstones();
  ASSERT_EQ(tombstones.size(), 1u);
  std::string dropped_name = tombstones.begin()->first;
  EXPECT_EQ(dropped_name.rfind("doomed#", 0), 0u) << dropped_name;
  for (const auto& e : rebuilt->entries()) EXPECT_NE(e.member.meta.database, dropped_name) << "segment " << e.member.meta.segment_id;

  auto reopened = OpenStore(Opts(), EngineEnv());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*(*(*reopened)->OpenDatabase("doomed"))->Get("fresh"), "1");
}

// Writes enough to tier out, then closes; returns the keys of db0 written.
void FillAndSettle(TieringE2ETest* t, Store* store, int keys) {
  auto db = *store->OpenDatabase("db0");
  for (int i = 0; i < keys; i++) {
    ASSERT_TRUE(db->Put(fmt::format("key{:06}", i), fmt::format("{}:{:06}:{}", 0, i, std::string(180, 'a' + (i % 26)))).ok());
    if (i % 1000 == 999) ASSERT_TRUE(db->Flush().ok());
  }
}

TEST_P(TieringE2ETest, DamagedArchiveWrongKeyAndToolsGiveClearErrors) {
  if (GetParam() != "local") GTEST_SKIP() << "damages archive files in the local object directory";
  constexpr int kKeys = 8000;
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    FillAndSettle(this, store->get(), kKeys);
    ASSERT_TRUE(WaitForQuiescence(store->get()));
    ASSERT_GT((*store)->GetStatus().tiering.segments_evicted, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  std::string data = tmp_.Sub("data");
  std::string ebb = std::string(EBB_TEST_BIN_DIR) + "/../bin/ebb";
  std::string flags = fmt::format("--data {} --set tiering.enabled=true --set tiering.local_dir={}", data,
                                  tmp_.Sub("objects"));
  auto run = [&](const std::string& args, int* exit_code) {
    std::string out;
    FILE* p = popen(fmt::format("{} {} {} 2>&1", ebb, args, flags).c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    *exit_code = WEXITSTATUS(pclose(p));
    return out;
  };
  int rc = 0;
  std::string listing = run("tier ls --json", &rc);
  ASSERT_EQ(rc, 0) << listing;
  auto archives = nlohmann::json::parse(listing);
  ASSERT_GT(archives.size(), 0u);
  std::string verified = run("tier verify", &rc);
  EXPECT_EQ(rc, 0) << verified;
  EXPECT_NE(verified.find("0 damaged"), std::string::npos) << verified;
  std::string index_path = data + "/tier/tier.index";
  auto before = TierIndex::Load(DefaultFileSystem(), index_path);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(DefaultFileSystem()->DeleteFile(index_path).ok());
  std::string rebuilt = run("tier rebuild-index", &rc);
  ASSERT_EQ(rc, 0) << rebuilt;
  auto after = TierIndex::Load(DefaultFileSystem(), index_path);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*before == *after) << rebuilt;

  // Damage the middle of every member payload of every archive.
  std::map<std::string, std::string> originals;  // object path -> bytes
  for (const auto& e : before->entries()) {
    std::string object = tmp_.Sub("objects") + "/archives/" + e.archive + ".tar";
    if (!originals.count(object)) originals[object] = *ReadFileToString(DefaultFileSystem(), object);
    std::string damaged = *ReadFileToString(DefaultFileSystem(), object);
    uint64_t offset = e.member.payload_offset + e.member.payload_length / 2;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x5a);
    ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), damaged, object, true).ok());
  }
  verified = run("tier verify", &rc);
  EXPECT_EQ(rc, 1) << verified;
  EXPECT_NE(verified.find("DAMAGED"), std::string::npos) << verified;
  // Reads of a segment in the damaged archive fail with a clear error (after
  // one refetch), never garbage; the other segments still read.
  ASSERT_TRUE(DeleteRecursively(DefaultFileSystem(), data + "/tier/cache").ok());
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto db = *(*store)->OpenDatabase("db0");
    int ok = 0, corrupt = 0;
    for (int i = 0; i < kKeys; i += 13) {
      auto v = db->Get(fmt::format("key{:06}", i));
      if (v.ok()) {
        ok++;
        EXPECT_EQ(v->substr(0, 9), fmt::format("0:{:06}:", i));
      } else {
        corrupt++;
        EXPECT_TRUE(v.status().IsCorruption()) << v.status().ToString();
        EXPECT_NE(v.status().message().find("archive "), std::string::npos) << v.status().ToString();
        EXPECT_NE(v.status().message().find("ebb tier verify"), std::string::npos) << v.status().ToString();
      }
    }
    EXPECT_GT(ok, 0);
    EXPECT_GT(corrupt, 0);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // Restore the archives, then use the wrong key: a clear error, no garbage.
  for (const auto& [object, bytes] : originals) {
    ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), bytes, object, true).ok());
  }
  ASSERT_TRUE(DeleteRecursively(DefaultFileSystem(), data + "/tier/cache").ok());
  std::string key_path = data + "/tier/archive.key";
  std::string good_key = *ReadFileToString(DefaultFileSystem(), key_path);
  ASSERT_TRUE(DefaultFileSystem()->DeleteFile(key_path).ok());
  ASSERT_TRUE(ArchiveKey::LoadOrCreate(DefaultFileSystem(), key_path).ok());
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_FALSE(store.ok()) << "opened with the wrong archive key";
    EXPECT_TRUE(store.status().IsPermissionDenied()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("written with key id"), std::string::npos) << store.status().ToString();
    EXPECT_NE(store.status().message().find("archive.key"), std::string::npos) << store.status().ToString();
  }
  // The right key again: everything reads.
  ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), good_key, key_path, true).ok());
  auto store = OpenStore(Opts(), EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = *(*store)->OpenDatabase("db0");
  for (int i = 0; i < kKeys; i += 13) ASSERT_TRUE(db->Get(fmt::format("key{:06}", i)).ok()) << i;
}

INSTANTIATE_TEST_SUITE_P(Stores, TieringE2ETest, ::testing::Values("local", "s3"));

}  // namespace
}  // namespace ebb
