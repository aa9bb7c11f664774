// Reads of evicted segments through the engine, with the object store a
// MemObjectStore the test can stall or fail: asynchronous reads fetch on
// the fetch pool and never hold a read thread while the object store is
// slow; fetches are bounded by a queue and a deadline; an unreachable
// object store at open leaves local data readable.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "engine/admin.h"
#include "engine/engine.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"

namespace ebb {
namespace {

constexpr int kKeys = 3000;

std::string Value(int i) { return fmt::format("value-{:06}-{}", i, std::string(150, 'a' + i % 26)); }

class ColdReadTest : public ::testing::Test {
 protected:
  Options Opts(std::vector<std::pair<std::string, std::string>> overrides) {
    Options o;
    o.data_dir = "/store";
    o.Set("store.memtable_bytes", "64KiB");
    o.Set("work.interval_ms", "20");
    o.Set("work.idle_hysteresis_ms", "40");
    o.Set("work.idle_horizon_ms", "200");
    o.Set("smoosh.wait_secs", "0");
    o.Set("tiering.enabled", "true");
    o.Set("tiering.local_target_bytes", "128KiB");
    o.Set("tiering.min_age_s", "0");
    o.Set("tiering.archive_target_bytes", "1MiB");
    o.Set("tiering.recall", "false");
    o.Set("readpool.threads_normal", "1");
    for (auto& kv : overrides) o.Set(kv.first, kv.second);
    return o;
  }
  void Open(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    auto store = OpenStore(Opts(overrides), EngineEnv{&fs_, nullptr, &objects_});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    db_ = *store_->OpenDatabase("d");
  }
  // Writes kKeys keys, then waits (bounded) until most segments are evicted.
  // Compaction is suspended: a merge of the first segments before they are
  // evicted would keep ColdKey() local (a new segment), and the test's cold
  // read would not be cold.
  void FillAndEvict() {
    ASSERT_TRUE(SuspendCompactionChannel(store_.get(), "all").ok());
    for (int i = 0; i < kKeys; i++) {
      ASSERT_TRUE(db_->Put(fmt::format("key{:06}", i), Value(i)).ok());
      if (i % 300 == 299) ASSERT_TRUE(db_->Flush().ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (store_->GetStatus().tiering.segments_evicted < 5) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "nothing was evicted";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Nothing fetched any evicted segment: reads of them start cold.
    EXPECT_EQ(store_->GetStatus().tiering.cache.fetches, 0u);
  }
  // A key in an evicted segment that the member cache does not hold.
  std::string ColdKey() { return "key000010"; }
  // A key in the memtable.
  std::string HotKey() {
    EXPECT_TRUE(db_->Put("hot", "here").ok());
    return "hot";
  }
  void WaitForStalledCall() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (objects_.stalled_calls() == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no call reached the object store";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  MemFileSystem fs_;
  MemObjectStore objects_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<Database> db_;
};

// One normal-priority read thread. A cold read meets a stalled object
// store: its fetch waits on the fetch pool, the read thread is free, and a
// hot read completes while the cold one waits. Then the store answers and
// the cold read gets its value.
TEST_F(ColdReadTest, AColdReadWaitingOnTheObjectStoreDoesNotHoldTheReadThread) {
  Open();
  FillAndEvict();
  std::string hot = HotKey();
  objects_.Stall();
  auto cold = db_->GetAsync(ColdKey(), Priority::kNormal);
  WaitForStalledCall();
  auto warm = db_->GetAsync(hot, Priority::kNormal);
  ASSERT_EQ(warm.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "the hot read waited behind S3";
  EXPECT_EQ(*warm.get(), "here");
  EXPECT_NE(cold.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  objects_.Resume();
  auto value = cold.get();
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, Value(10));
  FetchPoolStats fetch = store_->GetStatus().tiering.fetch;
  EXPECT_GE(fetch.fetches, 1u);
  EXPECT_EQ(fetch.threads, 4u);
}

// The old way (tiering.fetch_threads = 0), for contrast: the cold read
// fetches on the read thread, and the hot read queues behind it.
TEST_F(ColdReadTest, WithoutAFetchPoolTheHotReadQueuesBehindTheColdOne) {
  Open({{"tiering.fetch_threads", "0"}});
  FillAndEvict();
  std::string hot = HotKey();
  objects_.Stall();
  auto cold = db_->GetAsync(ColdKey(), Priority::kNormal);
  WaitForStalledCall();
  auto warm = db_->GetAsync(hot, Priority::kNormal);
  // The only read thread is inside the object store call: the hot read has
  // not run (it cannot, until the stall ends).
  EXPECT_NE(warm.wait_for(std::chrono::milliseconds(50)), std::future_status::ready);
  objects_.Resume();
  EXPECT_EQ(*warm.get(), "here");
  EXPECT_EQ(*cold.get(), Value(10));
}

TEST_F(ColdReadTest, AFetchPastItsDeadlineIsTimedOutNamingTheObjectStore) {
  Open({{"tiering.fetch_timeout_ms", "100"}});
  FillAndEvict();
  objects_.Stall();
  auto cold = db_->GetAsync(ColdKey(), Priority::kNormal).get();
  objects_.Resume();
  ASSERT_FALSE(cold.ok());
  EXPECT_TRUE(cold.status().IsTimedOut()) << cold.status().ToString();
  EXPECT_NE(cold.status().message().find("tiering.fetch_timeout_ms"), std::string::npos) << cold.status().ToString();
  EXPECT_NE(cold.status().message().find("mem:"), std::string::npos) << cold.status().ToString();
  EXPECT_EQ(store_->GetStatus().tiering.fetch.timeouts, 1u);
  // Nothing half-cached: the next read gets the value.
  EXPECT_EQ(*db_->GetAsync(ColdKey(), Priority::kNormal).get(), Value(10));
}

// A full fetch queue answers Busy at once instead of queueing without bound.
TEST_F(ColdReadTest, AFullFetchQueueIsBusyAtOnce) {
  Open({{"tiering.fetch_threads", "1"}, {"tiering.fetch_queue", "2"}, {"readpool.threads_normal", "4"}});
  FillAndEvict();
  objects_.Stall();
  std::vector<std::future<Result<std::string>>> reads;
  // Keys far apart: different evicted segments, different fetches.
  for (int i = 0; i < 6; i++) reads.push_back(db_->GetAsync(fmt::format("key{:06}", i * 450 + 5), Priority::kNormal));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store_->GetStatus().tiering.fetch.rejected == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no read was refused";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  objects_.Resume();
  int busy = 0, ok = 0;
  for (int i = 0; i < 6; i++) {
    auto r = reads[i].get();
    if (r.ok()) {
      EXPECT_EQ(*r, Value(i * 450 + 5));
      ok++;
    } else {
      EXPECT_TRUE(r.status().IsBusy()) << r.status().ToString();
      EXPECT_NE(r.status().message().find("tiering.fetch_queue"), std::string::npos) << r.status().ToString();
      busy++;
    }
  }
  EXPECT_GT(busy, 0);
  EXPECT_GT(ok, 0);
}

// A batch and a scan that span several evicted segments: each stops at the
// next segment to fetch and runs again; every value comes back right.
TEST_F(ColdReadTest, MultiGetAndScanOverManyEvictedSegments) {
  Open({{"tiering.cache_bytes", "8MiB"}});
  FillAndEvict();
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; i += 150) keys.push_back(fmt::format("key{:06}", i));
  std::promise<std::vector<Result<std::string>>> multi;
  ASSERT_TRUE(db_->MultiGetAsync(keys, Priority::kNormal,
                                 [&](std::vector<Result<std::string>> r) { multi.set_value(std::move(r)); })
                  .ok());
  auto got = multi.get_future().get();
  ASSERT_EQ(got.size(), keys.size());
  for (size_t k = 0; k < keys.size(); k++) {
    ASSERT_TRUE(got[k].ok()) << keys[k] << ": " << got[k].status().ToString();
    EXPECT_EQ(*got[k], Value(static_cast<int>(k) * 150));
  }
  EXPECT_GT(store_->GetStatus().tiering.fetch.fetches, 1u);
  ScanRequest req;
  req.limit = kKeys;
  std::promise<Result<ScanBatch>> scanned;
  ASSERT_TRUE(db_->ScanAsync(req, Priority::kLow, [&](Result<ScanBatch> b) { scanned.set_value(std::move(b)); }).ok());
  auto batch = scanned.get_future().get();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->entries.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; i++) ASSERT_EQ(batch->entries[i].second, Value(i));
}

// The object store fails at open: the store opens, local data reads, a
// read of an evicted segment is Unavailable naming the store, writes go on;
// once the store is back, the agent reconnects and the cold read works.
TEST_F(ColdReadTest, OpensWithTheObjectStoreDownAndRecovers) {
  Open();
  FillAndEvict();
  ASSERT_TRUE(store_->Close().ok());
  db_.reset();
  store_.reset();
  objects_.FailNth(ObjectOp::kGet, 1, Status::Unavailable("mem: injected outage"), /*sticky=*/true);
  objects_.FailNth(ObjectOp::kList, 1, Status::Unavailable("mem: injected outage"), /*sticky=*/true);
  Open();
  TieringStatus st = store_->GetStatus().tiering;
  EXPECT_EQ(st.object_store, "unreachable");
  EXPECT_NE(st.object_store_error.find("injected outage"), std::string::npos) << st.object_store_error;
  auto cold = db_->GetAsync(ColdKey(), Priority::kNormal).get();
  EXPECT_TRUE(cold.status().IsUnavailable()) << cold.status().ToString();
  EXPECT_NE(cold.status().message().find("mem:mem"), std::string::npos) << cold.status().ToString();
  auto blocking = db_->Get(ColdKey());
  EXPECT_TRUE(blocking.status().IsUnavailable()) << blocking.status().ToString();
  EXPECT_EQ(*db_->Get(fmt::format("key{:06}", kKeys - 1)), Value(kKeys - 1)) << "local data is served";
  ASSERT_TRUE(db_->Put("during-outage", "1").ok());
  objects_.ClearFaults();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store_->GetStatus().tiering.object_store != "connected") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "did not reconnect";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*db_->GetAsync(ColdKey(), Priority::kNormal).get(), Value(10));
}

}  // namespace
}  // namespace ebb
