// The key-value operations ebb-bench drives, implemented for Ebb and, when
// the build found them, RocksDB and LevelDB, configured like for like (see
// docs/BENCHMARKS.md, "Storage core against RocksDB and LevelDB"):
//
//   memory      one budget for every engine's memtables (write buffers), in
//               bytes of memory: RocksDB write_buffer_size x
//               max_write_buffer_number (2), LevelDB's two memtables,
//               Ebb's memtables as MemoryLayout says; with --dbs N it
//               is for all N together (RocksDB db_write_buffer_size, LevelDB
//               instances of B/2N, Ebb's band is the store's);
//   reads       every engine reads its table files through mmap, no block
//               cache of data (RocksDB allow_mmap_reads + no_block_cache;
//               LevelDB and Ebb map files by default and LevelDB does not
//               cache blocks it reads from a mapping);
//   filters     10 bits per key Bloom filters;
//   compression none;
//   journal     write-ahead log on, the same sync mode: always (fdatasync
//               before acknowledging), batch (acknowledged in the page
//               cache, synced at most 100 ms later beside the writers: Ebb
//               and RocksDB only, LevelDB cannot), none.
//
// The writers workload (many threads writing into one database) also turns
// on RocksDB's pipelined write path (EngineConfig::rocksdb_pipelined_write),
// RocksDB's own answer to concurrent writers.

#ifndef EBB_BENCH_BENCH_ENGINE_H_
#define EBB_BENCH_BENCH_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"

namespace ebb {
class Store;
}  // namespace ebb

namespace ebb::bench {

// How Ebb spends a memory budget B on memtables.
//   peer    the peers' shape: two memtables of B/2, the full one flushed at
//           once (store.max_immutable_memtables = 1; writers wait while it
//           is being written, as LevelDB's and RocksDB's do).
//   native  Ebb's own shape, its defaults scaled to B: memtables of B/16, up
//           to 16 waiting, writeback working from B/8 and at full rate from
//           B/2, writers slowed from B/2 to B (work.writeback band and
//           throttle). At B = 128 MiB of key and value bytes these are
//           exactly Ebb's defaults.
// Ebb's sizes count key and value bytes, the peers' count memory, so Ebb's
// are scaled by (key + value) / (key + value + kEbbMemtableEntryOverhead).
enum class MemoryLayout { kPeer, kNative };

// Bytes of memory an Ebb memtable entry takes beyond its key and value
// (internal key tag, lengths, skip-list node, arena slack, and the point
// index of a large table): memtable_benchmark's arena_bytes_per_entry
// (150) less the 116 key and value bytes of ebb-bench's default entries,
// plus its index_bytes_per_entry (15).
inline constexpr uint64_t kEbbMemtableEntryOverhead = 49;

struct EngineConfig {
  std::string data_dir;
  std::string sync = "batch";  // always | batch | none
  int dbs = 1;
  // Memory for memtables, every engine alike (see above).
  uint64_t memory_budget_bytes = 128 << 20;
  MemoryLayout ebb_layout = MemoryLayout::kNative;
  // The benchmark's entry sizes (Ebb converts the budget with them).
  int key_size = 16;
  int value_size = 100;
  // Ebb-only settings passed through ("section.key" -> value); they win over
  // the layout's.
  std::vector<std::pair<std::string, std::string>> ebb_overrides;
  // RocksDB only: Options::enable_pipelined_write (the WAL write of one
  // group overlaps the memtable insert of the previous one). Off by default,
  // RocksDB's own default; the writers workload turns it on.
  bool rocksdb_pipelined_write = false;
};

// The Ebb settings `config` stands for (the layout's, then the overrides),
// as "section.key" -> value. Exposed so results can record them.
std::vector<std::pair<std::string, std::string>> EbbSettings(const EngineConfig& config);

class BenchEngine {
 public:
  virtual ~BenchEngine() = default;
  virtual std::string name() const = 0;
  // Opens (creating) the store in config.data_dir. InvalidArgument for a
  // setting the engine cannot honour (LevelDB and sync batch).
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
  // The engine's settings as opened, for the results ("name=value" pairs).
  virtual std::vector<std::pair<std::string, std::string>> Settings() const = 0;
  // The Ebb store behind the engine, for statistics only Ebb keeps (the
  // database lock's acquisitions, completion passes); nullptr for the peers
  // and before Open.
  virtual Store* ebb_store() { return nullptr; }
};

// "ebb", "rocksdb" or "leveldb"; InvalidArgument (naming what this build
// has) otherwise.
Result<std::unique_ptr<BenchEngine>> NewBenchEngine(const std::string& name);
std::vector<std::string> AvailableEngines();

}  // namespace ebb::bench

#endif  // EBB_BENCH_BENCH_ENGINE_H_
