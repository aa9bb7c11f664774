#include "engine/engine.h"

#include <fmt/format.h>

#include "base/config.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "engine/engine_settings.h"
#include "engine/admin.h"
#include "engine/background.h"
#include "engine/fetch_pool.h"
#include "engine/restore.h"
#include "runtime/read_pool.h"
#include "storage/format.h"
#include "storage/storage.h"
#include "storage/storage_settings.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

// Everything a store's handles share. Outlives the Store object while
// Database handles exist, so a handle used after Close fails cleanly.
class Engine final : public StorageListener {
 public:
  Engine(EngineEnv env, std::unique_ptr<Config> config) : env_(env), config_(std::move(config)) {}

  Status Open(const Options& options) {
    EBB_RETURN_IF_ERROR(PrepareDataDirectory(options));
    EBB_ASSIGN_OR_RETURN(StorageOptions so,
                         StorageOptionsFromConfig(*config_, options.data_dir, options.create_if_missing));
    so.remember_dropped_databases = config_->GetBool("tiering", "enabled");
    EBB_ASSIGN_OR_RETURN(storage_, Storage::Open(env_.fs, env_.clock, so, this));
    EBB_ASSIGN_OR_RETURN(background_,
                         EngineBackground::Start(storage_.get(), config_.get(), env_.clock, env_.fs, options.data_dir,
                                                 env_.tier_store));
    // Cold reads of asynchronous reads fetch here, off the read threads.
    if (EngineTiering* tiering = background_->tiering()) {
      int threads = static_cast<int>(config_->GetInt("tiering", "fetch_threads"));
      if (threads > 0) {
        EBB_ASSIGN_OR_RETURN(fetch_pool_, FetchPool::Create(tiering, threads, config_->GetInt("tiering", "fetch_queue"),
                                                            config_->GetInt("tiering", "fetch_timeout_ms")));
      }
    }
    ReadPoolOptions rpo;
    rpo.settings = ReadPoolSettings::FromConfig(*config_);
    rpo.clock = env_.clock;
    EBB_ASSIGN_OR_RETURN(read_pool_, ReadPool::Create(std::move(rpo)));
    // Runs on the thread that changed the setting (never a pool thread:
    // the server changes configuration on its own threads).
    background_ready_.store(true, std::memory_order_release);
    readpool_validator_ = config_->AddValidator(
        "readpool", [](const Config& candidate) { return ReadPoolSettings::FromConfig(candidate).Validate(); });
    readpool_subscription_ = config_->Subscribe("readpool", [this](const std::string&, const std::string&) {
      Status s = read_pool_->ApplyConfig(*config_);
      if (!s.ok()) EBB_LOG(kWarn, "readpool configuration: {}", s.ToString());
    });
    started_micros_ = env_.clock->NowMicros();
    data_dir_ = options.data_dir;
    return Status::OK();
  }

  // Refuses a directory a restore left unfinished; restores an empty one
  // from the bucket when tiering.restore is set.
  Status PrepareDataDirectory(const Options& options) {
    const std::string& dir = options.data_dir;
    if (env_.fs->FileExists(RestoringMarkerPath(dir))) {
      return Status::InvalidArgument(fmt::format(
          "{} holds a restore from the object store that did not finish ({} exists); run `ebb tier restore --to {}` "
          "again (it starts over), or delete the directory",
          dir, RestoringMarkerPath(dir), dir));
    }
    if (!config_->GetBool("tiering", "restore") || env_.fs->FileExists(CurrentFileName(dir))) return Status::OK();
    auto children = env_.fs->GetChildren(dir);
    if (children.ok() && std::any_of(children->begin(), children->end(), [](const std::string& n) { return n != "LOCK"; })) {
      return Status::OK();  // not empty and not a store: Storage::Open says why
    }
    std::unique_ptr<ObjectStore> owned;
    ObjectStore* store = env_.tier_store;
    if (store == nullptr) {
      EBB_ASSIGN_OR_RETURN(owned, OpenTierObjectStore(*config_, env_.fs, dir));
      store = owned.get();
    }
    TieringOptions to = TieringOptionsFromConfig(*config_, dir);
    auto keys = KeyRing::Load(env_.fs, to.key_file);
    if (!keys.ok()) {
      return keys.status().WithContext(fmt::format(
          "tiering.restore on the empty directory {}: the archives of {} need their key; set tiering.key_file to "
          "the backed-up key file", dir, store->Describe()));
    }
    RestoreOptions ro;
    ro.to_dir = dir;
    ro.local_bytes = static_cast<uint64_t>(config_->GetInt("tiering", "local_target_bytes"));
    EBB_ASSIGN_OR_RETURN(RestoreReport report, RestoreStore(env_.fs, store, **keys, ro, env_.clock));
    EBB_LOG(kInfo, "restored {} from snapshot {} of {}: {} databases, {} segments ({} local, {} remote), {} bytes in "
            "{:.1f} s", dir, report.snapshot, store->Describe(), report.databases, report.segments,
            report.segments_local, report.segments_evicted, report.bytes_restored, report.seconds);
    return Status::OK();
  }

