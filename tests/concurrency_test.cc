// Many threads on many databases at once (run it under the tsan preset):
// writers, point readers, snapshot iterators, flushes, compactions and
// database create/drop. Checks what users rely on: monotonic reads of each
// key, atomic visibility of batches in snapshots, and nothing lost.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "base/random.h"
#include "base/test_util.h"
#include "ebb/ebb.h"
#include "engine/engine.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

TEST(ConcurrencyTest, WritersReadersSnapshotsFlushesCompactionsAndDrops) {
  MemFileSystem fs;
  Options options;
  options.data_dir = "/store";
  options.Set("journal.sync", "none");
  options.Set("store.memtable_bytes", "16KiB");
  // Flushes come from the explicit Flush calls below and writeback; keep the
  // write throttle out of the way so the test stays quick.
  options.Set("work.writeback.band_high_bytes", "64MiB");
  auto store = OpenStore(options, EngineEnv{&fs, nullptr});
  ASSERT_TRUE(store.ok());
  constexpr int kDbs = 6, kWriters = 4, kRounds = 1500;
  std::vector<std::shared_ptr<Database>> dbs;
  for (int i = 0; i < kDbs; i++) dbs.push_back(*(*store)->OpenDatabase(fmt::format("db{}", i)));

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& what) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what;
  };

  std::vector<std::thread> threads;
  // Writers: each owns pair (x<t>, y<t>) in every database and writes the
  // same counter to both in one batch.
  for (int t = 0; t < kWriters; t++) {
    threads.emplace_back([&, t] {
      for (int r = 1; r <= kRounds; r++) {
        auto& db = dbs[static_cast<size_t>(r % kDbs)];
        WriteBatch b;
        b.Put(fmt::format("x{}", t), fmt::format("{:08}", r));
        b.Put(fmt::format("y{}", t), fmt::format("{:08}", r));
        b.Put(fmt::format("bulk{}-{}", t, r % 200), std::string(200, 'b'));
        if (Status s = db->Write(WriteOptions(), b); !s.ok()) fail("write: " + s.ToString());
      }
    });
  }
  // Point readers: per (db, key), values never go backwards.
  for (int t = 0; t < 2; t++) {
    threads.emplace_back([&, t] {
      Random rnd(t + 1);
      std::map<std::string, std::string> last;
      while (!done.load()) {
        int d = static_cast<int>(rnd.Uniform(kDbs));
        std::string key = fmt::format("x{}", rnd.Uniform(kWriters));
        auto v = dbs[static_cast<size_t>(d)]->Get(key);
        if (v.status().IsNotFound()) continue;
        if (!v.ok()) {
          fail("get: " + v.status().ToString());
          continue;
        }
        std::string& prev = last[fmt::format("{}/{}", d, key)];
        if (*v < prev) fail(fmt::format("db{} {} went back from {} to {}", d, key, prev, *v));
        prev = *v;
      }
    });
  }
  // Snapshot iterators: x<t> and y<t> always agree.
  threads.emplace_back([&] {
    Random rnd(77);
    while (!done.load()) {
      auto& db = dbs[rnd.Uniform(kDbs)];
      auto it = db->NewIterator(ReadOptions());
      std::map<std::string, std::string> seen;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key()[0] == 'x' || it->key()[0] == 'y') seen.emplace(it->key(), it->value());
      }
      if (!it->status().ok()) fail("iterate: " + it->status().ToString());
      for (int t = 0; t < kWriters; t++) {
        if (seen[fmt::format("x{}", t)] != seen[fmt::format("y{}", t)]) fail("batch seen half applied");
      }
    }
  });
  // Maintenance: explicit flushes and compactions, plus create/drop churn.
  threads.emplace_back([&] {
    Random rnd(5);
    int n = 0;
    while (!done.load()) {
      auto& db = dbs[rnd.Uniform(kDbs)];
      Status s = rnd.OneIn(2) ? db->Flush() : db->Compact();
      if (!s.ok() && !s.IsBusy()) fail("maintenance: " + s.ToString());
      std::string name = fmt::format("churn{}", n++ % 5);
      auto churn = (*store)->OpenDatabase(name);
      if (churn.ok()) (void)(*churn)->Put("k", "v");
      (void)(*store)->DropDatabase(name);
    }
  });
  for (int t = 0; t < kWriters; t++) threads[static_cast<size_t>(t)].join();
  done = true;
  for (size_t i = kWriters; i < threads.size(); i++) threads[i].join();
  EXPECT_EQ(failures.load(), 0);

  // Nothing lost: every writer's last batch in each database is there.
  for (int d = 0; d < kDbs; d++) {
    for (int t = 0; t < kWriters; t++) {
      int last = kRounds - ((kRounds - d) % kDbs + kDbs) % kDbs;
      while (last % kDbs != d) last--;
      auto v = dbs[static_cast<size_t>(d)]->Get(fmt::format("x{}", t));
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(*v, fmt::format("{:08}", last));
    }
  }
}

}  // namespace
}  // namespace ebb
