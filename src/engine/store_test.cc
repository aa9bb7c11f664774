#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "base/test_util.h"
#include "engine/engine.h"
#include "engine/status_json.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  Options Opts() {
    Options o;
    o.data_dir = tmp_.Sub("data");
    return o;
  }
  testing::TempDir tmp_;
};

TEST_F(StoreTest, EmbeddedRoundTripThroughThePublicApi) {
  auto store = Store::Open(Opts());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto users = (*store)->OpenDatabase("users");
  ASSERT_TRUE(users.ok());
  ASSERT_TRUE((*users)->Put("alice", "{\"age\":30}").ok());
  EXPECT_EQ(*(*users)->Get("alice"), "{\"age\":30}");
  EXPECT_TRUE((*users)->Get("bob").status().IsNotFound());
  ASSERT_TRUE((*users)->Flush().ok());
  StoreStatus status = (*store)->GetStatus();
  ASSERT_EQ(status.databases.size(), 1u);
  EXPECT_EQ(status.databases[0].name, "users");
  EXPECT_EQ(status.databases[0].segments, 1u);
  EXPECT_EQ(status.journal.sync_mode, "batch");
  auto json = StoreStatusToJson(status);
  EXPECT_EQ(json["databases"][0]["update_seq"], 1);
  ASSERT_TRUE((*store)->Close().ok());
  // Handles outlive the store and fail cleanly.
  EXPECT_TRUE((*users)->Put("x", "y").IsAborted());
  EXPECT_TRUE((*users)->Get("alice").status().IsAborted());
}

// Iterators and snapshots may outlive the Database handle and the Store, in
// either order of destruction (run under asan: a freed memtable, segment
// or storage object read here is an error).
TEST_F(StoreTest, IteratorsAndSnapshotsOutliveTheStore) {
  for (int order = 0; order < 2; order++) {
    SCOPED_TRACE(order == 0 ? "store destroyed first" : "iterator destroyed first");
    std::unique_ptr<Iterator> it;
    std::shared_ptr<const Snapshot> snap;
    {
      Options o = Opts();
      o.data_dir = tmp_.Sub(order == 0 ? "a" : "b");
      auto store = Store::Open(o);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      auto db = (*store)->OpenDatabase("d");
      ASSERT_TRUE(db.ok());
      for (int i = 0; i < 100; i++) ASSERT_TRUE((*db)->Put(fmt::format("k{:03}", i), "flushed").ok());
      ASSERT_TRUE((*db)->Flush().ok());  // in a segment file
      for (int i = 100; i < 150; i++) ASSERT_TRUE((*db)->Put(fmt::format("k{:03}", i), "in memory").ok());
      snap = (*db)->GetSnapshot();
      ReadOptions ro;
      ro.snapshot = snap;
      it = (*db)->NewIterator(ro);
      ASSERT_TRUE((*db)->Put("k000", "after the snapshot").ok());
      if (order == 1) {
        int n = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
        EXPECT_EQ(n, 150);
        it.reset();
        snap.reset();
      }
      // The handle and the store go away here.
    }
    if (order == 0) {
      int n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        EXPECT_EQ(it->value(), n < 100 ? "flushed" : "in memory") << it->key();
        n++;
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      EXPECT_EQ(n, 150);
      EXPECT_GT(snap->sequence(), 0u);
      snap.reset();
      it.reset();
    }
  }
}

// A full disk makes the store read-only; its status says why and what
// would let it write again, and reads go on.
TEST_F(StoreTest, StatusSaysWhyTheStoreIsReadOnlyAndWhatToDo) {
  MemFileSystem mem;
  FaultInjectionFileSystem fs(&mem);
  Options o;
  o.data_dir = "/store";
  auto store = OpenStore(o, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto db = (*store)->OpenDatabase("d");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Put("kept", "v").ok());
  fs.SetSpaceBudget(0);
  Status s = (*db)->Put("more", "v");
  ASSERT_TRUE(s.IsNoSpace() || s.IsIOError()) << s.ToString();
  StoreStatus st = (*store)->GetStatus();
  EXPECT_NE(st.background_error.find("read-only until reopened"), std::string::npos) << st.background_error;
  EXPECT_NE(st.background_error.find("free space on the file system holding /store"), std::string::npos)
      << st.background_error;
  EXPECT_EQ(*(*db)->Get("kept"), "v");
  fs.ClearSpaceBudget();
}