  Status Close() {
    MutexLock lock(&close_mu_);
    if (closed_) return close_status_;
    closed_ = true;
    if (readpool_validator_) config_->RemoveValidator(readpool_validator_);
    if (readpool_subscription_) config_->Unsubscribe(readpool_subscription_);
    // Queued fetches and reads complete with Aborted; running ones finish
    // first (a fetch that completes after the read pool stopped completes
    // its read with Aborted).
    if (fetch_pool_) fetch_pool_->Stop();
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
  // Held while a database is created (store.max_databases).
  Mutex& create_mu() { return create_mu_; }
  FetchPool* fetch_pool() { return fetch_pool_.get(); }
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
  std::unique_ptr<FetchPool> fetch_pool_;
  int readpool_subscription_ = 0;
  int readpool_validator_ = 0;
  int64_t started_micros_ = 0;
  std::string data_dir_;
  Mutex create_mu_;
  Mutex close_mu_;
  bool closed_ GUARDED_BY(close_mu_) = false;
  Status close_status_ GUARDED_BY(close_mu_);
};

// A scan checks its running time every this many entries (readpool.demote_after_ms).
constexpr size_t kScanDemoteCheckEntries = 64;
// An asynchronous read (GetAsync, MultiGetAsync, ScanAsync) that may stop at
// an evicted segment the member cache does not hold (ColdFetchScope): the
// fetch goes to the fetch pool, the read pool worker is free at once, and
// the read runs again when the segment is in. Fetched segments stay pinned
// until the read ends, so a read that needs several makes progress.
class AsyncRead {
 public:
  virtual ~AsyncRead() = default;
  // Runs the read. Returns false, having delivered nothing, if it stopped
  // at a segment to fetch (ColdFetchScope::Current()->needed); otherwise
  // delivers the result (or error) and returns true.
  virtual bool Attempt() = 0;
  // Delivers an error instead.
  virtual void Fail(const Status& s) = 0;

  std::vector<FetchPool::Handle> pins;
  int fetches = 0;

