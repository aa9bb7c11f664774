// ebb-bench's Ebb engine: the public API, one database per --dbs.

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench_engine.h"
#include "ebb/ebb.h"

namespace ebb::bench {

std::vector<std::pair<std::string, std::string>> EbbSettings(const EngineConfig& config) {
  // The budget is memory; Ebb's sizes count key and value bytes.
  const uint64_t entry = static_cast<uint64_t>(config.key_size + config.value_size);
  const uint64_t payload = static_cast<uint64_t>(static_cast<double>(config.memory_budget_bytes) *
                                                 static_cast<double>(entry) /
                                                 static_cast<double>(entry + kEbbMemtableEntryOverhead));
  std::vector<std::pair<std::string, std::string>> s = {
      {"journal.sync", config.sync},
      {"store.bloom_bits_per_key", "10"},
      {"store.compression", "none"},
      {"store.block_bytes", "4096"},
  };
  if (config.ebb_layout == MemoryLayout::kPeer) {
    // Two memtables of B/2; the full one is flushed at once (a switch with
    // max_immutable_memtables waiting wakes writeback whatever its band).
    s.insert(s.end(), {{"store.memtable_bytes", std::to_string(payload / 2)},
                       {"store.max_immutable_memtables", "1"},
                       {"work.writeback.band_low_bytes", std::to_string(payload / 2)},
                       {"work.writeback.band_high_bytes", std::to_string(payload)}});
  } else {
    // Ebb's defaults scaled: memtables of B/16, writeback band [B/8, B/2],
    // writers slowed from B/2 (band_high) to B (twice band_high).
    s.insert(s.end(), {{"store.memtable_bytes", std::to_string(payload / 16)},
                       {"store.max_immutable_memtables", "16"},
                       {"work.writeback.band_low_bytes", std::to_string(payload / 8)},
                       {"work.writeback.band_high_bytes", std::to_string(payload / 2)}});
  }
  for (const auto& kv : config.ebb_overrides) s.push_back(kv);
  return s;
}

class EbbBenchEngine final : public BenchEngine {
 public:
  std::string name() const override { return "ebb"; }

  Status Open(const EngineConfig& config) override {
    Options o;
    o.data_dir = config.data_dir;
    settings_ = EbbSettings(config);
    for (const auto& [k, v] : settings_) o.Set(k, v);
    EBB_ASSIGN_OR_RETURN(store_, Store::Open(o));
    dbs_.clear();
    for (int i = 0; i < config.dbs; i++) {
      EBB_ASSIGN_OR_RETURN(auto db, store_->OpenDatabase(fmt::format("bench{}", i)));
      dbs_.push_back(std::move(db));
    }
    return Status::OK();
  }
  Status Put(int db, std::string_view key, std::string_view value) override { return dbs_[db]->Put(key, value); }
  Status Delete(int db, std::string_view key) override { return dbs_[db]->Delete(key); }
  Status Get(int db, std::string_view key, std::string* value) override {
    return dbs_[db]->Get(ReadOptions(), key, value);
  }
  Result<uint64_t> ScanAll(int db) override {
    auto it = dbs_[db]->NewIterator(ReadOptions());
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    EBB_RETURN_IF_ERROR(it->status());
    return n;
  }
  Status CompactAll() override {
    for (auto& db : dbs_) {
      EBB_RETURN_IF_ERROR(db->Flush());
      EBB_RETURN_IF_ERROR(db->Compact());
    }
    return Status::OK();
  }
  Status Close() override {
    dbs_.clear();
    Status s = store_ ? store_->Close() : Status::OK();
    store_.reset();
    return s;
  }
  std::vector<std::pair<std::string, std::string>> Settings() const override { return settings_; }

  Store* ebb_store() override { return store_.get(); }

 private:
  std::unique_ptr<Store> store_;
  std::vector<std::shared_ptr<Database>> dbs_;
  std::vector<std::pair<std::string, std::string>> settings_;
};

std::unique_ptr<BenchEngine> NewEbbBenchEngine() { return std::make_unique<EbbBenchEngine>(); }

}  // namespace ebb::bench
