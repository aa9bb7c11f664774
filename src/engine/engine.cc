#include "engine/engine.h"

#include <fmt/format.h>

#include "base/config.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "engine/engine_settings.h"
#include "engine/admin.h"
#include "engine/background.h"
#include "runtime/read_pool.h"
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
    so.remember_dropped_databases = config_->GetBool("tiering", "enabled");
    EBB_ASSIGN_OR_RETURN(storage_, Storage::Open(env_.fs, env_.clock, so, this));
    InstallWorkClassDefaults(config_.get());
    EBB_ASSIGN_OR_RETURN(background_,
                         EngineBackground::Start(storage_.get(), config_.get(), env_.clock, env_.fs, options.data_dir));
    ReadPoolOptions rpo;
    rpo.settings = ReadPoolSettings::FromConfig(*config_);
    rpo.clock = env_.clock;
    EBB_ASSIGN_OR_RETURN(read_pool_, ReadPool::Create(std::move(rpo)));
    // Runs on the thread that changed the setting (never a pool thread:
    // the server changes configuration on its own threads).
    background_ready_.store(true, std::memory_order_release);
    readpool_subscription_ = config_->Subscribe("readpool", [this](const std::string&, const std::string&) {
      Status s = read_pool_->ApplyConfig(*config_);
      if (!s.ok()) EBB_LOG(kWarn, "readpool configuration: {}", s.ToString());
    });
    started_micros_ = env_.clock->NowMicros();
    data_dir_ = options.data_dir;
    return Status::OK();
  }

  Status Close() {
    MutexLock lock(&close_mu_);
    if (closed_) return close_status_;
    closed_ = true;
    if (readpool_subscription_) config_->Unsubscribe(readpool_subscription_);
    // Queued reads complete with Aborted; running ones finish first.
    if (read_pool_) read_pool_->Stop();
    if (background_) background_->Stop();
    close_status_ = storage_ ? storage_->Close() : Status::OK();
    return close_status_;
  }

  // StorageListener: forwarded to the background runtime once it runs
  // (recovery happens before it starts).
  void OnWritesCompleted(DatabaseCore* db, uint64_t writes, uint64_t bytes) override {
    if (auto* bg = background()) bg->OnWritesCompleted(db, writes, bytes);
  }
  void OnMemtableSwitched(DatabaseCore* db) override {
    if (auto* bg = background()) bg->OnMemtableSwitched(db);
  }
  void OnSegmentsChanged(DatabaseCore* db) override {
    if (auto* bg = background()) bg->OnSegmentsChanged(db);
  }
  EngineBackground* background() { return background_ready_.load(std::memory_order_acquire) ? background_.get() : nullptr; }

  Storage* storage() { return storage_.get(); }
  ReadPool* read_pool() { return read_pool_.get(); }
  Config* config() { return config_.get(); }
  Clock* clock() { return env_.clock; }
  int64_t started_micros() const { return started_micros_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  const EngineEnv env_;
  const std::unique_ptr<Config> config_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<EngineBackground> background_;
  std::atomic<bool> background_ready_{false};
  std::unique_ptr<ReadPool> read_pool_;
  int readpool_subscription_ = 0;
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
    return Write(options, batch);
  }
  Status Delete(const WriteOptions& options, std::string_view key) override {
    WriteBatch batch;
    batch.Delete(key);
    return Write(options, batch);
  }
  Status Write(const WriteOptions& options, const WriteBatch& batch) override {
    Status s = core_->Write(options, batch);
    // Foreground backpressure: past writeback's band a writer pauses, at
    // most work.max_pause_ms per write, instead of memory growing.
    if (s.ok()) {
      if (auto* bg = engine_->background()) {
        int64_t pause = bg->ThrottlePauseMicros();
        if (pause > 0) {
          bg->NoteThrottled(pause);
          engine_->clock()->SleepForMicros(pause);
        }
      }
    }
    return s;
  }
  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override {
    return core_->Get(options, key, value);
  }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override { return core_->NewIterator(options); }

  using Database::GetAsync;
  Status GetAsync(std::string key, Priority priority, GetCallback done) override {
    auto shared_done = std::make_shared<GetCallback>(std::move(done));
    return engine_->read_pool()->Spawn(
        priority,
        [core = core_, key = std::move(key), shared_done](TaskContext&) {
          std::string value;
          Status s = core->Get(ReadOptions(), key, &value);
          (*shared_done)(s.ok() ? Result<std::string>(std::move(value)) : Result<std::string>(std::move(s)));
        },
        [shared_done](const Status& s) { (*shared_done)(s); });
  }

  Status MultiGetAsync(std::vector<std::string> keys, Priority priority, MultiGetCallback done) override {
    auto shared_done = std::make_shared<MultiGetCallback>(std::move(done));
    size_t n = keys.size();
    return engine_->read_pool()->Spawn(
        priority,
        [core = core_, keys = std::move(keys), shared_done](TaskContext&) {
          // One snapshot for the whole batch, like MGET on a single server.
          ReadOptions ro;
          ro.snapshot = core->GetSnapshot();
          std::vector<Result<std::string>> out;
          out.reserve(keys.size());
          for (const auto& key : keys) {
            std::string value;
            Status s = core->Get(ro, key, &value);
            out.push_back(s.ok() ? Result<std::string>(std::move(value)) : Result<std::string>(std::move(s)));
          }
          (*shared_done)(std::move(out));
        },
        [shared_done, n](const Status& s) { (*shared_done)(std::vector<Result<std::string>>(n, Result<std::string>(s))); });
  }

  Status ScanAsync(ScanRequest request, Priority priority, ScanCallback done) override {
    if (request.limit == 0) return Status::InvalidArgument("scan limit must be at least 1");
    auto shared_done = std::make_shared<ScanCallback>(std::move(done));
    return engine_->read_pool()->Spawn(
        priority,
        [core = core_, request = std::move(request), shared_done](TaskContext&) {
          ReadOptions ro;
          ro.snapshot = request.snapshot;
          ro.upper_bound = request.end;
          auto it = core->NewIterator(ro);
          ScanBatch batch;
          for (it->Seek(request.start); it->Valid(); it->Next()) {
            if (batch.entries.size() == request.limit) {
              batch.next_start.assign(it->key());
              break;
            }
            batch.entries.emplace_back(std::string(it->key()), std::string(it->value()));
          }
          if (!it->status().ok()) {
            (*shared_done)(it->status());
          } else {
            (*shared_done)(std::move(batch));
          }
        },
        [shared_done](const Status& s) { (*shared_done)(s); });
  }
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

  Status DropDatabase(std::string_view name) override {
    EBB_RETURN_IF_ERROR(engine_->storage()->DropDatabase(name));
    if (auto* bg = engine_->background()) bg->OnDatabaseDropped(name);
    return Status::OK();
  }

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
    st.read_pool = engine_->read_pool()->GetStatus();
    if (auto* bg = engine_->background()) {
      st.work = bg->WorkStatus();
      st.compaction = bg->CompactionStatus();
      if (bg->tiering()) st.tiering = bg->tiering()->GetStatus();
    }
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

  Engine* engine() { return engine_.get(); }

 private:
  std::shared_ptr<Engine> engine_;
};