 protected:
  static bool Stopped() {
    ColdFetchScope* scope = ColdFetchScope::Current();
    return scope != nullptr && scope->needed.has_value();
  }
};

// Beyond this many fetches one read fetches the rest on its own thread: a
// read needing more segments than the member cache holds still ends.
constexpr int kMaxFetchesPerRead = 64;

// Runs `read` on the calling (read pool or fetch) thread; see AsyncRead.
// `engine` is not owned: the fetch pool and the read pool stop (finishing
// or aborting every task) before the engine goes.
void RunAsyncRead(Engine* engine, Priority priority, std::shared_ptr<AsyncRead> read) {
  FetchPool* pool = engine->fetch_pool();
  if (pool == nullptr || read->fetches >= kMaxFetchesPerRead) {
    read->Attempt();  // without a scope: fetches in place
    return;
  }
  std::optional<SegmentKey> needed;
  {
    ColdFetchScope scope;
    if (read->Attempt()) return;
    needed = scope.needed;
  }
  read->fetches++;
  Status submitted = pool->Submit(*needed, [engine, priority, read](Result<FetchPool::Handle> fetched) {
    if (!fetched.ok()) {
      read->Fail(fetched.status());
      return;
    }
    read->pins.push_back(std::move(fetched).value());
    Status spawned = engine->read_pool()->Spawn(
        priority, [engine, priority, read](TaskContext&) { RunAsyncRead(engine, priority, read); },
        [read](const Status& s) { read->Fail(s); });
    // Admitted once already: a full pool finishes it here rather than refuse it.
    if (spawned.IsBusy()) {
      RunAsyncRead(engine, priority, read);
    } else if (!spawned.ok()) {
      read->Fail(spawned);
    }
  });
  if (!submitted.ok()) read->Fail(submitted);
}

// Iterators and snapshots keep the engine alive: they read memtables and
// segment files the storage owns, and may outlive the Database handle and
// the Store (include/ebb/database.h).
class EngineIterator final : public Iterator {
 public:
  EngineIterator(std::shared_ptr<Engine> engine, std::unique_ptr<Iterator> it)
      : engine_(std::move(engine)), it_(std::move(it)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void Seek(std::string_view target) override { it_->Seek(target); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  Status status() const override { return it_->status(); }

 private:
  const std::shared_ptr<Engine> engine_;  // destroyed after it_
  const std::unique_ptr<Iterator> it_;
};

class EngineSnapshot final : public Snapshot {
 public:
  EngineSnapshot(std::shared_ptr<Engine> engine, std::shared_ptr<const Snapshot> snapshot)
      : engine_(std::move(engine)), snapshot_(std::move(snapshot)) {}
  uint64_t sequence() const override { return snapshot_->sequence(); }

 private:
  const std::shared_ptr<Engine> engine_;  // destroyed after snapshot_
  const std::shared_ptr<const Snapshot> snapshot_;
};

class DatabaseImpl final : public Database, public std::enable_shared_from_this<DatabaseImpl> {
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
    if (options.no_slowdown) {
      if (auto* bg = engine_->background(); bg != nullptr && bg->ThrottlePauseMicros() > 0) {
        return Status::Busy(fmt::format("database {}: writes are paused under writeback's backpressure", name()));
      }
    }
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
  Status GetWithExpiry(const ReadOptions& options, std::string_view key, std::string* value,
                       int64_t* expire_at_ms) override {
    return core_->Get(options, key, value, expire_at_ms);
  }
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override {
    return std::make_unique<EngineIterator>(engine_, core_->NewIterator(options));
  }

  using Database::GetAsync;
  Status GetAsync(std::string key, Priority priority, GetCallback done) override {
    struct Read final : AsyncRead {
      std::shared_ptr<DatabaseCore> core;
      std::string key;
      GetCallback done;
      bool Attempt() override {
        std::string value;
        Status s = core->Get(ReadOptions(), key, &value);
        if (!s.ok() && Stopped()) return false;
        done(s.ok() ? Result<std::string>(std::move(value)) : Result<std::string>(std::move(s)));
        return true;
      }
      void Fail(const Status& s) override { done(s); }
    };
    auto read = std::make_shared<Read>();
    read->core = core_;
    read->key = std::move(key);
    read->done = std::move(done);
    return Spawn(priority, read);
  }

  Status MultiGetAsync(std::vector<std::string> keys, Priority priority, MultiGetCallback done) override {
    struct Read final : AsyncRead {
      std::shared_ptr<DatabaseCore> core;
      std::vector<std::string> keys;
      MultiGetCallback done;
      std::shared_ptr<const Snapshot> snapshot;
      bool Attempt() override {
        // One snapshot for the whole batch (and every attempt), like MGET
        // on a single server.
        if (!snapshot) snapshot = core->GetSnapshot();
        ReadOptions ro;
        ro.snapshot = snapshot;
        std::vector<std::string> values;
        std::vector<Status> statuses;
        core->MultiGet(ro, keys, &values, &statuses);
        if (Stopped()) return false;  // some key needs an evicted segment: run again once it is in
        std::vector<Result<std::string>> out;
        out.reserve(keys.size());
        for (size_t i = 0; i < keys.size(); i++) {
          Status& s = statuses[i];
          out.push_back(s.ok() ? Result<std::string>(std::move(values[i])) : Result<std::string>(std::move(s)));
        }
        done(std::move(out));
        return true;
      }
      void Fail(const Status& s) override { done(std::vector<Result<std::string>>(keys.size(), Result<std::string>(s))); }
    };
    auto read = std::make_shared<Read>();
    read->core = core_;
    read->keys = std::move(keys);
    read->done = std::move(done);
    return Spawn(priority, read);
  }

  Status ScanAsync(ScanRequest request, Priority priority, ScanCallback done) override {
    if (request.limit == 0) return Status::InvalidArgument("scan limit must be at least 1");
    auto scan = std::make_shared<ScanState>();
    scan->request = std::move(request);
    // The state as of the call, for every part of the scan.
    if (!scan->request.snapshot) scan->request.snapshot = core_->GetSnapshot();
    scan->done = std::move(done);
    return SpawnScan(std::move(scan), priority);
  }

 private:
  // A scan in progress: what it was asked, and the entries found so far.
  struct ScanState {
    ScanRequest request;
    ScanCallback done;
    ScanBatch batch;
    size_t bytes = 0;  // of keys and values in batch (request.max_bytes)
  };

  // Runs (part of) a scan on the ReadPool. At high or normal priority it
  // stops after readpool.demote_after_ms and continues at low priority
  // from where it stopped, on the same snapshot.
  Status SpawnScan(std::shared_ptr<ScanState> scan, Priority priority) {
    return engine_->read_pool()->Spawn(
        priority,
        [self = shared_from_this(), core = core_, engine = engine_, scan, priority](TaskContext&) {
          ScanRequest& request = scan->request;
          ReadOptions ro;
          ro.snapshot = request.snapshot;
          ro.upper_bound = request.end;
          const int64_t demote_after_us =
              priority == Priority::kLow ? 0 : engine->read_pool()->DemoteAfterMicros();
          const int64_t started = engine->clock()->NowMicros();
          auto it = core->NewIterator(ro);
          ScanBatch& batch = scan->batch;
          size_t& bytes = scan->bytes;
          size_t since_check = 0;
          for (it->Seek(request.start); it->Valid(); it->Next()) {
            if (batch.entries.size() == request.limit ||
                (request.max_bytes != 0 && bytes >= request.max_bytes && !batch.entries.empty())) {
              batch.next_start.assign(it->key());
              break;
            }
            if (demote_after_us > 0 && ++since_check == kScanDemoteCheckEntries) {
              since_check = 0;
              if (engine->clock()->NowMicros() - started >= demote_after_us) {
                // Long enough at this priority: the rest runs at low.
                request.start.assign(it->key());
                it.reset();
                Status s = self->SpawnScan(scan, Priority::kLow);
                if (!s.ok()) scan->done(s);  // the low pool is full or stopping
                return;
              }
            }
            std::string_view value = request.keys_only ? std::string_view() : it->value();
            bytes += it->key().size() + value.size();
            batch.entries.emplace_back(std::string(it->key()), std::string(value));
          }
          if (!it->status().ok()) {
            scan->done(it->status());
          } else {
            scan->done(std::move(batch));
          }
        },
        [scan](const Status& s) { scan->done(s); });
  }

 public:
  std::shared_ptr<const Snapshot> GetSnapshot() override {
    return std::make_shared<EngineSnapshot>(engine_, core_->GetSnapshot());
  }
  DatabaseStats GetStats() override { return core_->GetStats(); }
  Status Flush() override {
    EBB_RETURN_IF_ERROR(core_->Flush());
    // An explicit flush also gives back the journal space it made obsolete.
    return engine_->storage()->ReclaimJournal().status();
  }
  Status Compact() override {
    CompactionOptions options;
    options.wait_for_running = true;  // behind smoosh's compaction, not Busy
    auto r = core_->Compact(options);
    return r.status();
  }

 private:
  Status Spawn(Priority priority, std::shared_ptr<AsyncRead> read) {
    Engine* engine = engine_.get();
    return engine->read_pool()->Spawn(
        priority, [engine, priority, read](TaskContext&) { RunAsyncRead(engine, priority, read); },
        [read](const Status& s) { read->Fail(s); });
  }

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
    Storage* storage = engine_->storage();
    auto existing = storage->OpenDatabase(name, /*create_if_missing=*/false);
    if (existing.ok() || !create_if_missing || !existing.status().IsNotFound()) {
      if (!existing.ok()) return existing.status();
      return std::shared_ptr<Database>(std::make_shared<DatabaseImpl>(engine_, std::move(*existing)));
    }
    // Creating: one at a time, so two creations cannot both pass the limit.
    MutexLock lock(&engine_->create_mu());
    const size_t count = storage->DatabaseCount();
    const int64_t max = engine_->config()->GetInt("store", "max_databases");
    if (static_cast<int64_t>(count) >= max && !storage->OpenDatabase(name, false).ok()) {
      return Status::InvalidArgument(fmt::format(
          "cannot create database '{}': the store holds {} databases, the limit of store.max_databases ({}); drop "
          "databases (FLUSHDB drops the selected one) or raise store.max_databases",
          name, count, max));
    }
    EBB_ASSIGN_OR_RETURN(auto core, storage->OpenDatabase(name, /*create_if_missing=*/true));
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
      if (FetchPool* pool = engine_->fetch_pool()) st.tiering.fetch = pool->stats();
    }
    return st;
  }

