// Tiering end to end through the public API and the `ebb tier` tools: a
// store configured with a small local target writes more than that; cold
// segments are archived to the object store (a local directory, or an S3
// service: s3rver started by the test on loopback, or the service
// EBB_TEST_S3_* names, e.g. the Ceph RADOS Gateway tests/s3/ceph_rgw.sh
// starts), evicted locally, and still read back — after reopen, with the
// tier index rebuilt from the archives alone, after the data directory is
// destroyed and restored from the bucket, after recall, after garbage
// collection, and (reads of local data) with the object store down.

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
#include "engine/status_json.h"
#include "env/file_system.h"
#include "env/s3_test_server.h"
#include "tiering/archive.h"
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
      bool unavailable = false;
      std::string err = s3_.Start(tmp_.Sub("s3rver"), testing::SourceDir(), &unavailable);
      if (unavailable) EBB_S3_SKIP_OR_FAIL("tiering end-to-end test: " + err);
      ASSERT_EQ(err, "");
      std::fprintf(stderr, "tiering end-to-end test against %s at %s\n", s3_.kind().c_str(), s3_.endpoint().c_str());
    }
  }

  // The [tiering] settings naming the object store, as section.key=value.
  std::vector<std::pair<std::string, std::string>> StoreSettings() {
    if (GetParam() == "s3") {
      return {{"tiering.store", "s3"},
              {"tiering.s3_endpoint", s3_.endpoint()},
              {"tiering.s3_bucket", s3_.bucket()},
              {"tiering.s3_prefix", s3_.Prefix("ebb/")},
              {"tiering.s3_access_key", s3_.access_key()},
              {"tiering.s3_secret_key", s3_.secret_key()}};
    }
    return {{"tiering.local_dir", tmp_.Sub("objects")}};
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
    for (const auto& [k, v] : StoreSettings()) o.Set(k, v);
    return o;
  }

  // Runs the ebb tool with the object store settings; returns its stdout
  // (stderr too when `with_stderr`).
  std::string RunEbb(const std::string& args, int* exit_code, bool with_stderr = true) {
    std::string ebb = std::string(EBB_TEST_BIN_DIR) + "/../bin/ebb";
    std::string flags;
    for (const auto& [k, v] : StoreSettings()) flags += fmt::format(" --set {}={}", k, v);
    std::string out;
    FILE* p = popen(fmt::format("{} {}{} {}", ebb, args, flags, with_stderr ? "2>&1" : "2>/dev/null").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    *exit_code = WEXITSTATUS(pclose(p));
    return out;
  }

  // Puts `keys` keys per database (values of ~200 bytes) and flushes now
  // and then; then waits until every segment is archived and the disk is
  // within its target.
  void Fill(Store* store, const std::vector<std::string>& dbs, int keys, int version = 0, int flush_every = 1000) {
    for (const auto& name : dbs) {
      auto db = store->OpenDatabase(name);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      for (int i = 0; i < keys; i++) {
        ASSERT_TRUE((*db)->Put(fmt::format("key{:06}", i), Versioned(name, i, version)).ok());
        if (i % flush_every == flush_every - 1) ASSERT_TRUE((*db)->Flush().ok());
      }
      ASSERT_TRUE((*db)->Flush().ok());
    }
    ASSERT_TRUE(WaitForQuiescence(store));
  }
  static std::string Versioned(const std::string& db, int i, int version) {
    return fmt::format("{}:{:06}:v{}:{}", db, i, version, std::string(180, static_cast<char>('a' + (i + version) % 26)));
  }
  // Every key of every database reads back as Fill wrote it.
  static void ExpectAll(Store* store, const std::vector<std::string>& dbs, int keys, int version = 0) {
    for (const auto& name : dbs) {
      auto db = store->OpenDatabase(name, /*create_if_missing=*/false);
      ASSERT_TRUE(db.ok()) << name << ": " << db.status().ToString();
      auto it = (*db)->NewIterator(ReadOptions());
      int n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
        ASSERT_EQ(it->key(), fmt::format("key{:06}", n)) << name;
        ASSERT_EQ(it->value(), Versioned(name, n, version)) << name << " key " << n;
      }
      ASSERT_TRUE(it->status().ok()) << it->status().ToString();
      ASSERT_EQ(n, keys) << name;
      for (int i = 0; i < keys; i += 97) {
        auto v = (*db)->Get(fmt::format("key{:06}", i));
        ASSERT_TRUE(v.ok()) << name << "/" << i << ": " << v.status().ToString();
        ASSERT_EQ(*v, Versioned(name, i, version));
      }
    }
  }
  // Segments of the store now on local disk, and evicted.
  static std::pair<uint64_t, uint64_t> LocalAndEvictedBytes(Store* store) {
    StoreStatus st = store->GetStatus();
    uint64_t tiered = 0, disk = 0;
    for (const auto& d : st.databases) {
      tiered += d.tiered_bytes;
      disk += d.disk_bytes;
    }
    return {disk - tiered, tiered};
  }

  // Polls (bounded) until `done` holds.
  template <typename Fn>
  static bool WaitUntil(Fn done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Polls (bounded) until the background is asleep with nothing pending.
  static bool WaitForQuiescence(Store* store) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      StoreStatus st = store->GetStatus();
      bool quiet = !st.work.armed_deadline_micros.has_value() && st.tiering.snapshots_in_flight == 0;
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
  testing::S3TestServer s3_;
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
  auto key = KeyRing::Load(DefaultFileSystem(), data_dir + "/tier/archive.key");
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
  auto key = KeyRing::Load(DefaultFileSystem(), data_dir + "/tier/archive.key");
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
  auto run = [&](const std::string& args, int* exit_code) {
    return RunEbb(fmt::format("{} --data {} --set tiering.enabled=true", args, data), exit_code);
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

  // Damage the middle of every member payload of every archive, through
  // the object store itself (a local directory or the S3 service alike).
  auto config = NewEbbConfig();
  for (const auto& [k, v] : Opts().config) ASSERT_TRUE(config->SetDotted(k, v, false).ok());
  auto objects = OpenTierObjectStore(*config, DefaultFileSystem(), data);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  std::map<std::string, std::string> originals;  // object key -> bytes
  std::map<std::string, std::string> damaged;
  for (const auto& e : before->entries()) {
    std::string object = ArchiveObjectKey(e.archive);
    if (!originals.count(object)) {
      auto bytes = (*objects)->Get(object);
      ASSERT_TRUE(bytes.ok()) << object << ": " << bytes.status().ToString();
      originals[object] = *bytes;
      damaged[object] = *bytes;
    }
    uint64_t offset = e.member.payload_offset + e.member.payload_length / 2;
    damaged[object][offset] = static_cast<char>(damaged[object][offset] ^ 0x5a);
  }
  for (const auto& [object, bytes] : damaged) {
    Status put = (*objects)->Put(object, bytes);
    ASSERT_TRUE(put.ok()) << object << ": " << put.ToString();
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
    Status put = (*objects)->Put(object, bytes);
    ASSERT_TRUE(put.ok()) << object << ": " << put.ToString();
  }
  ASSERT_TRUE(DeleteRecursively(DefaultFileSystem(), data + "/tier/cache").ok());
  std::string key_path = data + "/tier/archive.key";
  std::string good_key = *ReadFileToString(DefaultFileSystem(), key_path);
  ASSERT_TRUE(DefaultFileSystem()->DeleteFile(key_path).ok());
  ASSERT_TRUE(ArchiveKey::Create(DefaultFileSystem(), key_path).ok());
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


// A store filled to ten times its local target is destroyed; a new one is
// restored from the bucket alone, once with `ebb tier restore` and once by
// opening an empty directory with tiering.restore = true, and reads back
// every key with the right value; a dropped database stays dropped.
TEST_P(TieringE2ETest, DestroyedStoreIsRestoredFromTheBucketWithEveryKey) {
  const std::vector<std::string> dbs = {"users", "orders", "events"};
  constexpr int kKeys = 9000;  // ~5.5 MB of values: over 10x the 512 KiB target
  std::string data = tmp_.Sub("data");
  {
    // Bigger memtables: fewer segments and archives, so a slower S3 service
    // (a Ceph gateway) fills it in reasonable time.
    Options o = Opts();
    o.Set("store.memtable_bytes", "256KiB");
    o.Set("tiering.archive_target_bytes", "2MiB");
    auto store = OpenStore(o, EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Fill(store->get(), {"doomed"}, 500);
    ASSERT_TRUE((*store)->DropDatabase("doomed").ok());
    Fill(store->get(), dbs, kKeys, /*version=*/0, /*flush_every=*/3000);
    auto [local, evicted] = LocalAndEvictedBytes(store->get());
    ASSERT_GT(local + evicted, 10 * kTargetBytes);
    ASSERT_GT(evicted, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // The key is backed up elsewhere; the data directory is gone.
  std::string key_backup = tmp_.Sub("key-backup");
  ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), *ReadFileToString(DefaultFileSystem(), data + "/tier/archive.key"),
                                key_backup, true).ok());
  ASSERT_TRUE(DeleteRecursively(DefaultFileSystem(), data).ok());

  // 1. ebb tier restore --to DIR, with the report as JSON.
  std::string restored = tmp_.Sub("restored");
  int rc = 0;
  std::string out = RunEbb(fmt::format("tier restore --to {} --key {} --json --set tiering.local_target_bytes={}",
                                       restored, key_backup, kTargetBytes),
                           &rc, /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  auto report = nlohmann::json::parse(out);
  EXPECT_EQ(report["databases"], dbs.size()) << out;
  EXPECT_GT(report["segments_remote"].get<uint64_t>(), 0u) << "beyond the local target stays remote: " << out;
  EXPECT_GT(report["segments_local"].get<uint64_t>(), 0u) << out;
  EXPECT_GT(report["bytes_restored"].get<uint64_t>(), 10 * kTargetBytes) << out;
  {
    Options o = Opts();
    o.data_dir = restored;
    // A full scan holds every evicted segment it spans in the member cache.
    o.Set("tiering.cache_bytes", "16MiB");
    auto store = OpenStore(o, EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto names = (*store)->ListDatabases();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"events", "orders", "users"})) << "the dropped database stays dropped";
    auto [local, evicted] = LocalAndEvictedBytes(store->get());
    EXPECT_LE(local, kTargetBytes);
    EXPECT_GT(evicted, 0u);
    ExpectAll(store->get(), dbs, kKeys);
    // The restored store writes on, above the restored numbers and sequences.
    auto users = *(*store)->OpenDatabase("users");
    ASSERT_TRUE(users->Put("after-restore", "1").ok());
    ASSERT_TRUE(users->Flush().ok());
    EXPECT_EQ(*users->Get("after-restore"), "1");
    ASSERT_TRUE((*store)->Close().ok());
  }
  // A second restore into a non-empty directory is refused.
  out = RunEbb(fmt::format("tier restore --to {} --key {}", restored, key_backup), &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;

  // 2. Store::Open on an empty directory with tiering.restore = true.
  Options o = Opts();
  o.data_dir = tmp_.Sub("opened");
  o.Set("tiering.restore", "true");
  o.Set("tiering.key_file", key_backup);
  o.Set("tiering.cache_bytes", "16MiB");
  auto store = OpenStore(o, EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ExpectAll(store->get(), dbs, kKeys - 0);
}

// Evicted segments come back: `ebb tier recall --db`, then everything when
// tiering is turned off; after that the store needs no object store at all.
TEST_P(TieringE2ETest, RecallBringsEvictedSegmentsBackAndTieringOffRecallsTheRest) {
  const std::vector<std::string> dbs = {"hot", "cold"};
  constexpr int kKeys = 6000;
  std::string data = tmp_.Sub("data");
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Fill(store->get(), dbs, kKeys);
    ASSERT_GT(LocalAndEvictedBytes(store->get()).second, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  int rc = 0;
  std::string out = RunEbb(fmt::format("tier recall --data {} --db hot --json --set tiering.enabled=true", data), &rc,
                           /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  auto report = nlohmann::json::parse(out);
  EXPECT_GT(report["segments_recalled"].get<uint64_t>(), 0u) << out;
  EXPECT_EQ(report["segments_left"], 0) << out;
  {
    Options o = Opts();
    o.Set("tiering.local_target_bytes", "infinity");
    o.Set("tiering.recall", "false");  // only what the tool recalled is local
    auto store = OpenStore(o, EngineEnv());
    ASSERT_TRUE(store.ok());
    for (const auto& d : (*store)->GetStatus().databases) {
      if (d.name == "hot") EXPECT_EQ(d.tiered_bytes, 0u) << "every segment of hot is local";
      if (d.name == "cold") EXPECT_GT(d.tiered_bytes, 0u) << "cold was not asked for";
    }
    ASSERT_TRUE((*store)->Close().ok());
  }
  // Tiering turned off: the store recalls every evicted segment itself.
  {
    Options o = Opts();
    o.Set("tiering.enabled", "false");
    auto store = OpenStore(o, EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->GetStatus().tiering.mode, "recall");
    ASSERT_TRUE(WaitUntil([&] { return LocalAndEvictedBytes(store->get()).second == 0; }))
        << StoreStatusToJson((*store)->GetStatus()).dump(1);
    ASSERT_TRUE(WaitForQuiescence(store->get()));
    EXPECT_EQ(LocalAndEvictedBytes(store->get()).second, 0u) << (*store)->GetStatus().tiering.last_error;
    EXPECT_GT((*store)->GetStatus().tiering.segments_recalled, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // Nothing is evicted any more: without tiering, and with the object store
  // settings pointing nowhere, the store opens and reads everything.
  Options o;
  o.data_dir = data;
  o.Set("tiering.enabled", "false");
  auto store = OpenStore(o, EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_FALSE((*store)->GetStatus().tiering.enabled);
  ExpectAll(store->get(), dbs, kKeys);
}

// Overwrites and a drop make archives garbage; garbage collection deletes
// them past retention and reports the bytes; the bucket still restores.
TEST_P(TieringE2ETest, GarbageCollectionReclaimsArchivesOfOverwrittenAndDroppedData) {
  std::string data = tmp_.Sub("data");
  Options o = Opts();
  o.Set("tiering.retain_snapshots", "1");
  o.Set("tiering.retain_s", "0");
  o.Set("tiering.local_target_bytes", "infinity");  // keep everything local: compaction can rewrite it
  uint64_t bucket_before = 0;
  {
    auto store = OpenStore(o, EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Fill(store->get(), {"a", "b"}, 4000, /*version=*/0);
    bucket_before = (*store)->GetStatus().tiering.bytes_remote;
    // Every key of a overwritten, then a compacted into new segments; b dropped.
    Fill(store->get(), {"a"}, 4000, /*version=*/1);
    ASSERT_TRUE((*(*store)->OpenDatabase("a"))->Compact().ok());
    ASSERT_TRUE((*store)->DropDatabase("b").ok());
    // Collection follows the snapshots the compaction and the drop cause.
    EXPECT_TRUE(WaitUntil([&] { return (*store)->GetStatus().tiering.gc_bytes_reclaimed > bucket_before / 2; }));
    ASSERT_TRUE(WaitForQuiescence(store->get()));
    TieringStatus st = (*store)->GetStatus().tiering;
    EXPECT_GT(st.gc_runs, 0u);
    EXPECT_GT(st.gc_archives_deleted, 0u) << st.last_error;
    EXPECT_GT(st.gc_bytes_reclaimed, bucket_before / 2) << "a's old versions and b are gone";
    EXPECT_LT(st.bytes_remote, bucket_before + bucket_before / 2);
    ASSERT_TRUE((*store)->Close().ok());
  }
  int rc = 0;
  const std::string gc_flags = "--set tiering.enabled=true --set tiering.retain_snapshots=1 --set tiering.retain_s=0";
  // The tool (the store it opens may compact and publish a snapshot of its
  // own meanwhile, so the counts are not fixed).
  std::string out = RunEbb(fmt::format("tier gc --data {} --dry-run --json {}", data, gc_flags), &rc,
                           /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  auto report = nlohmann::json::parse(out);
  EXPECT_TRUE(report["dry_run"].get<bool>()) << out;
  EXPECT_EQ(report["snapshots_retained"], 1) << out;
  EXPECT_TRUE(report["problems"].empty()) << out;
  out = RunEbb(fmt::format("tier gc --data {} --json {}", data, gc_flags), &rc, /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  report = nlohmann::json::parse(out);
  EXPECT_FALSE(report["dry_run"].get<bool>()) << out;
  EXPECT_GE(report["archives"].get<uint64_t>(), 1u) << out;
  // What is left restores to the current state.
  std::string key_backup = tmp_.Sub("key");
  ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), *ReadFileToString(DefaultFileSystem(), data + "/tier/archive.key"),
                                key_backup, true).ok());
  out = RunEbb(fmt::format("tier restore --to {} --key {} --json", tmp_.Sub("restored"), key_backup), &rc,
               /*with_stderr=*/false);
  ASSERT_EQ(rc, 0) << out;
  Options r = Opts();
  r.data_dir = tmp_.Sub("restored");
  auto store = OpenStore(r, EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->ListDatabases(), std::vector<std::string>{"a"});
  ExpectAll(store->get(), {"a"}, 4000, /*version=*/1);
}

// The object store cannot be reached when the store opens: it opens anyway,
// serves local data, answers reads of evicted data with Unavailable naming
// the object store, and says so in its status.
TEST_P(TieringE2ETest, OpensAndServesLocalDataWithTheObjectStoreDown) {
  if (GetParam() != "s3") GTEST_SKIP() << "needs a network object store to take away";
  std::string data = tmp_.Sub("data");
  {
    auto store = OpenStore(Opts(), EngineEnv());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Fill(store->get(), {"db"}, 6000);
    ASSERT_GT(LocalAndEvictedBytes(store->get()).second, 0u);
    ASSERT_TRUE((*store)->Close().ok());
  }
  // The same store, with its object store unreachable (nothing listens).
  Options o = Opts();
  o.Set("tiering.s3_endpoint", "http://127.0.0.1:9");
  o.Set("tiering.open_timeout_ms", "500");
  o.Set("tiering.max_retries", "0");
  auto started = std::chrono::steady_clock::now();
  auto store = OpenStore(o, EngineEnv());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << "the open does not hang";
  TieringStatus st = (*store)->GetStatus().tiering;
  EXPECT_EQ(st.object_store, "unreachable");
  EXPECT_FALSE(st.object_store_error.empty());
  auto db = *(*store)->OpenDatabase("db");
  int local_hits = 0, unavailable = 0;
  for (int i = 0; i < 6000; i += 50) {
    auto v = db->Get(fmt::format("key{:06}", i));
    if (v.ok()) {
      EXPECT_EQ(*v, Versioned("db", i, 0));
      local_hits++;
    } else {
      EXPECT_TRUE(v.status().IsUnavailable()) << v.status().ToString();
      EXPECT_NE(v.status().message().find("127.0.0.1:9"), std::string::npos) << v.status().ToString();
      unavailable++;
    }
  }
  EXPECT_GT(local_hits, 0) << "local data is served";
  EXPECT_GT(unavailable, 0) << "evicted data says why it cannot be read";
  // Writes go on.
  ASSERT_TRUE(db->Put("during-outage", "1").ok());
  EXPECT_EQ(*db->Get("during-outage"), "1");
}

INSTANTIATE_TEST_SUITE_P(Stores, TieringE2ETest, ::testing::Values("local", "s3"));

}  // namespace
}  // namespace ebb
