// Flipped bytes in the journal, a segment or the manifest are detected and
// reported with the file (and offset), never returned as data.

#include <gtest/gtest.h>

#include <thread>

#include <fmt/format.h>

#include "base/test_util.h"
#include "ebb/ebb.h"
#include "engine/engine.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

class CorruptionTest : public ::testing::Test {
 protected:
  Options Opts() {
    Options o;
    o.data_dir = "/store";
    o.Set("journal.sync", "always");
    // These tests damage the journal and count on what it still holds: keep
    // idle writeback from flushing (and journal reclaim from deleting) it
    // when a slow or busy machine pauses between the writes and the close.
    o.Set("work.idle_hysteresis_ms", "3600000");
    return o;
  }
  Result<std::unique_ptr<Store>> Open() { return OpenStore(Opts(), EngineEnv{&fs_, nullptr}); }

  void Fill(Store* store, int n, bool flush) {
    auto db = store->OpenDatabase("d");
    ASSERT_TRUE(db.ok());
    for (int i = 0; i < n; i++) ASSERT_TRUE((*db)->Put(fmt::format("key{:05}", i), std::string(100, 'a' + i % 26)).ok());
    if (flush) ASSERT_TRUE((*db)->Flush().ok());
  }

  std::string OnlyFile(const std::string& dir, const std::string& suffix) {
    auto names = fs_.GetChildren(dir);
    EXPECT_TRUE(names.ok());
    for (const auto& n : *names) {
      if (n.size() > suffix.size() && n.substr(n.size() - suffix.size()) == suffix) return dir + "/" + n;
    }
    return "";
  }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
};

TEST_F(CorruptionTest, JournalDamageBeforeTheTailStopsOpenNamingFileAndOffset) {
  {
    auto store = Open();
    ASSERT_TRUE(store.ok());
    Fill(store->get(), 200, false);
  }
  std::string journal = OnlyFile("/store/journal", ".log");
  ASSERT_FALSE(journal.empty());
  ASSERT_TRUE(fs_.CorruptBytes(journal, 3000, 1).ok());
  auto store = Open();
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_NE(store.status().message().find(journal), std::string::npos) << store.status().ToString();
  EXPECT_NE(store.status().message().find("offset"), std::string::npos) << store.status().ToString();
}

TEST_F(CorruptionTest, TornJournalTailIsToleratedAndOnlyTheTailIsLost) {
  {
    auto store = Open();
    ASSERT_TRUE(store.ok());
    Fill(store->get(), 200, false);
  }
  std::string journal = OnlyFile("/store/journal", ".log");
  uint64_t size = *fs_.GetFileSize(journal);
  ASSERT_TRUE(fs_.TruncateFile(journal, size - 30).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = (*store)->OpenDatabase("d");
  EXPECT_TRUE((*db)->Get("key00199").status().IsNotFound());
  EXPECT_EQ(*(*db)->Get("key00198"), std::string(100, 'a' + 198 % 26));
  // The next open reads the truncated file cleanly even though it is no
  // longer the newest.
  ASSERT_TRUE((*db)->Put("after", "x").ok());
  db->reset();
  store->reset();
  store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*(*store)->OpenDatabase("d"))->Get("after"), "x");
}

