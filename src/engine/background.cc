#include "engine/background.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/logging.h"
#include "base/thread_name.h"
#include "base/status_macros.h"
#include "compaction/compaction_settings.h"

namespace ebb {

namespace {
constexpr const char* kWriteback = "writeback";
constexpr const char* kCompaction = "compaction";
constexpr const char* kJournalReclaim = "journal_reclaim";
constexpr const char* kTiering = "tiering";
constexpr const char* kExpiry = "expiry";
// A manifest whose edits since its last checkpoint exceed this is rewritten
// by journal reclaim (recovery then replays less).
constexpr uint64_t kManifestCheckpointMinBytes = 1 << 20;
}  // namespace

void InstallWorkClassDefaults(Config* config) {
  // Writeback lets a few memtables' worth of writes accumulate before
  // flushing (overwrites are absorbed in memory); band_high stays below the
  // point where writers must wait for memory (max_immutable_memtables).
  uint64_t memtable = static_cast<uint64_t>(config->GetInt("store", "memtable_bytes"));
  config->SetSectionDefault("work.writeback", "band_low_bytes", std::to_string(2 * memtable));
  config->SetSectionDefault("work.writeback", "band_high_bytes", std::to_string(8 * memtable));
  config->SetSectionDefault("work.compaction", "band_low_bytes", "64MiB");
  config->SetSectionDefault("work.compaction", "band_high_bytes", "256MiB");
  // The journal holds every unflushed byte (and framing), so its band sits
  // above writeback's: under load, writeback keeps the journal in check and
  // journal reclaim only forces flushes of small memtables that pin old
  // files; at idle it rushes after everything above it.
  uint64_t writeback_high = 8 * memtable;
  uint64_t journal_segment = static_cast<uint64_t>(config->GetInt("journal", "segment_bytes"));
  uint64_t journal_low = std::max(2 * writeback_high, 2 * journal_segment);
  config->SetSectionDefault("work.journal_reclaim", "band_low_bytes", std::to_string(journal_low));
  config->SetSectionDefault("work.journal_reclaim", "band_high_bytes", std::to_string(2 * journal_low));
  // Tiering's gauge is local segment bytes over tiering.local_target_bytes:
  // keep it within 1%-10% of the target (local bytes stay below target + 10%).
  uint64_t target = static_cast<uint64_t>(config->GetInt("tiering", "local_target_bytes"));
  if (target > 0 && target < (uint64_t{1} << 62)) {
    config->SetSectionDefault("work.tiering", "band_low_bytes", std::to_string(std::max<uint64_t>(1, target / 100)));
    config->SetSectionDefault("work.tiering", "band_high_bytes", std::to_string(std::max<uint64_t>(2, target / 10)));
  }
}

namespace {

// Sorted runs among the local segments (newest first, up to the first
// evicted one): what a read may have to merge. A compaction's output is one
// run split into files of segment_target_bytes with disjoint key ranges;
// each flush that overlaps what came before starts a new run.
uint64_t LocalSortedRuns(const SegmentSet& set) {
  uint64_t runs = 0;
  std::vector<const SegmentMeta*> run;  // the current run's segments
  for (const auto& f : set) {
    if (f->evicted()) break;
    const SegmentMeta& m = f->meta();
    const bool overlaps = std::any_of(run.begin(), run.end(), [&](const SegmentMeta* o) {
      return !(m.largest_key < o->smallest_key || o->largest_key < m.smallest_key);
    });
    if (run.empty() || overlaps) {
      runs++;
      run.clear();
    }
    run.push_back(&m);
  }
  return runs;
}

}  // namespace

// The daemon's view of the store.
class EngineBackground::Target final : public CompactionTarget {
 public:
  explicit Target(Storage* storage) : storage_(storage) {}
  std::optional<CompactionInfo> GetCompactionInfo(std::string_view database) override {
    auto db = storage_->FindDatabase(database);
    if (!db) return std::nullopt;
    // Only what compaction can act on: tiered segments stay as they are.
    DatabaseCore::CompactableSizes c = db->Compactable();
    DatabaseStats st = db->GetStats();
    CompactionInfo info;
    info.disk_bytes = c.disk_bytes;
    info.live_bytes = c.live_bytes;
    // Read amplification is in runs, not files: a compacted database of a
    // GiB is sixteen 64 MiB files and one run, and must not look like it
    // needs compacting again.
    info.segments = LocalSortedRuns(*db->segment_set());
    info.update_seq = st.update_seq;
    info.compacted_seq = st.compacted_seq;
    return info;
  }
  std::vector<std::string> ListDatabases() override { return storage_->ListDatabases(); }
  Result<uint64_t> FreeDiskBytes() override { return storage_->fs()->GetFreeSpace(storage_->options().data_dir); }

