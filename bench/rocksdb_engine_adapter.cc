// ebb-bench's RocksDB engine (Debian's librocksdb-dev): one column family per
// --dbs sharing one WAL, as Ebb's databases share one journal. Settings are
// the library's defaults except what bench_engine.h makes alike; Settings()
// lists them, and bench/rocksdb_db_bench.sh runs RocksDB's own db_bench with
// the same.

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_engine.h"

namespace ebb::bench {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound("");
  return Status::IOError("rocksdb: " + s.ToString());
}

}  // namespace

class RocksBenchEngine final : public BenchEngine {
 public:
  ~RocksBenchEngine() override { (void)Close(); }
  std::string name() const override { return "rocksdb"; }

  Status Open(const EngineConfig& config) override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    // The budget: two write buffers of half of it (RocksDB's default count).
    options.max_write_buffer_number = 2;
    options.write_buffer_size = config.memory_budget_bytes / 2;
    // Column families each have their own write buffers: with several, the
    // budget is for all of them together (RocksDB flushes the largest
    // memtable once their total passes it), as Ebb's is for all its
    // databases.
    if (config.dbs > 1) options.db_write_buffer_size = config.memory_budget_bytes;
    options.compression = rocksdb::kNoCompression;
    options.max_background_jobs = 2;  // RocksDB's default, stated: two cores
    options.enable_pipelined_write = config.rocksdb_pipelined_write;
    // Table files read through mmap like Ebb's and LevelDB's, no block cache.
    options.allow_mmap_reads = true;
    rocksdb::BlockBasedTableOptions table;
    table.no_block_cache = true;
    table.block_size = 4096;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, options);
    for (int i = 1; i < config.dbs; i++) cfs.emplace_back(fmt::format("bench{}", i), options);
    rocksdb::DB* db = nullptr;
    Status s = FromRocks(rocksdb::DB::Open(options, config.data_dir, cfs, &handles_, &db));
    if (!s.ok()) return s;
    db_.reset(db);
    write_options_.sync = config.sync == "always";
    // "batch": acknowledged after write(2), synced at most 100 ms later,
    // like Ebb's journal.sync = batch. SyncWAL syncs the log files outside
    // the write path: writers go on while it runs.
    if (config.sync == "batch") {
      stop_ = false;
      syncer_ = std::thread([this] {
        while (!stop_.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          (void)db_->SyncWAL();
        }
      });
    }
    settings_ = {{"write_buffer_size", std::to_string(options.write_buffer_size)},
                 {"max_write_buffer_number", "2"},
                 {"compression", "none"},
                 {"allow_mmap_reads", "true"},
                 {"no_block_cache", "true"},
                 {"block_size", "4096"},
                 {"bloom_bits_per_key", "10"},
                 {"max_background_jobs", "2"},
                 {"enable_pipelined_write", config.rocksdb_pipelined_write ? "true" : "false"},
                 {"sync", config.sync == "batch" ? "SyncWAL every 100 ms" : config.sync}};
    if (config.dbs > 1) settings_.emplace_back("db_write_buffer_size", std::to_string(options.db_write_buffer_size));
    return Status::OK();
  }
  Status Put(int db, std::string_view key, std::string_view value) override {
    return FromRocks(db_->Put(write_options_, handles_[db], rocksdb::Slice(key.data(), key.size()),
                              rocksdb::Slice(value.data(), value.size())));
  }
  Status Delete(int db, std::string_view key) override {
    return FromRocks(db_->Delete(write_options_, handles_[db], rocksdb::Slice(key.data(), key.size())));
  }
  Status Get(int db, std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), handles_[db], rocksdb::Slice(key.data(), key.size()), value));
  }
  Result<uint64_t> ScanAll(int db) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[db]));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    Status s = FromRocks(it->status());
    if (!s.ok()) return s;
    return n;
  }
  Status CompactAll() override {
    for (auto* h : handles_) {
      Status s = FromRocks(db_->Flush(rocksdb::FlushOptions(), h));
      if (!s.ok()) return s;
      rocksdb::CompactRangeOptions cro;
      cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      s = FromRocks(db_->CompactRange(cro, h, nullptr, nullptr));
      if (!s.ok()) return s;
    }
    return Status::OK();
  }
  Status Close() override {
    if (syncer_.joinable()) {
      stop_ = true;
      syncer_.join();
    }
    if (!db_) return Status::OK();
    for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    Status s = FromRocks(db_->Close());
    db_.reset();
    return s;
  }
  std::vector<std::pair<std::string, std::string>> Settings() const override { return settings_; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  std::atomic<bool> stop_{false};
  std::thread syncer_;
  std::vector<std::pair<std::string, std::string>> settings_;
};

std::unique_ptr<BenchEngine> NewRocksBenchEngine() { return std::make_unique<RocksBenchEngine>(); }

}  // namespace ebb::bench