TEST_F(CorruptionTest, SegmentDamageIsReportedOnReadNeverReturnedAsData) {
  {
    auto store = Open();
    ASSERT_TRUE(store.ok());
    Fill(store->get(), 2000, true);
  }
  // The largest segment (background work may have written more than one).
  std::string segment;
  uint64_t largest = 0;
  auto names = fs_.GetChildren("/store/segments");
  ASSERT_TRUE(names.ok());
  for (const auto& name : *names) {
    uint64_t size = *fs_.GetFileSize("/store/segments/" + name);
    if (size > largest) {
      largest = size;
      segment = "/store/segments/" + name;
    }
  }
  ASSERT_GT(largest, 20000u);
  ASSERT_TRUE(fs_.CorruptBytes(segment, largest / 2, 4).ok());
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = (*store)->OpenDatabase("d");
  int corrupt = 0;
  for (int i = 0; i < 2000; i++) {
    auto v = (*db)->Get(fmt::format("key{:05}", i));
    if (v.ok()) {
      EXPECT_EQ(*v, std::string(100, 'a' + i % 26));
    } else {
      ASSERT_TRUE(v.status().IsCorruption()) << v.status().ToString();
      EXPECT_NE(v.status().message().find(".seg data block at offset"), std::string::npos) << v.status().ToString();
      corrupt++;
    }
  }
  EXPECT_GT(corrupt, 0);
  auto it = (*db)->NewIterator(ReadOptions());
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
  EXPECT_LT(n, 2000);
  // Compaction refuses to turn damaged data into a clean-looking segment.
  ASSERT_TRUE((*db)->Put("zzz", "new").ok());
  ASSERT_TRUE((*db)->Flush().ok());
  // (The background compaction may be at it too: wait it out.)
  Status compact = (*db)->Compact();
  for (int i = 0; i < 1000 && compact.IsBusy(); i++) {
    std::this_thread::yield();
    compact = (*db)->Compact();
  }
  EXPECT_TRUE(compact.IsCorruption()) << compact.ToString();
  // And the damage is still reported, not papered over.
  auto again = (*db)->NewIterator(ReadOptions());
  for (again->SeekToFirst(); again->Valid(); again->Next()) {
  }
  EXPECT_TRUE(again->status().IsCorruption());
}

TEST_F(CorruptionTest, ManifestDamageStopsOpenNamingTheManifest) {
  {
    auto store = Open();
    ASSERT_TRUE(store.ok());
    Fill(store->get(), 100, true);
    auto db = (*store)->OpenDatabase("second");
    ASSERT_TRUE((*db)->Put("k", "v").ok());
    ASSERT_TRUE((*db)->Flush().ok());
  }
  std::string manifest = OnlyFile("/store", "");
  auto names = fs_.GetChildren("/store");
  for (const auto& n : *names) {
    if (n.rfind("MANIFEST-", 0) == 0) manifest = "/store/" + n;
  }
  uint64_t size = *fs_.GetFileSize(manifest);
  // Damage the snapshot record (not the tail).
  ASSERT_TRUE(fs_.CorruptBytes(manifest, 40, 1).ok());
  ASSERT_GT(size, 80u);
  auto store = Open();
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("manifest"), std::string::npos) << store.status().ToString();
  EXPECT_NE(store.status().message().find(manifest), std::string::npos) << store.status().ToString();
}

TEST_F(CorruptionTest, MissingCurrentWithDataIsRefused) {
  {
    auto store = Open();
    ASSERT_TRUE(store.ok());
    Fill(store->get(), 100, true);
  }
  ASSERT_TRUE(fs_.DeleteFile("/store/CURRENT").ok());
  auto store = Open();
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("CURRENT is missing"), std::string::npos) << store.status().ToString();
}

TEST_F(CorruptionTest, FullDiskFailsWritesClearlyAndLosesNothingAcknowledged) {
  auto store = Open();
  ASSERT_TRUE(store.ok());
  auto db = (*store)->OpenDatabase("d");
  ASSERT_TRUE(db.ok());
  fs_.SetSpaceBudget(20000);
  int acked = 0;
  Status last;
  for (int i = 0; i < 1000; i++) {
    last = (*db)->Put(fmt::format("key{:05}", i), std::string(100, 'x'));
    if (!last.ok()) break;
    acked++;
  }
  ASSERT_FALSE(last.ok());
  EXPECT_NE(last.ToString().find("No space left"), std::string::npos) << last.ToString();
  // Sticky: the store is read-only until reopened, with a message saying so.
  Status again = (*db)->Put("more", "x");
  EXPECT_TRUE(again.IsReadOnly()) << again.ToString();
  EXPECT_NE(again.message().find("reopen"), std::string::npos) << again.ToString();
  EXPECT_EQ(*(*db)->Get("key00000"), std::string(100, 'x'));
  db->reset();
  store->reset();
  fs_.ClearSpaceBudget();
  store = Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  db = (*store)->OpenDatabase("d");
  for (int i = 0; i < acked; i++) ASSERT_TRUE((*db)->Get(fmt::format("key{:05}", i)).ok()) << i;
}

}  // namespace
}  // namespace ebb
