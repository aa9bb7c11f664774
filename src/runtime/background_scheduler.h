// BackgroundScheduler: runs the background work classes of a store. It owns
// the graph of classes (foreground -> writeback -> {compaction, tiering} ->
// journal reclaim, as the engine declares it), a dispatcher thread that
// evaluates classes when they need it and N worker threads that run passes,
// one at a time per class. Policies and the per-class logic are in
// work_class.h; settings in work_settings.h.
//
// Event driven: the dispatcher waits on a condition variable until the
// earliest deadline any class armed — an interval away for classes with
// work worth a pass, one far deadline (the age limit of a trickle's work,
// the moment busy upstreams go quiet) otherwise — or with no deadline when
// none did: zero background wakeups until something happens. What wakes it:
//   - NoteForegroundWork (the write path), before a far or unbounded wait:
//     the first write if a class the foreground feeds with writes
//     (WorkSource::FedByWrites) has nothing armed (asleep), else the write that brings what was written since the last
//     round to a pass's worth (kMinPassBudgetBytes), so a trickle of small
//     writes wakes it once, not once per write; other calls touch three
//     atomics and take no lock;
//   - Kick(class) for urgent work (memtable full, journal full);
//   - a finished pass, Notify, RegisterClass, UnregisterClass, settings changes.
// Each round evaluates the classes whose deadline came and every class off
// the interval cadence (asleep, deferred: cheap, and the event may concern
// them); see work_class.h. A pass that is the only work (nothing queued or
// running) and is small (under its class's small_pending_bytes: a trickle
// at its age limit) or a batch that came due by itself while the store is
// idle (WorkSource::PendingCameDue) runs on the dispatcher thread: the round
// that found it also looks after it, so such a pass costs the process one
// wakeup, not three (dispatcher, worker, dispatcher again).
//
// Deterministic use in tests: do not Start(); call RunOnce() with a
// ManualClock, which evaluates every due class once on the caller's thread,
// runs their passes inline and returns the next deadline (none when all
// sleep).
//
// Thread safety: all methods are thread-safe, except that RunOnce must not
// be called while started. WorkSource callbacks run without the scheduler's
// lock held and may call Kick and NoteForegroundWork; they must not call
// UnregisterClass for their own class.

#ifndef EBB_RUNTIME_BACKGROUND_SCHEDULER_H_
#define EBB_RUNTIME_BACKGROUND_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/config.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "env/clock.h"
#include "ebb/status.h"
#include "runtime/work_class.h"
#include "runtime/work_settings.h"
#include "runtime/work_source.h"
#include "ebb/work_status.h"

namespace ebb {

// The name of the foreground pseudo-class: usable as an upstream, reserved
// as a class name.
inline constexpr std::string_view kForegroundClassName = "foreground";
// Bound on registered classes (the graph is evaluated in full each round).
inline constexpr size_t kMaxWorkClasses = 64;

class BackgroundScheduler {
 public:
  // `clock` must outlive the scheduler. `settings.threads` is read once, by
  // Start.
  BackgroundScheduler(Clock* clock, const WorkSettings& settings);
  // Stops the threads (waiting for passes in progress).
  ~BackgroundScheduler();

  BackgroundScheduler(const BackgroundScheduler&) = delete;
  BackgroundScheduler& operator=(const BackgroundScheduler&) = delete;

  // Registers a class. `upstreams` names the classes whose work creates its
  // work ("foreground" for the write path). Names not registered (yet) are
  // ignored until they are: journal reclaim may list tiering whether or not
  // tiering runs. A class none of whose upstreams is registered depends on
  // the foreground. `source` is not owned and must stay valid until
  // UnregisterClass returns or the scheduler is destroyed.
  // AlreadyExists for a duplicate name; InvalidArgument for an empty,
  // reserved ("foreground") or malformed name ([A-Za-z0-9_-]+), invalid
  // settings, more than kMaxWorkClasses classes, or an edge that closes a
  // cycle.
  Status RegisterClass(std::string name, WorkSource* source, std::vector<std::string> upstreams,
                       const WorkClassSettings& settings);
  // Removes a class, waiting for its pass in progress. NotFound if unknown.
  Status UnregisterClass(std::string_view name);

