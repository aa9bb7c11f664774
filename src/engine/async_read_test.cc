#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include <fmt/format.h>

#include "engine/engine.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

class AsyncReadTest : public ::testing::Test {
 protected:
  void Open(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    Options o;
    o.data_dir = "/store";
    for (auto& kv : overrides) o.Set(kv.first, kv.second);
    auto store = OpenStore(o, EngineEnv{&fs_, nullptr});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    db_ = *store_->OpenDatabase("d");
  }
  MemFileSystem fs_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<Database> db_;
};

TEST_F(AsyncReadTest, GetMultiGetAndScanRunOnThePool) {
  Open();
  for (int i = 0; i < 25; i++) ASSERT_TRUE(db_->Put(fmt::format("k{:02}", i), fmt::format("v{}", i)).ok());
  EXPECT_EQ(*db_->GetAsync("k07", Priority::kHigh).get(), "v7");
  EXPECT_TRUE(db_->GetAsync("nope", Priority::kLow).get().status().IsNotFound());

  std::promise<std::vector<Result<std::string>>> multi;
  ASSERT_TRUE(db_->MultiGetAsync({"k01", "zz", "k24"}, Priority::kNormal,
                                 [&](std::vector<Result<std::string>> r) { multi.set_value(std::move(r)); })
                  .ok());
  auto got = multi.get_future().get();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(*got[0], "v1");
  EXPECT_TRUE(got[1].status().IsNotFound());
  EXPECT_EQ(*got[2], "v24");

  // Paginated scan covers the range exactly once.
  std::vector<std::string> keys;
  ScanRequest req;
  req.start = "k05";
  req.end = "k20";
  req.limit = 4;
  while (true) {
    std::promise<Result<ScanBatch>> p;
    ASSERT_TRUE(db_->ScanAsync(req, Priority::kLow, [&](Result<ScanBatch> b) { p.set_value(std::move(b)); }).ok());
    auto batch = p.get_future().get();
    ASSERT_TRUE(batch.ok());
    for (auto& [k, v] : batch->entries) keys.push_back(k);
    if (batch->next_start.empty()) break;
    req.start = batch->next_start;
  }
  ASSERT_EQ(keys.size(), 15u);
  EXPECT_EQ(keys.front(), "k05");
  EXPECT_EQ(keys.back(), "k19");
  StoreStatus st = store_->GetStatus();
  EXPECT_GE(st.read_pool.high.admitted + st.read_pool.normal.admitted + st.read_pool.low.admitted, 6u);
}

// A scan that outlives readpool.demote_after_ms at normal priority continues
// on the low pool, from where it stopped and on the same snapshot: the
// caller gets every entry exactly once, and writes made meanwhile are not
// seen.
TEST_F(AsyncReadTest, LongScanContinuesAtLowPriority) {
  Open({{"readpool.demote_after_ms", "0.001"}});
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(db_->Put(fmt::format("k{:05}", i), "v").ok());
  const uint64_t low_before = store_->GetStatus().read_pool.low.admitted;
  ScanRequest req;
  req.limit = 100000;
  std::promise<Result<ScanBatch>> p;
  ASSERT_TRUE(db_->ScanAsync(req, Priority::kNormal, [&](Result<ScanBatch> b) { p.set_value(std::move(b)); }).ok());
  ASSERT_TRUE(db_->Put("k99999", "written after the scan started").ok());
  auto batch = p.get_future().get();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->entries.size(), 5000u) << "every entry once, nothing written after the scan began";
  for (size_t i = 0; i < batch->entries.size(); i++) ASSERT_EQ(batch->entries[i].first, fmt::format("k{:05}", i));
  EXPECT_TRUE(batch->next_start.empty());
  EXPECT_GT(store_->GetStatus().read_pool.low.admitted, low_before) << "the rest ran on the low pool";
}

TEST_F(AsyncReadTest, ScanKeysOnlyAndBoundedByBytes) {
  Open();
  const std::string big(1 << 20, 'v');
  for (int i = 0; i < 8; i++) ASSERT_TRUE(db_->Put(fmt::format("k{}", i), big).ok());
  auto scan = [&](ScanRequest req) {
    std::promise<Result<ScanBatch>> p;
    EXPECT_TRUE(db_->ScanAsync(req, Priority::kLow, [&](Result<ScanBatch> b) { p.set_value(std::move(b)); }).ok());
    return p.get_future().get();
  };
  ScanRequest keys;
  keys.limit = 100;
  keys.keys_only = true;
  auto only = scan(keys);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->entries.size(), 8u);
  for (const auto& [k, v] : only->entries) EXPECT_EQ(v, "") << k;
  EXPECT_EQ(only->next_start, "");
  // A byte bound stops the batch (after at least one entry) and says where
  // to go on.
  ScanRequest bounded;
  bounded.limit = 100;
  bounded.max_bytes = 2 * big.size();
  auto first = scan(bounded);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->entries.size(), 2u);
  EXPECT_EQ(first->entries[1].second.size(), big.size());
  EXPECT_EQ(first->next_start, "k2");
  bounded.max_bytes = 1;
  EXPECT_EQ(scan(bounded)->entries.size(), 1u);
}

TEST_F(AsyncReadTest, FullPoolAnswersBusyAtOnceWithAnEstimate) {
  Open({{"readpool.threads_normal", "1"}, {"readpool.max_tasks_per_worker_normal", "2"}});
  ASSERT_TRUE(db_->Put("k", "v").ok());
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};
  // Two admitted reads whose callbacks hold the only worker.
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(db_->GetAsync("k", Priority::kNormal, [&](Result<std::string>) {
                    ran++;
                    gate.wait();
                  }).ok());
  }
  Status s = db_->GetAsync("k", Priority::kNormal, [&](Result<std::string>) { ran++; });
  ASSERT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.message().find("estimated wait"), std::string::npos) << s.ToString();
  // Other priorities are unaffected.
  EXPECT_EQ(*db_->GetAsync("k", Priority::kHigh).get(), "v");
  release.set_value();
  while (ran.load() < 2) std::this_thread::yield();
  EXPECT_GE(store_->GetStatus().read_pool.normal.rejected, 1u);
}

TEST_F(AsyncReadTest, ReadsQueuedAtCloseAreAbortedNotLost) {
  Open({{"readpool.threads_low", "1"}});
  ASSERT_TRUE(db_->Put("k", "v").ok());
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ok{0}, aborted{0};
  std::promise<void> started;
  ASSERT_TRUE(db_->GetAsync("k", Priority::kLow, [&](Result<std::string> r) {
                  started.set_value();
                  gate.wait();
                  ok += r.ok();
                }).ok());
  started.get_future().wait();
  for (int i = 0; i < 10; i++) {
    ASSERT_TRUE(db_->GetAsync("k", Priority::kLow, [&](Result<std::string> r) {
                    if (r.status().IsAborted()) aborted++;
                  }).ok());
  }
  std::thread closer([&] { ASSERT_TRUE(store_->Close().ok()); });
  // Close aborts the queued reads while the running one still holds its worker.
  while (aborted.load() < 10) std::this_thread::yield();
  release.set_value();
  closer.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 10);
  EXPECT_TRUE(db_->GetAsync("k", Priority::kLow).get().status().IsAborted());
}

}  // namespace
}  // namespace ebb
