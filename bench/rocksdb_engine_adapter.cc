// ebb-bench's RocksDB engine (Debian's librocksdb-dev): one column family per
// --dbs sharing one WAL, as Ebb's databases share one journal.

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
    options.write_buffer_size = config.memtable_bytes;
    options.compression = rocksdb::kNoCompression;
    options.max_background_jobs = 2;
    rocksdb::BlockBasedTableOptions table;
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
    // like Ebb's journal.sync = batch.
    if (config.sync == "batch") {
      stop_ = false;
      syncer_ = std::thread([this] {
        while (!stop_.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          (void)db_->SyncWAL();
        }
      });
    }
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

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  std::atomic<bool> stop_{false};
  std::thread syncer_;
};

std::unique_ptr<BenchEngine> NewRocksBenchEngine() { return std::make_unique<RocksBenchEngine>(); }

}  // namespace ebb::bench