  // The write path reports foreground work: hot-path safe (an atomic store
  // and add; a lock and a notify only for the first call after the
  // dispatcher went to sleep). Timestamps from racing writers may land out
  // of order by the time between their clock reads; harmless for idle
  // detection at millisecond scale.
  void NoteForegroundWork(uint64_t bytes);

  // New work may be pending for some class (e.g. the compaction daemon
  // queued a database): wakes the dispatcher, which evaluates the sleeping
  // classes now. Unlike Kick it respects bands, debt and policy.
  void Notify();

  // Urgent work: evaluates `name` at once and runs a pass regardless of band,
  // debt and stuck backoff (WorkClass::Kick). NotFound if unknown.
  Status Kick(std::string_view name);

  // Starts the dispatcher and `settings.threads` workers. InvalidArgument if
  // already started.
  Status Start();
  // Stops and joins the threads; passes in progress finish first, queued
  // ones are dropped. Idempotent. After Stop, RunOnce may be used again.
  void Stop();

  // Step API (not started only): evaluates, at the clock's current time,
  // every class that is due (kicked, asleep, or its deadline reached), in
  // dependency order, running each pass inline before evaluating the next
  // class. Returns the earliest deadline of any class (Clock::NowMicros),
  // nullopt when every class is asleep.
  std::optional<int64_t> RunOnce();
  // Step API: whether something happened since the last RunOnce that would
  // have woken a started dispatcher before its deadline (a write past the
  // wake threshold, a kick, Notify, a settings change); clears it. Lets a
  // test count the wakeups a trace would cost.
  bool TakeNotification();

  // Blocks until the dispatcher waits with no deadline and no pass is queued
  // or running (every class asleep), or until the clock reaches
  // `deadline_micros`. Returns whether it is asleep. For shutdown, tests and
  // time-to-idle measurements. Requires Start.
  bool WaitUntilAsleep(int64_t deadline_micros);

  // Run-time settings changes. A policy change resets every class's policy
  // state. `threads` changes need a restart (ignored here). A new `nice` is
  // applied to every background thread; the error says why it could not be
  // (lowering it needs CAP_SYS_NICE), the rest is applied regardless.
  Status ApplySettings(const WorkSettings& settings);
  // InvalidArgument (and no change) for invalid settings; NotFound for an
  // unknown class.
  Status SetClassSettings(std::string_view name, const WorkClassSettings& settings);
  // Reads [work] and [work.<class>] for every registered class and applies
  // them. Invalid class sections are reported (first error) and left as they
  // were; the rest is applied.
  Status ApplyConfig(const Config& config);

  WorkSettings settings() const;
  BackgroundSchedulerStatus GetStatus() const;

 private:
  // One registered class. Every member but `source` is protected by mu_.
  struct Entry {
    Entry(std::string name, WorkSource* source, std::vector<std::string> upstreams,
          const WorkClassSettings& settings, int64_t now_micros)
        : source(source), cls(std::move(name), std::move(upstreams), settings, now_micros) {}
    WorkSource* const source;
    WorkClass cls;
    bool fed_by_writes = true;  // WorkSource::FedByWrites, read at registration
    bool running = false;  // a pass is queued or in progress
    bool removed = false;
    int in_use = 0;  // callbacks in progress without mu_ held
    std::vector<Entry*> upstream_entries;  // registered upstreams
    bool upstream_foreground = false;      // foreground is an (effective) upstream
    bool saw_busy_upstreams = false;       // at its last evaluation (for WorkSource::UpstreamsIdle)
    int64_t upstreams_seen_micros = 0;     // when that was (registration before the first)
  };
  struct Pass {
    std::shared_ptr<Entry> entry;
    uint64_t budget_bytes;
  };