  Status SetConfig(std::string_view section, std::string_view key, std::string_view value) override {
    return engine_->config()->Set(section, key, value, /*at_runtime=*/true);
  }

  Status SetConfig(const std::vector<ConfigChange>& changes) override {
    std::vector<Config::Change> all;
    all.reserve(changes.size());
    for (const auto& c : changes) all.push_back({c.section, c.key, c.value});
    return engine_->config()->SetMany(all, /*at_runtime=*/true);
  }

  Result<std::string> GetConfig(std::string_view section, std::string_view key) override {
    return engine_->config()->GetDisplay(section, key);
  }

  std::vector<ConfigValue> ListConfig() override {
    std::vector<ConfigValue> out;
    for (const auto& e : engine_->config()->Effective()) out.push_back({e.section, e.key, e.value, e.runtime});
    return out;
  }

  Status SyncOwedJournal() override {
    Journal* journal = engine_->storage()->journal();
    return journal != nullptr ? journal->SyncOwed() : Status::OK();
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

Result<Config*> StoreConfig(Store* store) {
  auto* impl = dynamic_cast<StoreImpl*>(store);
  if (impl == nullptr) return Status::InvalidArgument("this store was not opened by Ebb's engine");
  return impl->engine()->config();
}

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

namespace {

Result<EngineTiering*> TieringOf(Store* store) {
  auto* impl = dynamic_cast<StoreImpl*>(store);
  if (impl == nullptr) return Status::InvalidArgument("this store was not opened by Ebb's engine");
  EngineBackground* bg = impl->engine()->background();
  if (bg == nullptr) return Status::Aborted("the store is closed");
  if (bg->tiering() == nullptr) {
    return Status::InvalidArgument("this store runs no tiering (tiering.enabled is false and nothing is evicted)");
  }
  return bg->tiering();
}

}  // namespace

Result<RecallReport> RecallEvictedSegments(Store* store, std::string_view database, const ProgressFn& progress) {
  EBB_ASSIGN_OR_RETURN(EngineTiering * tiering, TieringOf(store));
  std::string tier_name;
  if (!database.empty()) {
    auto* impl = dynamic_cast<StoreImpl*>(store);
    auto db = impl->engine()->storage()->FindDatabase(database);
    if (!db) return Status::NotFound(fmt::format("database {} does not exist", database));
    tier_name = Storage::TierName(*db);
  }
  return tiering->agent()->RecallNow(
      [&](const LiveSegment& s) { return tier_name.empty() || s.meta.database == tier_name; }, progress);
}

Result<GcReport> CollectTierGarbage(Store* store, bool dry_run) {
  EBB_ASSIGN_OR_RETURN(EngineTiering * tiering, TieringOf(store));
  return tiering->agent()->CollectGarbageNow(dry_run);
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
  EBB_ASSIGN_OR_RETURN(std::unique_ptr<Config> config, LoadEbbConfig(options));
  auto engine = std::make_shared<Engine>(env, std::move(config));
  Status s = engine->Open(options);
  if (!s.ok()) return s.WithContext(fmt::format("open store {}", options.data_dir));
  return std::unique_ptr<Store>(new StoreImpl(std::move(engine)));
}

Result<std::unique_ptr<Store>> Store::Open(const Options& options) { return OpenStore(options, EngineEnv()); }

}  // namespace ebb