Result<EngineBackground*> BackgroundOf(Store* store) {
  auto* impl = dynamic_cast<StoreImpl*>(store);
  if (impl == nullptr) return Status::InvalidArgument("this store was not opened by Ebb's engine");
  EngineBackground* bg = impl->engine()->background();
  if (bg == nullptr) return Status::Aborted("the store is closed");
  return bg;
}

Result<SmooshDaemon*> SmooshOf(Store* store) {
  EBB_ASSIGN_OR_RETURN(EngineBackground * bg, BackgroundOf(store));
  return bg->smoosh();
}

}  // namespace

Result<uint64_t> EnqueueAllForCompaction(Store* store) {
  EBB_ASSIGN_OR_RETURN(EngineBackground * bg, BackgroundOf(store));
  EnqueueAllResult r = bg->smoosh()->EnqueueAll();
  bg->OnCompactionQueueChanged();
  return r.queued;
}

Status SuspendCompactionChannel(Store* store, std::string_view channel) {
  EBB_ASSIGN_OR_RETURN(SmooshDaemon * smoosh, SmooshOf(store));
  if (channel == "all") {
    smoosh->Suspend();
    return Status::OK();
  }
  return smoosh->Suspend(channel);
}

Status ResumeCompactionChannel(Store* store, std::string_view channel) {
  EBB_ASSIGN_OR_RETURN(EngineBackground * bg, BackgroundOf(store));
  Status s;
  if (channel == "all") {
    bg->smoosh()->Resume();
  } else {
    s = bg->smoosh()->Resume(channel);
  }
  // What waited in the resumed channels may start now: nothing else would
  // make the runtime look before the next write.
  if (s.ok()) bg->OnCompactionQueueChanged();
  return s;
}

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
