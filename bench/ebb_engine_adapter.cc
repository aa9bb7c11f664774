// ebb-bench's Ebb engine: the public API, one database per --dbs.

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench_engine.h"
#include "ebb/ebb.h"

namespace ebb::bench {

class EbbBenchEngine final : public BenchEngine {
 public:
  std::string name() const override { return "ebb"; }

  Status Open(const EngineConfig& config) override {
    Options o;
    o.data_dir = config.data_dir;
    o.Set("journal.sync", config.sync);
    o.Set("store.memtable_bytes", std::to_string(config.memtable_bytes));
    for (const auto& [k, v] : config.ebb_overrides) o.Set(k, v);
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

  Store* store() { return store_.get(); }

 private:
  std::unique_ptr<Store> store_;
  std::vector<std::shared_ptr<Database>> dbs_;
};

std::unique_ptr<BenchEngine> NewEbbBenchEngine() { return std::make_unique<EbbBenchEngine>(); }

}  // namespace ebb::bench
