// Micro-benchmarks of the ReadPool's admission path:
//   - the cost of a rejected submission (target < 10 us): the caller must
//     learn "Busy" at once, so this is what an overloaded server pays per
//     request it turns away;
//   - the round trip of an admitted no-op task (submit, run on a worker,
//     future ready), i.e. the fixed overhead a read pays for leaving the
//     caller's thread.
//
//   build/release/bin/read_pool_benchmark

#include <benchmark/benchmark.h>

#include <memory>

#include "base/logging.h"
#include "runtime/future_pool.h"
#include "runtime/read_pool.h"
#include "runtime/test_gate.h"

namespace ebb {
namespace {

std::unique_ptr<ReadPool> NewPool(int threads, int64_t max_tasks_per_worker) {
  ReadPoolSettings settings = ReadPoolSettings::Defaults();
  for (Priority p : {Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    settings.ForPriority(p).threads = threads;
    settings.ForPriority(p).max_tasks_per_worker = max_tasks_per_worker;
  }
  auto pool = ReadPool::Create({.settings = settings, .name = "bench"});
  EBB_CHECK_MSG(pool.ok(), "{}", pool.status().ToString());
  return std::move(pool).value();
}

// A low pool of one thread and a limit of one, held full by a blocked task.
struct FullPool {
  FullPool() : pool(NewPool(1, 1)) {
    held = pool->SpawnFuture(Priority::kLow, [this](TaskContext&) {
      gate.Pass();
      return Status::OK();
    });
    gate.WaitForArrivals(1);
  }
  ~FullPool() {
    gate.Open();
    EBB_CHECK(held.get().ok());
  }
  TestGate gate;
  std::unique_ptr<ReadPool> pool;
  std::future<Status> held;
};

void BM_RejectedSpawn(benchmark::State& state) {
  static FullPool* full_pool = nullptr;
  if (state.thread_index() == 0) full_pool = new FullPool();
  ReadPoolFull full;
  for (auto _ : state) {
    Status s = full_pool->pool->Spawn(Priority::kLow, [](TaskContext&) {}, [](const Status&) {}, &full);
    benchmark::DoNotOptimize(s);
    if (!s.IsBusy()) state.SkipWithError("submission was not refused");
  }
  if (state.thread_index() == 0) {
    delete full_pool;
    full_pool = nullptr;
  }
}
BENCHMARK(BM_RejectedSpawn)->Threads(1)->Threads(2)->UseRealTime();

void BM_RejectedSpawnFuture(benchmark::State& state) {
  FullPool full_pool;
  for (auto _ : state) {
    std::future<Status> f = full_pool.pool->SpawnFuture(Priority::kLow, [](TaskContext&) { return Status::OK(); });
    Status s = f.get();
    benchmark::DoNotOptimize(s);
    if (!s.IsBusy()) state.SkipWithError("submission was not refused");
  }
}
BENCHMARK(BM_RejectedSpawnFuture);

void BM_AdmittedNoopRoundTrip(benchmark::State& state) {
  auto pool = NewPool(static_cast<int>(state.range(0)), 2000);
  for (auto _ : state) {
    Status s = pool->SpawnFuture(Priority::kNormal, [](TaskContext&) { return Status::OK(); }).get();
    benchmark::DoNotOptimize(s);
  }
  pool->Stop();
}
BENCHMARK(BM_AdmittedNoopRoundTrip)->Arg(1)->Arg(2)->UseRealTime();

// The same round trip on a bare FuturePool: what admission and metrics add.
void BM_FuturePoolNoopRoundTrip(benchmark::State& state) {
  auto pool = FuturePool::Create({.name = "bench", .threads = 1});
  EBB_CHECK(pool.ok());
  for (auto _ : state) {
    Status s = (*pool)->SpawnFuture([](TaskContext&) { return Status::OK(); }).get();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_FuturePoolNoopRoundTrip)->UseRealTime();

// Admitted throughput: a burst of 1000 no-op reads, then wait for all.
void BM_AdmittedNoopBurst(benchmark::State& state) {
  auto pool = NewPool(2, 2000);
  constexpr int kBurst = 1000;
  std::vector<std::future<Status>> futures;
  futures.reserve(kBurst);
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < kBurst; i++) {
      futures.push_back(pool->SpawnFuture(Priority::kNormal, [](TaskContext&) { return Status::OK(); }));
    }
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}
BENCHMARK(BM_AdmittedNoopBurst)->UseRealTime();

}  // namespace
}  // namespace ebb

BENCHMARK_MAIN();