// The names `top -H` and perf show (docs/server.md, "Threads").
std::multiset<std::string> ThreadNames() {
  std::multiset<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

TEST_F(StoreTest, BackgroundThreadsAreNamed) {
  auto store = Store::Open(Opts());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // A thread names itself once it runs: wait for every name (bounded).
  const std::vector<std::string> expected = {"ebb-bg-dispatch", "ebb-bg-1",    "ebb-bg-driver", "ebb-jrnl-sync",
                                             "rp-high-1",       "rp-normal-1", "rp-low-1"};
  auto all_named = [&] {
    std::multiset<std::string> names = ThreadNames();
    for (const auto& name : expected) {
      if (names.count(name) != 1) return false;
    }
    return true;
  };
  for (int i = 0; i < 1000 && !all_named(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::multiset<std::string> names = ThreadNames();
  for (const auto& name : expected) EXPECT_EQ(names.count(name), 1u) << name;
  ASSERT_TRUE((*store)->Close().ok());
  EXPECT_EQ(ThreadNames().count("ebb-bg-dispatch"), 0u);
}

TEST_F(StoreTest, SecondOpenIsLockedWithPid) {
  auto first = Store::Open(Opts());
  ASSERT_TRUE(first.ok());
  auto second = Store::Open(Opts());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsLocked());
  EXPECT_NE(second.status().message().find("locked by"), std::string::npos) << second.status().ToString();
}

TEST_F(StoreTest, ConfigurationErrorsAreClear) {
  Options o = Opts();
  o.Set("journal.sync", "sometimes");
  auto store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("journal.sync"), std::string::npos) << store.status().ToString();

  std::string path = tmp_.Sub("bad.toml");
  FILE* f = fopen(path.c_str(), "w");
  fputs("[store]\nmemtable_bytes = \"lots\"\n", f);
  fclose(f);
  o = Opts();
  o.config_file = path;
  store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("bad.toml line 2"), std::string::npos) << store.status().ToString();
}

TEST_F(StoreTest, RuntimeConfigRefusesRestartSettings) {
  auto store = Store::Open(Opts());
  ASSERT_TRUE(store.ok());
  Status s = (*store)->SetConfig("journal", "sync", "always");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("restart"), std::string::npos);
  EXPECT_EQ(*(*store)->GetConfig("server", "requirepass"), "");
  EXPECT_TRUE((*store)->SetConfig("server", "requirepass", "planted-secret").ok());
  // Secrets are write-only: shown as set, never as their value.
  EXPECT_EQ(*(*store)->GetConfig("server", "requirepass"), "(set)");
  EXPECT_TRUE((*store)->GetConfig("nope", "nope").status().IsNotFound());
  bool found = false;
  for (const auto& c : (*store)->ListConfig()) {
    found |= c.section == "journal" && c.key == "sync" && c.value == "batch";
    EXPECT_EQ(c.value.find("planted-secret"), std::string::npos) << c.section << "." << c.key;
  }
  EXPECT_TRUE(found);
}

TEST_F(StoreTest, ConfigChangesAreValidatedByTheirOwnerAndAppliedAllOrNone) {
  auto store = Store::Open(Opts());
  ASSERT_TRUE(store.ok());
  // The scheduler refuses a band whose low end is above its high end: the
  // change is refused up front instead of stored and never applied.
  const int64_t high = std::stoll(*(*store)->GetConfig("work.writeback", "band_high_bytes"));
  Status s = (*store)->SetConfig("work.writeback", "band_low_bytes", std::to_string(high + 1));
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("band_low_bytes"), std::string::npos) << s.ToString();
  EXPECT_NE(*(*store)->GetConfig("work.writeback", "band_low_bytes"), std::to_string(high + 1));
  // ... so later work.* changes still apply.
  EXPECT_TRUE((*store)->SetConfig("work", "policy", "eager").ok());
  EXPECT_EQ((*store)->GetStatus().work.policy, "eager");
  // Several pairs: one bad one and none is applied.
  s = (*store)->SetConfig({{"readpool", "max_tasks_per_worker_low", "77"},
                           {"work.compaction", "band_low_bytes", "1TiB"}});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(*(*store)->GetConfig("readpool", "max_tasks_per_worker_low"), "77");
  // Together valid though one alone is not: raising both ends of a band.
  EXPECT_TRUE((*store)->SetConfig({{"work.compaction", "band_low_bytes", "1TiB"},
                                   {"work.compaction", "band_high_bytes", "2TiB"}})
                  .ok());
  EXPECT_EQ(*(*store)->GetConfig("work.compaction", "band_low_bytes"), std::to_string(int64_t{1} << 40));
}

TEST_F(StoreTest, DataSurvivesReopenAndDropIsDurable) {
  {
    auto store = Store::Open(Opts());
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 50; i++) {
      auto db = (*store)->OpenDatabase("db" + std::to_string(i));
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE((*db)->Put("k", std::to_string(i)).ok());
    }
    ASSERT_TRUE((*store)->DropDatabase("db7").ok());
  }
  auto store = Store::Open(Opts());
  ASSERT_TRUE(store.ok());
  auto names = (*store)->ListDatabases();
  EXPECT_EQ(names.size(), 49u);
  EXPECT_EQ(*(*(*store)->OpenDatabase("db42"))->Get("k"), "42");
  EXPECT_TRUE((*store)->OpenDatabase("db7", false).status().IsNotFound());
}

TEST_F(StoreTest, MissingStoreWithoutCreateIsNotFound) {
  Options o = Opts();
  o.create_if_missing = false;
  auto store = Store::Open(o);
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
}

}  // namespace
}  // namespace ebb
