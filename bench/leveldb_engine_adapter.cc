// ebb-bench's LevelDB engine (Debian's libleveldb-dev): LevelDB has no column
// families, so --dbs N opens N instances in subdirectories. Settings are the
// library's defaults except what bench_engine.h makes alike.
//
// LevelDB reads table files through mmap (up to 1,000 of them on 64-bit
// builds) and does not put blocks read from a mapping in its block cache, so
// its default 8 MiB block cache stays unused here, as Ebb and RocksDB have
// none. It has no way to sync its log beside the writers (a sync is a synced
// write, which joins the writers' queue), so it offers sync always and none,
// not batch.

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <filesystem>

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
    if (config.sync == "batch") {
      return Status::InvalidArgument(
          "leveldb cannot sync its log beside the writers (a synced write joins the write queue), so --sync batch "
          "is not offered for it: use --sync always or none");
    }
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options options;
    options.create_if_missing = true;
    // The budget: one memtable being written and one being flushed, per
    // instance; with several instances they share it.
    options.write_buffer_size = config.memory_budget_bytes / 2 / static_cast<uint64_t>(config.dbs);
    options.compression = leveldb::kNoCompression;
    options.filter_policy = filter_.get();
    options.block_size = 4096;
    for (int i = 0; i < config.dbs; i++) {
      leveldb::DB* db = nullptr;
      std::string path = config.dbs == 1 ? config.data_dir : fmt::format("{}/bench{}", config.data_dir, i);
      if (config.dbs > 1) std::filesystem::create_directories(config.data_dir);
      Status s = FromLevel(leveldb::DB::Open(options, path, &db));
      if (!s.ok()) return s;
      dbs_.emplace_back(db);
    }
    write_options_.sync = config.sync == "always";
    settings_ = {{"write_buffer_size", std::to_string(options.write_buffer_size)},
                 {"memtables", "2 (one written, one flushed)"},
                 {"instances", std::to_string(config.dbs)},
                 {"compression", "none"},
                 {"reads", "mmap (block cache unused)"},
                 {"block_size", "4096"},
                 {"bloom_bits_per_key", "10"},
                 {"sync", config.sync}};
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
    // CompactRange flushes the memtable first and compacts every level.
    for (auto& db : dbs_) db->CompactRange(nullptr, nullptr);
    return Status::OK();
  }
  Status Close() override {
    dbs_.clear();
    return Status::OK();
  }
  std::vector<std::pair<std::string, std::string>> Settings() const override { return settings_; }

 private:
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::vector<std::unique_ptr<leveldb::DB>> dbs_;
  leveldb::WriteOptions write_options_;
  std::vector<std::pair<std::string, std::string>> settings_;
};

std::unique_ptr<BenchEngine> NewLevelBenchEngine() { return std::make_unique<LevelBenchEngine>(); }

}  // namespace ebb::bench
