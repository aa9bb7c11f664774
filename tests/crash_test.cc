// Crash tests with the fault-injecting file system over the power-loss file
// system: a store under load "dies" at a random file operation (every later
// write, sync or rename fails, as if the process was gone), then a power
// loss keeps a random subset of the pages written since their file's last
// sync and reverts every directory to its last synced entries, and the
// store is reopened.
//
// Invariants checked after every crash:
//   - with journal.sync = always, every acknowledged write is there;
//   - no write batch is half-applied (each batch writes one generation to
//     several keys; recovered keys of a batch agree);
//   - per key, the recovered value is the last acknowledged one or one
//     written after it (never an older one, never garbage).

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "base/random.h"
#include "base/test_util.h"
#include "ebb/ebb.h"
#include "engine/engine.h"
#include "env/fault_injection_file_system.h"
#include "env/power_loss_file_system.h"

namespace ebb {
namespace {

struct CrashParams {
  std::string sync;
  FaultOp op;
  const char* op_name;
};

// How ctest and gtest show the parameter (instead of a byte dump).
void PrintTo(const CrashParams& p, std::ostream* os) { *os << "journal.sync=" << p.sync << ", crash at " << p.op_name; }

class CrashTest : public ::testing::TestWithParam<CrashParams> {};

// Each writer owns keys "w<t>-<k>"; batch g of writer t writes generation g
// to keys k, k+1, k+2 (mod kKeys).
constexpr int kWriters = 3;
constexpr int kKeys = 64;

struct WriterLog {
  // Per key: generations attempted in order, and the last acknowledged.
  std::map<std::string, std::vector<uint64_t>> attempted;
  std::map<std::string, uint64_t> acked;
};

void RunOneCrash(const CrashParams& p, uint64_t seed) {
  SCOPED_TRACE(fmt::format("seed {} sync {} crash at {}", seed, p.sync, p.op_name));
  Random rnd(seed);
  PowerLossFileSystem disk;
  FaultInjectionFileSystem fs(&disk);
  Options options;
  options.data_dir = "/store";
  options.Set("journal.sync", p.sync);
  options.Set("store.memtable_bytes", "8KiB");  // flush (and compact) often
  options.Set("journal.segment_bytes", "64KiB");
  {
    auto store = OpenStore(options, EngineEnv{&fs, nullptr});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // The crash: the Nth next operation of this kind and everything after it fail.
    int nth = 1 + static_cast<int>(rnd.Uniform(p.op == FaultOp::kAppend ? 400 : 40));
    fs.FailNth(p.op, nth, Status::IOError("simulated crash"), /*sticky=*/true);
    std::vector<WriterLog> logs(kWriters);
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; t++) {
      threads.emplace_back([&, t] {
        auto db = (*store)->OpenDatabase(t == 2 ? "other" : "main");
        if (!db.ok()) return;
        for (uint64_t g = 1; g <= 400; g++) {
          int k = static_cast<int>((g * 7 + static_cast<uint64_t>(t)) % kKeys);
          WriteBatch batch;
          std::vector<std::string> keys;
          for (int j = 0; j < 3; j++) keys.push_back(fmt::format("w{}-{}", t, (k + j) % kKeys));
          for (const auto& key : keys) {
            batch.Put(key, fmt::format("{}:{}", g, std::string(20 + g % 50, 'v')));
            logs[t].attempted[key].push_back(g);
          }
          Status s = (*db)->Write(WriteOptions(), batch);
          if (!s.ok()) return;  // the process is "dead"
          for (const auto& key : keys) logs[t].acked[key] = g;
          if (g % 50 == 0) (void)(*db)->Compact();
        }
      });
    }
    for (auto& th : threads) th.join();
    fs.Deactivate();
    store->reset();  // close errors are expected: the file system is gone
    PowerLossFileSystem::CrashOptions crash;
    crash.seed = rnd.Next();
    auto report = disk.SimulatePowerLoss(crash);
    SCOPED_TRACE(report.ToString());
    fs.ClearFaults();
    fs.Reactivate();

    auto reopened = OpenStore(options, EngineEnv{&fs, nullptr});
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    for (int t = 0; t < kWriters; t++) {
      auto db = (*reopened)->OpenDatabase(t == 2 ? "other" : "main", /*create_if_missing=*/true);
      ASSERT_TRUE(db.ok());
      std::map<uint64_t, std::vector<std::string>> batch_keys;  // generation -> keys recovered with it
      for (const auto& [key, gens] : logs[t].attempted) {
        auto v = (*db)->Get(key);
        uint64_t acked = logs[t].acked.count(key) ? logs[t].acked.at(key) : 0;
        if (v.status().IsNotFound()) {
          if (p.sync == "always") ASSERT_EQ(acked, 0u) << key << " lost an acknowledged write";
          continue;
        }
        ASSERT_TRUE(v.ok()) << v.status().ToString();
        uint64_t g = std::stoull(v->substr(0, v->find(':')));
        ASSERT_EQ(*v, fmt::format("{}:{}", g, std::string(20 + g % 50, 'v'))) << key << " holds garbage";
        ASSERT_TRUE(std::find(gens.begin(), gens.end(), g) != gens.end()) << key << " holds a value never written";
        if (p.sync == "always") ASSERT_GE(g, acked) << key << " went back before an acknowledged write";
        batch_keys[g].push_back(key);
      }
      // No half-applied batch: a recovered generation shows up on all keys
      // of its batch unless a later batch overwrote some of them.
      for (const auto& [g, keys] : batch_keys) {
        int k = static_cast<int>((g * 7 + static_cast<uint64_t>(t)) % kKeys);
        for (int j = 0; j < 3; j++) {
          std::string key = fmt::format("w{}-{}", t, (k + j) % kKeys);
          auto v = (*db)->Get(key);
          ASSERT_TRUE(v.ok()) << "batch " << g << " recovered partly: " << key << " missing";
          uint64_t got = std::stoull(v->substr(0, v->find(':')));
          ASSERT_GE(got, g) << "batch " << g << " recovered partly: " << key << " holds " << got;
        }
      }
    }
  }
}

TEST_P(CrashTest, AcknowledgedWritesSurviveAndBatchesAreAtomic) {
  uint64_t base = testing::TestSeed(7000);
  for (uint64_t i = 0; i < 12; i++) {
    RunOneCrash(GetParam(), base + i);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Points, CrashTest,
    ::testing::Values(CrashParams{"always", FaultOp::kAppend, "append"}, CrashParams{"always", FaultOp::kSync, "sync"},
                      CrashParams{"always", FaultOp::kRename, "rename"},
                      CrashParams{"always", FaultOp::kCreate, "create"},
                      CrashParams{"always", FaultOp::kSyncDir, "syncdir"},
                      CrashParams{"batch", FaultOp::kAppend, "append"}, CrashParams{"batch", FaultOp::kSync, "sync"},
                      CrashParams{"none", FaultOp::kSync, "sync"}),
    [](const auto& info) { return info.param.sync + "_" + info.param.op_name; });

}  // namespace
}  // namespace ebb
