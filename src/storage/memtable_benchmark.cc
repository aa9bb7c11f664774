// Micro-benchmark: inserting ebb-bench fillrandom's entries (16-byte keys,
// 100-byte values, random order) into a memtable, one thread, and reading
// them back. Run:
//   build/release/bin/memtable_benchmark
// Each iteration inserts into a memtable of range(0) entries, so the table
// grows as it does between two flushes; with range(1) = 1 the table gets
// its live filter and point index as a store's would.

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

// range(1): 1 to size the table as DatabaseCore does for a table of these
// entries (a live filter of 1/64 of the payload, and with it the point
// index), 0 for a bare table.
void BM_MemTableAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> keys = RandomKeys(n);
  const std::string value(100, 'v');
  const size_t filter_bytes = state.range(1) ? n * 116 / 64 : 0;
  for (auto _ : state) {
    auto mem = std::make_unique<MemTable>(1, filter_bytes);
    SequenceNumber seq = 1;
    for (const auto& k : keys) mem->Add(seq++, ValueType::kValue, k, value);
    benchmark::DoNotOptimize(mem->entries());
    state.PauseTiming();
    // Memory per entry (arena blocks) against the 116 key and value bytes
    // that store.memtable_bytes counts.
    state.counters["arena_bytes_per_entry"] = static_cast<double>(mem->MemoryUsage()) / static_cast<double>(n);
    // The point index, which neither counts.
    state.counters["index_bytes_per_entry"] = static_cast<double>(mem->IndexBytes()) / static_cast<double>(n);
    mem.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_MemTableAdd)
    ->Args({1000, 0})
    ->Args({140000, 0})
    ->Args({140000, 1})
    ->Unit(benchmark::kMillisecond);

// A point read of a key the table holds, from a 16 MiB table of those
// entries, in random order; range(1) as above (1: the point index answers,
// 0: the skip list).
void BM_MemTableGet(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> keys = RandomKeys(n);
  const std::string value(100, 'v');
  MemTable mem(1, state.range(1) ? n * 116 / 64 : 0);
  SequenceNumber seq = 1;
  for (const auto& k : keys) mem.Add(seq++, ValueType::kValue, k, value);
  std::string found;
  ValueType type;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(mem.Get(keys[i], kMaxSequenceNumber, &found, &type));
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MemTableGet)->Args({140000, 0})->Args({140000, 1});

}  // namespace
}  // namespace ebb

BENCHMARK_MAIN();