 private:
  Storage* const storage_;
};

// compaction: pending = reclaimable bytes of what smoosh has queued and can
// start. Work: run the jobs smoosh hands out, reclaimed bytes as progress.
class EngineBackground::CompactionSource final : public WorkSource {
 public:
  // `wake_driver` makes the timer thread look at smoosh's deadlines again
  // (after they moved earlier or went away).
  CompactionSource(Storage* storage, SmooshDaemon* smoosh, Clock* clock, const std::atomic<bool>* stopping,
                   std::function<void()> wake_driver)
      : storage_(storage), smoosh_(smoosh), clock_(clock), stopping_(stopping), wake_driver_(std::move(wake_driver)) {}

  uint64_t PendingBytes() override { return smoosh_->ReclaimableBytes(); }

  // Smoosh's wait_secs holds queued work back to see more candidates. Once
  // the classes above compaction are idle none are coming: the wait ends
  // and the jobs start in the rush to idle, with no timer left for later.
  bool HoldsWorkForUpstreams() override { return smoosh_->HoldsWorkInWait(); }
  void UpstreamsIdle() override {
    if (!smoosh_->HoldsWorkInWait()) return;
    smoosh_->EndWait();
    wake_driver_();  // its timer for the end of the wait is void
  }
  // A burst that starts within the wait and outlasts it: once what the
  // wait holds reaches the class's band_high, waiting for a better choice
  // costs more (segments piling up for reads to probe) than it can gain.
  uint64_t HeldBytes() override { return smoosh_->HeldInWaitBytes(); }
  void ReleaseHeldWork() override {
    smoosh_->EndWait("the work it holds reached work.compaction.band_high_bytes");
    wake_driver_();
  }

  Result<uint64_t> DoWork(uint64_t budget_bytes) override {
    uint64_t done = 0;
    Status last_error;
    while (done < budget_bytes && !stopping_->load()) {
      std::shared_ptr<CompactionJob> job = smoosh_->TakeNextJob(clock_->NowMicros());
      if (!job) break;
      auto db = storage_->FindDatabase(job->database());
      if (!db) {
        smoosh_->JobFinished(job, Status::OK());  // dropped meanwhile: nothing to do
        continue;
      }
      job->ReportProgress(0);
      CompactionOptions options;
      options.full = true;
      options.should_stop = [job, this] { return job->suspended() || stopping_->load(); };
      auto result = db->Compact(options);
      if (result.ok()) {
        job->ReportProgress(result->output_bytes);
        // Progress is space given back; a job that frees nothing (the
        // segments channel cuts read amplification) still counts as a unit.
        done += std::max<uint64_t>(1, result->input_bytes - std::min(result->input_bytes, result->output_bytes));
        smoosh_->JobFinished(job, Status::OK());
      } else if (result.status().IsBusy()) {
        // A manual compaction of the same database is running.
        smoosh_->JobFinished(job, Status::Aborted(result.status().message()));
        break;
      } else {
        smoosh_->JobFinished(job, result.status());
        if (!result.status().IsAborted()) last_error = result.status();
      }
    }
    if (smoosh_->ReclaimableBytes() == 0) {
      // Nothing left to start: save the queues now rather than arm a timer,
      // and let the timer thread drop the checkpoint deadline it may hold.
      Status s = smoosh_->Checkpoint();
      if (!s.ok()) EBB_LOG(kWarn, "smoosh checkpoint: {}", s.ToString());
      wake_driver_();
    }
    if (done == 0 && !last_error.ok()) return last_error;
    return done;
  }

 private:
  Storage* const storage_;
  SmooshDaemon* const smoosh_;
  Clock* const clock_;
  const std::atomic<bool>* const stopping_;
  const std::function<void()> wake_driver_;
};

// journal_reclaim: pending = journal bytes flushing can free. Work: delete
// unneeded files, then flush the small memtables pinning the oldest file,
// and checkpoint the manifest when its edit log has grown.
class EngineBackground::JournalReclaimSource final : public WorkSource {
 public:
  explicit JournalReclaimSource(Storage* storage) : storage_(storage) {}

