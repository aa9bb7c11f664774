#include "engine/engine.h"

#include <fmt/format.h>

#include "base/config.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "engine/engine_settings.h"
#include "engine/maintenance.h"
#include "storage/storage.h"
#include "storage/storage_settings.h"

namespace ebb {
namespace {

// Everything a store's handles share. Outlives the Store object while
// Database handles exist, so a handle used after Close fails cleanly.
class Engine final : public StorageListener {
 public:
  Engine(EngineEnv env, std::unique_ptr<Config> config) : env_(env), config_(std::move(config)) {}

  Status Open(const Options& options) {
    EBB_ASSIGN_OR_RETURN(StorageOptions so,
                         StorageOptionsFromConfig(*config_, options.data_dir, options.create_if_missing));
    EBB_ASSIGN_OR_RETURN(storage_, Storage::Open(env_.fs, env_.clock, so, this));
    maintenance_ = std::make_unique<SimpleMaintenance>(storage_.get());
    started_micros_ = env_.clock->NowMicros();
    data_dir_ = options.data_dir;
    return Status::OK();
  }

  Status Close() {
    MutexLock lock(&close_mu_);
    if (closed_) return close_status_;
    closed_ = true;
    if (maintenance_) maintenance_->Stop();
    close_status_ = storage_ ? storage_->Close() : Status::OK();
    return close_status_;
  }

  // StorageListener
  void OnMemtableSwitched(DatabaseCore* db) override {
    if (maintenance_) maintenance_->Notify(db);
  }
  void OnSegmentsChanged(DatabaseCore* db) override {
    if (maintenance_) maintenance_->Notify(db);
  }

  Storage* storage() { return storage_.get(); }
  Config* config() { return config_.get(); }
  Clock* clock() { return env_.clock; }
  int64_t started_micros() const { return started_micros_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  const EngineEnv env_;
  const std::unique_ptr<Config> config_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<SimpleMaintenance> maintenance_;
  int64_t started_micros_ = 0;
  std::string data_dir_;
  Mutex close_mu_;
  bool closed_ GUARDED_BY(close_mu_) = false;
  Status close_status_ GUARDED_BY(close_mu_);
};

class DatabaseImpl final : public Database {
 public:
  DatabaseImpl(std::shared_ptr<Engine> engine, std::shared_ptr<DatabaseCore> core)
      : engine_(std::move(engine)), core_(std::move(core)) {}

  const std::string& name() const override { return core_->name(); }
  Status Put(const WriteOptions& options, std::string_view key, std::string_view value) override {
    WriteBatch batch;
    batch.Put(key, value);
    return core_->Write(options, batch);
  }
  Status Delete(const WriteOptions& options, std::string_view key) override {
    WriteBatch batch;
    batch.Delete(key);
    return core_->Write(options, batch);
  }
  Status Write(const WriteOptions& options, const WriteBatch& batch) override { return core_->Write(options, batch); }
  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override {
    return core_->Get(options, key, value);
  }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override { return core_->NewIterator(options); }
  std::shared_ptr<const Snapshot> GetSnapshot() override { return core_->GetSnapshot(); }
  DatabaseStats GetStats() override { return core_->GetStats(); }
  Status Flush() override {
    EBB_RETURN_IF_ERROR(core_->Flush());
    // An explicit flush also gives back the journal space it made obsolete.
    return engine_->storage()->ReclaimJournal().status();
  }
  Status Compact() override {
    auto r = core_->Compact(CompactionOptions());
    return r.status();
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::shared_ptr<DatabaseCore> core_;
};

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}
  ~StoreImpl() override {
    Status s = engine_->Close();
    if (!s.ok()) EBB_LOG(kWarn, "closing the store: {}", s.ToString());
  }

  Result<std::shared_ptr<Database>> OpenDatabase(std::string_view name, bool create_if_missing) override {
    EBB_ASSIGN_OR_RETURN(auto core, engine_->storage()->OpenDatabase(name, create_if_missing));
    return std::shared_ptr<Database>(std::make_shared<DatabaseImpl>(engine_, std::move(core)));
  }

  Status DropDatabase(std::string_view name) override { return engine_->storage()->DropDatabase(name); }

  std::vector<std::string> ListDatabases() override { return engine_->storage()->ListDatabases(); }

  StoreStatus GetStatus() override {
    StoreStatus st;
    Storage* storage = engine_->storage();
    st.data_dir = engine_->data_dir();
    st.uptime_s = (engine_->clock()->NowMicros() - engine_->started_micros()) / 1000000;
    Status err = storage->background_error();
    if (!err.ok()) st.background_error = err.ToString();
    st.journal = storage->GetJournalStatus();
    for (const auto& db : storage->Databases()) st.databases.push_back(db->GetStats());
    return st;
  }

  Status SetConfig(std::string_view section, std::string_view key, std::string_view value) override {
    return engine_->config()->Set(section, key, value, /*at_runtime=*/true);
  }

  Result<std::string> GetConfig(std::string_view section, std::string_view key) override {
    return engine_->config()->Get(section, key);
  }

  std::vector<ConfigValue> ListConfig() override {
    std::vector<ConfigValue> out;
    for (const auto& e : engine_->config()->Effective()) out.push_back({e.section, e.key, e.value, e.runtime});
    return out;
  }

  Status Close() override { return engine_->Close(); }

 private:
  std::shared_ptr<Engine> engine_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(const Options& options, EngineEnv env) {
  if (env.fs == nullptr) env.fs = DefaultFileSystem();
  if (env.clock == nullptr) env.clock = SystemClock();
  auto config = NewEbbConfig();
  if (!options.config_file.empty()) EBB_RETURN_IF_ERROR(config->LoadTomlFile(options.config_file));
  for (const auto& [key, value] : options.config) {
    Status s = config->SetDotted(key, value, /*at_runtime=*/false);
    if (!s.ok()) return s.WithContext("option override");
  }
  auto engine = std::make_shared<Engine>(env, std::move(config));
  Status s = engine->Open(options);
  if (!s.ok()) return s.WithContext(fmt::format("open store {}", options.data_dir));
  return std::unique_ptr<Store>(new StoreImpl(std::move(engine)));
}

Result<std::unique_ptr<Store>> Store::Open(const Options& options) { return OpenStore(options, EngineEnv()); }

}  // namespace ebb