  // Called by each background thread as it starts: records its id and
  // applies work.nice.
  void ThreadStarted() EXCLUDES(mu_);
  void DispatcherLoop();
  // After a round: the deadline to wait for, with the write path asked to
  // wake a far or unbounded wait (see the header comment).
  std::optional<int64_t> ArmWaitLocked() REQUIRES(mu_);
  void WorkerLoop();
  // Evaluates due classes; runs passes inline (all with `run_inline`, else
  // the lone ones: see the header comment) or queues them for workers.
  void RoundLocked(bool run_inline) REQUIRES(mu_);
  void RunPassLocked(const std::shared_ptr<Entry>& entry, uint64_t budget_bytes) REQUIRES(mu_);
  std::optional<int64_t> NextDeadlineLocked() const REQUIRES(mu_);
  UpstreamView UpstreamsLocked(const Entry& entry, int64_t now) const REQUIRES(mu_);
  // When `entry` and every class above it (and the foreground, if
  // `with_foreground`) went (or go) quiet; > now: busy.
  int64_t QuietSinceLocked(const Entry& entry, int64_t now, bool with_foreground,
                           std::map<const Entry*, int64_t>* memo) const REQUIRES(mu_);
  int64_t ForegroundQuietSinceLocked() const REQUIRES(mu_);
  // Adds every class above `entry` (through any path) to `above`.
  void AboveLocked(const Entry& entry, std::set<const Entry*>* above) const REQUIRES(mu_);
  // Foreground bytes since the last round that should wake a long wait: 0
  // (the first write) if a class the foreground feeds with writes
  // (WorkSource::FedByWrites) has nothing armed, else a pass's worth.
  uint64_t ForegroundWakeThresholdLocked() const REQUIRES(mu_);
  // Rebuilds upstream links and the dependency order; InvalidArgument (and
  // no change) on a cycle.
  Status RebuildGraphLocked(std::map<std::string, std::shared_ptr<Entry>, std::less<>> classes) REQUIRES(mu_);
  void NotifyLocked() REQUIRES(mu_);

  // Constant after construction.
  Clock* const clock_;
  const int64_t created_micros_;

  // Written by the write path without mu_.
  std::atomic<int64_t> last_foreground_micros_{WorkClass::kNeverMicros};
  std::atomic<uint64_t> foreground_bytes_{0};
  // Set by the dispatcher before a long or unbounded wait; the first
  // NoteForegroundWork that finds it set, with at least wake_threshold_bytes_
  // written since wake_base_bytes_ (foreground_bytes_ at the round), clears
  // it and notifies. The two are written before the flag is set.
  std::atomic<bool> wake_on_foreground_{false};
  std::atomic<uint64_t> wake_base_bytes_{0};
  std::atomic<uint64_t> wake_threshold_bytes_{0};

  mutable Mutex mu_;
  CondVar dispatch_cv_{&mu_};  // the dispatcher waits here
  CondVar work_cv_{&mu_};      // workers wait here for passes
  CondVar change_cv_{&mu_};    // passes finished, callbacks returned, sleep state changed
  WorkSettings settings_ GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> classes_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Entry>> order_ GUARDED_BY(mu_);  // dependency order
  std::deque<Pass> queue_ GUARDED_BY(mu_);                     // at most one per class
  bool started_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool notified_ GUARDED_BY(mu_) = false;  // something changed since the dispatcher's round
  bool asleep_ GUARDED_BY(mu_) = false;    // dispatcher waits with no deadline, nothing running
  int running_passes_ GUARDED_BY(mu_) = 0;
  int threads_ GUARDED_BY(mu_) = 0;
  int64_t foreground_seen_micros_ GUARDED_BY(mu_) = WorkClass::kNeverMicros;  // as of the last round
  uint64_t foreground_seen_bytes_ GUARDED_BY(mu_) = 0;                         // as of the last round
  std::optional<int64_t> armed_deadline_micros_ GUARDED_BY(mu_);
  uint64_t wakeups_ GUARDED_BY(mu_) = 0;
  uint64_t deadline_wakeups_ GUARDED_BY(mu_) = 0;
  uint64_t dispatcher_passes_ GUARDED_BY(mu_) = 0;
  uint64_t foreground_notifications_ GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_list_ GUARDED_BY(mu_);
  std::vector<int> thread_ids_ GUARDED_BY(mu_);  // kernel ids of the started threads, for work.nice
};

}  // namespace ebb

#endif  // EBB_RUNTIME_BACKGROUND_SCHEDULER_H_
