// EngineBackground: Ebb's background work, wired onto the runtime's work
// classes and the smoosh compaction daemon (docs/ARCHITECTURE.md, "The
// background runtime").
//
//   foreground -> writeback -> compaction --+
//                          +-> tiering -----+-> journal_reclaim
//
//   writeback        flushes memtables            pending: dirty memtable bytes
//   compaction       runs jobs smoosh picks       pending: reclaimable bytes of queued jobs
//   tiering          persists cold segments to the object store and evicts
//                    local copies (when [tiering] is enabled)
//                                                 pending: local segment bytes over target
//   journal_reclaim  deletes journal files no memtable needs, flushing small
//                    memtables that pin the oldest one, checkpoints the manifest
//                                                 pending: journal bytes flushing can free
//
// The scheduler decides when and how fast each class works; smoosh decides
// what to compact. A driver thread ticks smoosh at its own deadlines only
// (window boundaries, wait_secs, retries), so an idle store makes no
// background wakeups at all. Writers are slowed by ForegroundThrottle between
// writeback's band_high and twice that, at most work.max_pause_ms per write.

#ifndef EBB_ENGINE_BACKGROUND_H_
#define EBB_ENGINE_BACKGROUND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "base/config.h"
#include "base/mutex.h"
#include "compaction/smoosh_daemon.h"
#include "ebb/smoosh_status.h"
#include "ebb/work_status.h"
#include "runtime/background_scheduler.h"
#include "runtime/foreground_throttle.h"
#include "engine/expiry_source.h"
#include "engine/tiering_host.h"
#include "engine/writeback.h"
#include "storage/storage.h"

namespace ebb {

class EngineBackground {
 public:
  // Registers the classes, opens smoosh (loading its persisted queues) and
  // starts the threads.
  // `tier_store`, if given, replaces the object store [tiering] names (tests).
  static Result<std::unique_ptr<EngineBackground>> Start(Storage* storage, Config* config, Clock* clock,
                                                         FileSystem* fs, const std::string& data_dir,
                                                         ObjectStore* tier_store = nullptr);
  ~EngineBackground();

  // Storage events (cheap; called on write and flush paths).
  void OnWritesCompleted(DatabaseCore* db, uint64_t writes, uint64_t bytes);
  void OnMemtableSwitched(DatabaseCore* db);
  void OnSegmentsChanged(DatabaseCore* db);
  void OnDatabaseDropped(std::string_view name);
  // Smoosh's queues or channels changed outside the storage events (manual
  // enqueue, resume): the compaction class and the timer look again.
  void OnCompactionQueueChanged();

  // How long the calling writer should pause now (0 below the soft limit).
  int64_t ThrottlePauseMicros() const;
  // Counts a pause a writer is about to take (status: throttled_writes) and
  // makes the scheduler look at the classes the writer waits for (at most
  // once per work.interval_ms, however many writers pause).
  void NoteThrottled(int64_t pause_micros);

  BackgroundScheduler* scheduler() { return scheduler_.get(); }
  EngineTiering* tiering() { return tiering_.get(); }
  SmooshDaemon* smoosh() { return smoosh_.get(); }
  BackgroundSchedulerStatus WorkStatus() const;
  SmooshStatus CompactionStatus() const;

  // Stops the driver and the scheduler (passes in progress finish or stop
  // early), then saves smoosh's queues.
  void Stop();

 private:
  class CompactionSource;
  class JournalReclaimSource;
  class Target;

  EngineBackground(Storage* storage, Config* config, Clock* clock);
  void DriverLoop();
  // The earliest of smoosh's deadline and the next tiering eligibility.
  std::optional<int64_t> NextTimerDeadline();
  void WakeDriver();
  // Runs smoosh's evaluation of changed databases on the calling thread (a
  // flush or compaction, already background work) instead of waking the
  // driver for it; wakes the driver only if smoosh now needs a timer sooner
  // than the one the driver waits for.
  void TickSmooshHere();
  Status ApplyConfig();
  // What ApplyConfig and smoosh's ApplyConfig would refuse, checked on a
  // candidate configuration before a change to work.*, tiering or smoosh
  // is committed (Config::AddValidator).
  Status ValidateWorkConfig(const Config& candidate) const;
  static Status ValidateSmooshConfig(const Config& candidate);

  Storage* const storage_;
  Config* const config_;
  Clock* const clock_;
  std::unique_ptr<Target> target_;
  std::unique_ptr<SmooshDaemon> smoosh_;
  std::unique_ptr<WritebackSource> writeback_;
  std::unique_ptr<CompactionSource> compaction_;
  std::unique_ptr<JournalReclaimSource> journal_reclaim_;
  std::unique_ptr<ExpirySource> expiry_;
  std::unique_ptr<EngineTiering> tiering_;  // when [tiering] enabled
  std::unique_ptr<BackgroundScheduler> scheduler_;
  ForegroundThrottle throttle_;
  std::atomic<uint64_t> throttle_soft_bytes_{0};
  std::atomic<uint64_t> throttle_hard_bytes_{0};
  // Tiering's limits on local segment + unflushed bytes (0: no throttle).
  std::atomic<uint64_t> tier_throttle_soft_bytes_{0};
  std::atomic<uint64_t> tier_throttle_hard_bytes_{0};
  std::atomic<uint64_t> throttled_writes_{0};
  std::atomic<uint64_t> memory_bound_waits_{0};
  std::atomic<uint64_t> throttle_pause_us_{0};
  // When a paused writer last asked the scheduler for a round, and how often
  // it may (work.interval_ms), in clock micros.
  std::atomic<int64_t> throttle_notified_micros_{INT64_MIN / 2};
  std::atomic<int64_t> throttle_notify_every_micros_{0};
  std::atomic<bool> stopping_{false};
  int work_subscription_ = 0;
  int smoosh_subscription_ = 0;
  int tiering_subscription_ = 0;
  std::vector<int> validators_;

  // The timer thread: ticks smoosh at its deadlines and wakes the tiering
  // class when a segment comes of age; sleeps with no deadline otherwise.
  Mutex driver_mu_;
  CondVar driver_cv_{&driver_mu_};
  bool driver_wake_ GUARDED_BY(driver_mu_) = false;
  bool driver_stop_ GUARDED_BY(driver_mu_) = false;
  // While the driver waits: for what deadline (nullopt: none).
  bool driver_waiting_ GUARDED_BY(driver_mu_) = false;
  std::optional<int64_t> driver_deadline_ GUARDED_BY(driver_mu_);
  std::thread driver_;
};

// Per-class defaults derived from the storage settings (installed as
// section defaults so explicit settings still win).
void InstallWorkClassDefaults(Config* config);

}  // namespace ebb

#endif  // EBB_ENGINE_BACKGROUND_H_