  uint64_t PendingBytes() override {
    uint64_t manifest = storage_->manifest()->bytes_since_checkpoint();
    return storage_->JournalReclaimPendingBytes() + (manifest >= kManifestCheckpointMinBytes ? manifest : 0);
  }

  Result<uint64_t> DoWork(uint64_t budget_bytes) override {
    EBB_ASSIGN_OR_RETURN(uint64_t done, storage_->ReclaimJournal());
    // Bounded: each round flushes the databases pinning the oldest file.
    for (int round = 0; round < 64 && done < budget_bytes; round++) {
      auto files = storage_->journal()->Files();
      uint64_t current = storage_->journal()->CurrentFileNumber();
      if (files.empty() || files.front().number >= current) break;
      auto pinning = storage_->DatabasesPinning(files.front().number);
      if (pinning.empty()) break;
      // Usually many small memtables: flushed together, one manifest edit.
      EBB_RETURN_IF_ERROR(storage_->FlushDatabases(pinning).status());
      EBB_ASSIGN_OR_RETURN(uint64_t freed, storage_->ReclaimJournal());
      if (freed == 0) break;
      done += freed;
    }
    uint64_t manifest = storage_->manifest()->bytes_since_checkpoint();
    if (manifest >= kManifestCheckpointMinBytes) {
      EBB_RETURN_IF_ERROR(storage_->manifest()->Checkpoint());
      done += manifest;
    }
    return done;
  }

