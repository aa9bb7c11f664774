// The key-value operations ebb-bench drives, implemented for Ebb and, when
// the build found them, RocksDB and LevelDB, configured comparably: write-
// ahead log on, the same sync mode, the same memtable size, 10-bit bloom
// filters, no block compression (see docs/BENCHMARKS.md).

#ifndef EBB_BENCH_BENCH_ENGINE_H_
#define EBB_BENCH_BENCH_ENGINE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"

namespace ebb::bench {

struct EngineConfig {
  std::string data_dir;
  std::string sync = "batch";  // always | batch | none
  int dbs = 1;
  uint64_t memtable_bytes = 16 << 20;
  // Ebb-only settings passed through ("section.key" -> value).
  std::vector<std::pair<std::string, std::string>> ebb_overrides;
};

class BenchEngine {
 public:
  virtual ~BenchEngine() = default;
  virtual std::string name() const = 0;
  // Opens (creating) the store in config.data_dir.
  virtual Status Open(const EngineConfig& config) = 0;
  virtual Status Put(int db, std::string_view key, std::string_view value) = 0;
  virtual Status Delete(int db, std::string_view key) = 0;
  // NotFound when absent.
  virtual Status Get(int db, std::string_view key, std::string* value) = 0;
  // Visits every key in order; returns the count.
  virtual Result<uint64_t> ScanAll(int db) = 0;
  // Flushes memtables and compacts everything into the fewest files.
  virtual Status CompactAll() = 0;
  virtual Status Close() = 0;
};

// "ebb", "rocksdb" or "leveldb"; InvalidArgument (naming what this build
// has) otherwise.
Result<std::unique_ptr<BenchEngine>> NewBenchEngine(const std::string& name);
std::vector<std::string> AvailableEngines();

}  // namespace ebb::bench

#endif  // EBB_BENCH_BENCH_ENGINE_H_
