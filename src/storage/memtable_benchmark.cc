// Micro-benchmark: inserting ebb-bench fillrandom's entries (16-byte keys,
// 100-byte values, random order) into a memtable, one thread. Run:
//   build/release/bin/memtable_benchmark
// Each iteration inserts into a memtable of range(0) entries, so the table
// grows as it does between two flushes.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "storage/memtable.h"

namespace ebb {
namespace {

std::vector<std::string> RandomKeys(size_t n) {
  Random rnd(301);
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; i++) {
    std::string k = std::to_string(rnd.Uniform(1000000));
    keys.push_back(std::string(16 - k.size(), '0') + k);
  }
  return keys;
}

void BM_MemTableAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> keys = RandomKeys(n);
  const std::string value(100, 'v');
  for (auto _ : state) {
    auto mem = std::make_unique<MemTable>(1);
    SequenceNumber seq = 1;
    for (const auto& k : keys) mem->Add(seq++, ValueType::kValue, k, value);
    benchmark::DoNotOptimize(mem->entries());
    state.PauseTiming();
    // Memory per entry (arena blocks) against the 116 key and value bytes
    // that store.memtable_bytes counts.
    state.counters["arena_bytes_per_entry"] = static_cast<double>(mem->MemoryUsage()) / static_cast<double>(n);
    mem.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_MemTableAdd)->Arg(1000)->Arg(140000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ebb

BENCHMARK_MAIN();