 private:
  Storage* const storage_;
};

EngineBackground::EngineBackground(Storage* storage, Config* config, Clock* clock)
    : storage_(storage), config_(config), clock_(clock) {}

Result<std::unique_ptr<EngineBackground>> EngineBackground::Start(Storage* storage, Config* config, Clock* clock,
                                                                  FileSystem* fs, const std::string& data_dir,
                                                                  ObjectStore* tier_store) {
  std::unique_ptr<EngineBackground> bg(new EngineBackground(storage, config, clock));
  bg->target_ = std::make_unique<Target>(storage);
  SmooshDaemonOptions so;
  so.target = bg->target_.get();
  so.fs = fs;
  so.clock = clock;
  so.state_dir = ResolveSmooshStateDir(*config, data_dir);
  EBB_ASSIGN_OR_RETURN(bg->smoosh_, SmooshDaemon::Open(so, *config));

  EBB_ASSIGN_OR_RETURN(WorkSettings ws, WorkSettings::FromConfig(*config));
  bg->scheduler_ = std::make_unique<BackgroundScheduler>(clock, ws);
  bg->writeback_ = std::make_unique<WritebackSource>(storage);
  bg->compaction_ = std::make_unique<CompactionSource>(storage, bg->smoosh_.get(), clock, &bg->stopping_,
                                                       [b = bg.get()] { b->WakeDriver(); });
  bg->journal_reclaim_ = std::make_unique<JournalReclaimSource>(storage);
  bg->expiry_ = std::make_unique<ExpirySource>(storage, clock);
  bg->expiry_->Refresh();
  // Tiering turned off on a store with evicted segments runs to recall them.
  const bool tiering_enabled = config->GetBool("tiering", "enabled");
  if (tiering_enabled || HasEvictedSegments(storage)) {
    EBB_ASSIGN_OR_RETURN(bg->tiering_, EngineTiering::Open(storage, *config, fs, clock, data_dir,
                                                           tiering_enabled ? TieringMode::kTiering
                                                                           : TieringMode::kRecall,
                                                           tier_store));
  }
  struct Registration {
    const char* name;
    WorkSource* source;
    std::vector<std::string> upstreams;
  };
  std::vector<Registration> classes = {
      Registration{kWriteback, bg->writeback_.get(), {std::string(kForegroundClassName)}},
      Registration{kCompaction, bg->compaction_.get(), {kWriteback}},
      Registration{kJournalReclaim, bg->journal_reclaim_.get(), {kCompaction, kTiering}},
      // Active expiry: below the foreground only; it sleeps until the
      // earliest deadline it knows.
      Registration{kExpiry, bg->expiry_.get(), {std::string(kForegroundClassName)}}};
  if (bg->tiering_) classes.push_back(Registration{kTiering, bg->tiering_.get(), {kWriteback}});
  for (const auto& r : classes) {
    EBB_ASSIGN_OR_RETURN(WorkClassSettings cs, WorkClassSettings::FromConfig(*config, r.name));
    EBB_RETURN_IF_ERROR(bg->scheduler_->RegisterClass(r.name, r.source, r.upstreams, cs));
  }
  bg->throttle_.ApplyConfig(*config);
  EBB_RETURN_IF_ERROR(bg->ApplyConfig());
  EBB_RETURN_IF_ERROR(bg->scheduler_->Start());
  bg->driver_ = std::thread([b = bg.get()] {
    SetCurrentThreadName("ebb-bg-driver");
    b->DriverLoop();
  });
  // Changes are checked before they are stored, so a value the scheduler or
  // smoosh would refuse is never stored (and never blocks later changes).
  bg->validators_.push_back(
      config->AddValidator("work", [b = bg.get()](const Config& c) { return b->ValidateWorkConfig(c); }));
  bg->validators_.push_back(
      config->AddValidator("tiering", [b = bg.get()](const Config& c) { return b->ValidateWorkConfig(c); }));
  bg->validators_.push_back(config->AddValidator("smoosh", &EngineBackground::ValidateSmooshConfig));
  bg->work_subscription_ = config->Subscribe("work", [b = bg.get()](const std::string&, const std::string&) {
    Status s = b->ApplyConfig();
    if (!s.ok()) EBB_LOG(kWarn, "work configuration: {}", s.ToString());
  });
  bg->tiering_subscription_ = config->Subscribe("tiering", [b = bg.get()](const std::string&, const std::string&) {
    if (b->tiering_) b->tiering_->agent()->ApplyConfig(*b->config_);
    Status s = b->ApplyConfig();
    if (!s.ok()) EBB_LOG(kWarn, "tiering configuration: {}", s.ToString());
  });
  bg->smoosh_subscription_ = config->Subscribe("smoosh", [b = bg.get()](const std::string&, const std::string&) {
    Status s = b->smoosh_->ApplyConfig(*b->config_);
    if (!s.ok()) EBB_LOG(kWarn, "smoosh configuration: {}", s.ToString());
    b->WakeDriver();
  });
  // Databases recovered with reclaimable space are evaluated once at start.
  for (const auto& name : storage->ListDatabases()) bg->smoosh_->OnDatabaseChanged(name);
  bg->WakeDriver();
  // Tiering may have work from the start (snapshots to resume, segments to
  // recall) that no write will announce.
  if (bg->tiering_) bg->scheduler_->Notify();
  return bg;
}

EngineBackground::~EngineBackground() { Stop(); }

Status EngineBackground::ApplyConfig() {
  EBB_RETURN_IF_ERROR(scheduler_->ApplyConfig(*config_));
  if (expiry_->SetMaxPendingAgeMs(scheduler_->settings().max_pending_age_micros() / 1000)) {
    expiry_->Refresh();
    scheduler_->Notify();  // its deadline may have moved
  }
  throttle_.ApplyConfig(*config_);
  throttle_notify_every_micros_.store(scheduler_->settings().interval_micros());
  EBB_ASSIGN_OR_RETURN(WorkClassSettings wb, WorkClassSettings::FromConfig(*config_, kWriteback));
  throttle_soft_bytes_.store(wb.band_high_bytes);
  throttle_hard_bytes_.store(2 * wb.band_high_bytes);
  // With tiering, writes also slow down as the bytes that will be local
  // (segments plus memtables) near the target plus tiering's band: half the
  // band over target is soft (band_low if that is higher: below it the class
  // lets work batch up, and writers must not wait for work nobody does), the
  // whole band hard.
  uint64_t tier_soft = 0, tier_hard = 0;
  if (tiering_ && tiering_->agent()->options().mode == TieringMode::kTiering &&
      config_->GetBool("tiering", "throttle_writes")) {
    uint64_t target = static_cast<uint64_t>(config_->GetInt("tiering", "local_target_bytes"));
    EBB_ASSIGN_OR_RETURN(WorkClassSettings tc, WorkClassSettings::FromConfig(*config_, kTiering));
    if (target < (uint64_t{1} << 62)) {
      tier_soft = target + std::max(tc.band_low_bytes, tc.band_high_bytes / 2);
      tier_hard = target + tc.band_high_bytes;
    }
  }
  tier_throttle_soft_bytes_.store(tier_soft);
  tier_throttle_hard_bytes_.store(tier_hard);
  return Status::OK();
}

Status EngineBackground::ValidateWorkConfig(const Config& candidate) const {
  EBB_RETURN_IF_ERROR(WorkSettings::FromConfig(candidate).status());
  std::vector<const char*> classes = {kWriteback, kCompaction, kJournalReclaim};
  if (tiering_) classes.push_back(kTiering);
  for (const char* name : classes) EBB_RETURN_IF_ERROR(WorkClassSettings::FromConfig(candidate, name).status());
  return Status::OK();
}

Status EngineBackground::ValidateSmooshConfig(const Config& candidate) {
  SmooshSettings settings = ReadSmooshSettings(candidate);
  if (!settings.ignored_channels.empty()) {
    return Status::InvalidArgument(fmt::format("smoosh.db_channels lists more than {} channels ({} too many: {})",
                                               kMaxSmooshChannels, settings.ignored_channels.size(),
                                               fmt::join(settings.ignored_channels, ", ")));
  }
  return Status::OK();
}

void EngineBackground::OnWritesCompleted(DatabaseCore* db, uint64_t writes, uint64_t bytes) {
  writeback_->queue()->NoteWrites(db);
  scheduler_->NoteForegroundWork(bytes);
  if (smoosh_->OnDatabaseChanged(db->name(), db->listener_memo())) WakeDriver();
}

void EngineBackground::OnMemtableSwitched(DatabaseCore* db) {
  writeback_->queue()->NoteSwitched(db);
  // A switch is normal work for the controller (the write itself woke the
  // scheduler). Only a database nearing the memory bound, where writers
  // would wait, is urgent: then writeback runs regardless of its band.
  size_t limit = static_cast<size_t>(storage_->options().max_immutable_memtables);
  const size_t immutable = db->ImmutableCount();
  // At the bound with the mutable memtable full too, a writer is about to
  // wait for a flush (MakeRoomForWrite calls here before it waits).
  if (immutable >= limit &&
      db->DirtyBytes() - db->ImmutableBytes() >= static_cast<uint64_t>(storage_->options().memtable_bytes)) {
    memory_bound_waits_.fetch_add(1, std::memory_order_relaxed);
  }
  if (immutable * 2 >= limit) (void)scheduler_->Kick(kWriteback);
}

void EngineBackground::OnSegmentsChanged(DatabaseCore* db) {
  // Disk and live sizes change only here: re-evaluate even if recently seen,
  // here (see TickSmooshHere). With tiering, a new segment may also need a
  // timer for when it comes of age.
  if (smoosh_->OnDatabaseResized(db->name())) TickSmooshHere();
  if (tiering_) WakeDriver();
  // A value with an earlier expiry than any known: the dispatcher must arm
  // its deadline (it may be asleep with none).
  if (expiry_->OnSegmentsChanged(db)) scheduler_->Notify();
}

void EngineBackground::OnDatabaseDropped(std::string_view name) {
  smoosh_->OnDatabaseDropped(name);
  expiry_->OnDatabaseDropped(name);
  // Tiering has a tombstone to archive (and a catalog without the
  // database to publish): let the class see it now, not at the next write.
  if (tiering_) scheduler_->Notify();
}

void EngineBackground::OnCompactionQueueChanged() {
  scheduler_->Notify();
  WakeDriver();
}

int64_t EngineBackground::ThrottlePauseMicros() const {
  const uint64_t dirty = storage_->DirtyBytes();
  int64_t pause = throttle_.PauseMicros(dirty, throttle_soft_bytes_.load(std::memory_order_relaxed),
                                        throttle_hard_bytes_.load(std::memory_order_relaxed));
  const uint64_t tier_hard = tier_throttle_hard_bytes_.load(std::memory_order_relaxed);
  // While the object store cannot be reached nothing can be evicted: local
  // bytes grow past the target rather than writes stalling on an outage.
  if (tier_hard > 0 && tiering_->agent()->connected()) {
    pause = std::max(pause, throttle_.PauseMicros(storage_->LocalSegmentBytes() + dirty,
                                                  tier_throttle_soft_bytes_.load(std::memory_order_relaxed),
                                                  tier_hard));
  }
  return pause;
}

void EngineBackground::NoteThrottled(int64_t pause_micros) {
  throttled_writes_.fetch_add(1, std::memory_order_relaxed);
  throttle_pause_us_.fetch_add(static_cast<uint64_t>(pause_micros), std::memory_order_relaxed);
  // The paused writer waits for a class to bring its gauge down, but the
  // scheduler may not be looking: a class that last saw a trickle is
  // deferred to its age limit, an asleep one waits for an event, and the
  // write path wakes the scheduler only every kMinPassBudgetBytes written,
  // which the pauses themselves stretch to minutes. Ask for a round.
  const int64_t now = clock_->NowMicros();
  int64_t last = throttle_notified_micros_.load(std::memory_order_relaxed);
  if (now - last < throttle_notify_every_micros_.load(std::memory_order_relaxed)) return;
  if (!throttle_notified_micros_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  scheduler_->Notify();
}

void EngineBackground::WakeDriver() {
  MutexLock lock(&driver_mu_);
  driver_wake_ = true;
  driver_cv_.Signal();
}

void EngineBackground::TickSmooshHere() {
  TickResult r = smoosh_->Tick(clock_->NowMicros());
  if (r.runnable || smoosh_->ReclaimableBytes() > 0) scheduler_->Notify();
  const std::optional<int64_t> next = smoosh_->NextDeadline();
  MutexLock lock(&driver_mu_);
  // A driver that is not waiting computes its deadline afresh, maybe from
  // before this tick: make it look again.
  if (!driver_waiting_ || (next && (!driver_deadline_ || *next < *driver_deadline_))) {
    driver_wake_ = true;
    driver_cv_.Signal();
  }
}

std::optional<int64_t> EngineBackground::NextTimerDeadline() {
  std::optional<int64_t> deadline = smoosh_->NextDeadline();
  if (tiering_) {
    std::optional<int64_t> eligible = tiering_->NextEligibleMicros(clock_);
    if (eligible && (!deadline || *eligible < *deadline)) deadline = eligible;
  }
  return deadline;
}

void EngineBackground::DriverLoop() {
  MutexLock lock(&driver_mu_);
  while (!driver_stop_) {
    std::optional<int64_t> deadline;
    {
      MutexUnlock unlock(&driver_mu_);
      deadline = NextTimerDeadline();
    }
    if (!driver_wake_) {
      driver_waiting_ = true;
      driver_deadline_ = deadline;
      if (!deadline) {
        driver_cv_.Wait();  // no timer: an idle store makes no wakeups
      } else if (clock_->NowMicros() < *deadline) {
        clock_->WaitUntil(&driver_cv_, *deadline);
      }
      driver_waiting_ = false;
    }
    if (driver_stop_) break;
    bool woken = driver_wake_;
    driver_wake_ = false;
    {
      MutexUnlock unlock(&driver_mu_);
      std::optional<int64_t> smoosh_deadline = smoosh_->NextDeadline();
      if (woken || (smoosh_deadline && clock_->NowMicros() >= *smoosh_deadline)) {
        TickResult r = smoosh_->Tick(clock_->NowMicros());
        // The compaction class decides when (its band); make sure it looks
        // at the new gauge.
        if (r.runnable || smoosh_->ReclaimableBytes() > 0) scheduler_->Notify();
      }
      // A segment came of age for tiering: let the class see it.
      if (tiering_ && deadline && clock_->NowMicros() >= *deadline) scheduler_->Notify();
    }
  }
}

BackgroundSchedulerStatus EngineBackground::WorkStatus() const {
  BackgroundSchedulerStatus st = scheduler_->GetStatus();
  st.throttled_writes = throttled_writes_.load(std::memory_order_relaxed);
  st.memory_bound_waits = memory_bound_waits_.load(std::memory_order_relaxed);
  st.throttle_pause_us = throttle_pause_us_.load(std::memory_order_relaxed);
  return st;
}
SmooshStatus EngineBackground::CompactionStatus() const { return smoosh_->GetStatus(); }

void EngineBackground::Stop() {
  if (stopping_.exchange(true)) return;
  for (int id : validators_) config_->RemoveValidator(id);
  validators_.clear();
  if (work_subscription_) config_->Unsubscribe(work_subscription_);
  if (smoosh_subscription_) config_->Unsubscribe(smoosh_subscription_);
  if (tiering_subscription_) config_->Unsubscribe(tiering_subscription_);
  {
    MutexLock lock(&driver_mu_);
    driver_stop_ = true;
    driver_cv_.Signal();
  }
  if (driver_.joinable()) driver_.join();
  if (scheduler_) scheduler_->Stop();
  if (smoosh_) {
    Status s = smoosh_->Stop();
    if (!s.ok()) EBB_LOG(kWarn, "smoosh stop: {}", s.ToString());
  }
}

}  // namespace ebb
