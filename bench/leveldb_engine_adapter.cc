// ebb-bench's LevelDB engine (Debian's libleveldb-dev): LevelDB has no column
// families, so --dbs N opens N instances in subdirectories.

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_engine.h"

namespace ebb::bench {
namespace {

Status FromLevel(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound("");
  return Status::IOError("leveldb: " + s.ToString());
}

}  // namespace

class LevelBenchEngine final : public BenchEngine {
 public:
  ~LevelBenchEngine() override { (void)Close(); }
  std::string name() const override { return "leveldb"; }

  Status Open(const EngineConfig& config) override {
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options options;
    options.create_if_missing = true;
    options.write_buffer_size = config.memtable_bytes;
    options.compression = leveldb::kNoCompression;
    options.filter_policy = filter_.get();
    for (int i = 0; i < config.dbs; i++) {
      leveldb::DB* db = nullptr;
      std::string path = config.dbs == 1 ? config.data_dir : fmt::format("{}/bench{}", config.data_dir, i);
      if (config.dbs > 1) std::filesystem::create_directories(config.data_dir);
      Status s = FromLevel(leveldb::DB::Open(options, path, &db));
      if (!s.ok()) return s;
      dbs_.emplace_back(db);
    }
    write_options_.sync = config.sync == "always";
    if (config.sync == "batch") {
      // LevelDB cannot sync its log on demand; a synced empty batch every
      // 100 ms does it (like Ebb's batch mode).
      stop_ = false;
      syncer_ = std::thread([this] {
        leveldb::WriteOptions synced;
        synced.sync = true;
        while (!stop_.load()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          leveldb::WriteBatch empty;
          for (auto& db : dbs_) (void)db->Write(synced, &empty);
        }
      });
    }
    return Status::OK();
  }
  Status Put(int db, std::string_view key, std::string_view value) override {
    return FromLevel(dbs_[db]->Put(write_options_, leveldb::Slice(key.data(), key.size()),
                                   leveldb::Slice(value.data(), value.size())));
  }
  Status Delete(int db, std::string_view key) override {
    return FromLevel(dbs_[db]->Delete(write_options_, leveldb::Slice(key.data(), key.size())));
  }
  Status Get(int db, std::string_view key, std::string* value) override {
    return FromLevel(dbs_[db]->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), value));
  }
  Result<uint64_t> ScanAll(int db) override {
    std::unique_ptr<leveldb::Iterator> it(dbs_[db]->NewIterator(leveldb::ReadOptions()));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    Status s = FromLevel(it->status());
    if (!s.ok()) return s;
    return n;
  }
  Status CompactAll() override {
    for (auto& db : dbs_) db->CompactRange(nullptr, nullptr);
    return Status::OK();
  }
  Status Close() override {
    if (syncer_.joinable()) {
      stop_ = true;
      syncer_.join();
    }
    dbs_.clear();
    return Status::OK();
  }

 private:
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::vector<std::unique_ptr<leveldb::DB>> dbs_;
  leveldb::WriteOptions write_options_;
  std::atomic<bool> stop_{false};
  std::thread syncer_;
};

std::unique_ptr<BenchEngine> NewLevelBenchEngine() { return std::make_unique<LevelBenchEngine>(); }

}  // namespace ebb::bench
