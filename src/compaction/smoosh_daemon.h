// SmooshDaemon: Ebb's auto-compaction daemon, CouchDB's smoosh
// with the fixes its users asked for. See docs/smoosh.md.
//
// The daemon decides *what* to compact; the compaction work class decides
// *when and how fast*. Storage tells the daemon that a database changed; the
// daemon offers the database to its channels in configured order and queues
// it in the first that accepts it. The work class pulls jobs with
// TakeNextJob, runs them, and reports them with JobFinished.
//
// The daemon owns no thread and arms no timer. NextDeadline() says when it
// next needs time (nothing when idle); the engine's scheduler then calls
// Tick(now). Everything time-based takes `now` (Clock::NowMicros) or reads
// the Clock given at Open, so tests drive it with a ManualClock. Time-of-day
// windows use the clock's wall time (UTC).
//
// Lifecycle: Open (loads persisted queues) -> ... -> Stop (saves them) ->
// destroy. Storage must not call OnDatabaseChanged after destruction.
//
// Thread safety: every method is thread-safe. The daemon calls the
// CompactionTarget only without its lock held, and never from
// OnDatabaseChanged, OnDatabaseDropped, JobFinished, NextDeadline,
// ReclaimableBytes, Suspend/Resume or GetStatus — so storage may call those
// while holding its own locks.

#ifndef EBB_COMPACTION_SMOOSH_DAEMON_H_
#define EBB_COMPACTION_SMOOSH_DAEMON_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/config.h"
#include "base/mutex.h"
#include "compaction/compaction_settings.h"
#include "compaction/compaction_target.h"
#include "compaction/queue_file.h"
#include "compaction/staleness_cache.h"
#include "ebb/smoosh_status.h"
#include "ebb/status.h"
#include "env/clock.h"
#include "env/file_system.h"

namespace ebb {

// Bounds (TIGER_STYLE: a limit on everything).
// Databases awaiting evaluation; notifications beyond it are dropped (and
// counted) — the next change of the database notifies again.
inline constexpr size_t kMaxPendingEvaluations = 100'000;
// Evaluations done by one Tick; the rest stay pending (NextDeadline says "now").
inline constexpr size_t kMaxEvaluationsPerTick = 1024;
// Queue items TakeNextJob may examine (and drop or put back) in one call.
inline constexpr int kMaxTakeAttempts = 64;
// Failed compactions waiting for their retry.
inline constexpr size_t kMaxPendingRetries = 65'536;

// One compaction the engine runs. Shared between the daemon (which flips the
// suspended flag) and the engine (which runs it); the engine hands it back
// with JobFinished.
class CompactionJob {
 public:
  CompactionJob(uint64_t id, std::string database, std::string channel, double priority, CompactionInfo info,
                int attempt, int64_t started_micros)
      : id_(id),
        database_(std::move(database)),
        channel_(std::move(channel)),
        priority_(priority),
        info_(info),
        attempt_(attempt),
        started_micros_(started_micros) {}

  uint64_t id() const { return id_; }
  const std::string& database() const { return database_; }
  const std::string& channel() const { return channel_; }
  // Quantised priority recomputed just before the job was handed out.
  double priority() const { return priority_; }
  // Sizes when the job was handed out: live_bytes is what it will write.
  const CompactionInfo& info() const { return info_; }
  // 1 for a first try, 2 for the first retry after a failure, ...
  int attempt() const { return attempt_; }
  int64_t started_micros() const { return started_micros_; }

  // Set while the job must make no progress: its channel was suspended by
  // hand or a strict window closed. The engine checks it between compaction
  // steps; once set, it stops, deletes its partial output and reports the
  // job Aborted (back in its queue; it starts afresh when the channel may
  // run again). Thread-safe.
  bool suspended() const { return suspended_.load(std::memory_order_acquire); }

  // The engine reports bytes written so far. The first report moves the job
  // from "starting" to "active" in status. Thread-safe.
  void ReportProgress(uint64_t bytes_written) {
    progress_bytes_.store(bytes_written, std::memory_order_relaxed);
    running_.store(true, std::memory_order_release);
  }
  bool running() const { return running_.load(std::memory_order_acquire); }
  uint64_t progress_bytes() const { return progress_bytes_.load(std::memory_order_relaxed); }

 private:
  friend class SmooshDaemon;

  // Constant after construction.
  const uint64_t id_;
  const std::string database_;
  const std::string channel_;
  const double priority_;
  const CompactionInfo info_;
  const int attempt_;
  const int64_t started_micros_;

  // Atomics: written by the daemon (suspended_, changed_since_start_) or the
  // engine (running_, progress_bytes_), read by both.
  std::atomic<bool> suspended_{false};
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> progress_bytes_{0};
  // A change notification arrived while the job ran: re-evaluate at the end.
  std::atomic<bool> changed_since_start_{false};
};

// Result of offering one database to the channels.
struct EnqueueResult {
  // The channel that accepted the database; empty when none did.
  std::string channel;
  // Its quantised priority in that channel (0 when none accepted).
  double priority = 0;
  // False if the channel accepted it but the queue was full of higher
  // priorities (capacity), so it was not kept.
  bool queued = false;
  // The database is being compacted right now; it was not queued again.
  bool already_running = false;
};

struct EnqueueAllResult {
  uint64_t databases = 0;  // databases listed by the target
  uint64_t queued = 0;     // of those, now waiting in a channel
};

struct TickResult {
  uint64_t evaluated = 0;       // databases evaluated
  uint64_t retried = 0;         // failed jobs offered to the channels again
  uint64_t jobs_suspended = 0;  // jobs whose suspended flag was set (strict window closed)
  uint64_t jobs_resumed = 0;    // jobs whose suspended flag was cleared (window opened) before they stopped
  bool checkpointed = false;    // queues were saved
  // TakeNextJob may return a job now (a channel is open with work waiting
  // and a free slot; free disk is checked only by TakeNextJob).
  bool runnable = false;
};

struct SmooshDaemonOptions {
  CompactionTarget* target = nullptr;  // required; must outlive the daemon
  FileSystem* fs = nullptr;            // required; must outlive the daemon
  Clock* clock = nullptr;              // required; must outlive the daemon
  // Absolute directory of <channel>.smooshq (ResolveSmooshStateDir); created
  // at the first save.
  std::string state_dir;
};

class SmooshDaemon {
 public:
  // Creates the configured channels and, with smoosh.persist, loads their
  // persisted queues (a corrupt or unreadable file is ignored with a warning
  // naming it). Fails only on missing options (InvalidArgument).
  static Result<std::unique_ptr<SmooshDaemon>> Open(const SmooshDaemonOptions& options, const Config& config);

  // Calls Stop() if it was not called (logging a failure to save).
  ~SmooshDaemon();
  SmooshDaemon(const SmooshDaemon&) = delete;
  SmooshDaemon& operator=(const SmooshDaemon&) = delete;

  // --- Notifications from storage (cheap: no I/O, no calls into the target).

  // A write batch or flush of `database` completed. Unless the database was
  // evaluated within smoosh.staleness (accepted or rejected) or is being
  // compacted, it is marked for evaluation by the next Tick. Returns true
  // when it was so marked: NextDeadline() is then "now" and the caller should
  // make sure Tick runs soon.
  //
  // `fresh_memo`, if given, is the caller's per-database memo (one per
  // database, starting at 0): a notification while the memo says the
  // database is fresh costs a clock read and two atomic loads instead of
  // the daemon's lock and hash lookups. The memo turns stale when the
  // staleness cache drops a record early, a compaction job starts, or the
  // settings change.
  bool OnDatabaseChanged(std::string_view database, std::atomic<uint64_t>* fresh_memo = nullptr);

  // The database's sizes changed (a flush added a segment, a compaction
  // replaced some). Unlike CouchDB's append-only files, an LSM database's
  // disk and live sizes change only then, so this bypasses the staleness
  // cache: the database is evaluated at the next Tick even if it was
  // evaluated (and rejected) a moment ago. Same return value as
  // OnDatabaseChanged.
  bool OnDatabaseResized(std::string_view database);
  // `database` was dropped: forget it everywhere (queues, retries, cache).
  void OnDatabaseDropped(std::string_view database);

  // --- Manual requests (may call the target; do not hold storage locks).

  // Evaluates `database` now, bypassing the staleness cache and resetting its
  // failure count. InvalidArgument for an empty, over-long or control-char
  // name; NotFound if it does not exist; Aborted after Stop.
  Result<EnqueueResult> Enqueue(std::string_view database);
  // Enqueue for every database the target lists (invalid names skipped).
  EnqueueAllResult EnqueueAll();

  // --- Jobs (pull model).

  // The best job that may start now, or nullptr. Candidates are the top items
  // of channels that are open (not removed, disabled, suspended, waiting out
  // wait_secs, outside their window, at their concurrency, or waiting for
  // free disk); among them, a job interrupted by the last shutdown first,
  // then the most reclaimable bytes, then configured order. Before handing a
  // job out, its priority is recomputed from fresh sizes: 0 drops it (already
  // compacted or dropped); a projected output (live bytes +
  // smoosh.free_disk_margin) that does not fit free disk puts it back and
  // blocks its channel until a job finishes or free_disk_recheck_secs pass.
  // The job counts against its channel's concurrency until JobFinished.
  std::shared_ptr<CompactionJob> TakeNextJob(int64_t now_micros);

  // The engine finished `job`: OK (done), Aborted (cancelled, e.g. on close:
  // the database goes back to its queue, no failure counted) or any other
  // error (failed: offered to the channels again after smoosh.retry_backoff_ms,
  // at most smoosh.retry_limit times in a row). Returns false, and changes
  // nothing, for a job that is not active (already finished: a second report
  // cannot free a second slot).
  bool JobFinished(const std::shared_ptr<CompactionJob>& job, const Status& status);

  // --- Control. Idempotent and sticky: only Resume undoes Suspend (a window
  // opening does not).

  // Suspends every channel, and channels created later: nothing starts and
  // running jobs are flagged suspended.
  void Suspend();
  // Resumes every channel (a closed strict window still holds its jobs).
  void Resume();
  // One channel; NotFound naming the existing channels if unknown.
  Status Suspend(std::string_view channel);
  Status Resume(std::string_view channel);

  // Applies smoosh.* settings at run time: new channels are created (and load
  // their persisted queue), removed channels stop accepting and starting and
  // their waiting databases are offered to the remaining channels, their
  // running jobs finish and stay in status. Channel order follows
  // smoosh.db_channels. Returns InvalidArgument (after applying the rest) if
  // db_channels lists more than kMaxSmooshChannels channels.
  Status ApplyConfig(const Config& config);

  // --- Time.

  // When the daemon next needs Tick: "now" if evaluations are pending; a
  // failed job's retry; the end of a channel's wait_secs or its window's next
  // boundary (only while it has waiting work or, for strict windows, running
  // jobs); a free-disk recheck; a checkpoint (only while queues changed and
  // smoosh.persist). nullopt when idle: then no wakeup is needed at all.
  std::optional<int64_t> NextDeadline() const;
  // Does what is due at `now` (Clock::NowMicros): retries, window changes
  // (suspending or resuming jobs of strict windows), pending evaluations (up
  // to kMaxEvaluationsPerTick; may call the target), checkpoint.
  TickResult Tick(int64_t now_micros);

  // The compaction work class's pending-work gauge: estimated reclaimable
  // bytes of waiting items in channels that could start them now, plus those
  // of running (not suspended) jobs. Each item counts at least 1 byte so the
  // gauge is non-zero whenever work exists (segments_dbs items reclaim
  // almost nothing; they cut read amplification).
  uint64_t ReclaimableBytes() const;

  // Whether some channel has queued work it cannot start only because it is
  // still in its smoosh.wait_secs (work ReclaimableBytes does not count).
  bool HoldsWorkInWait() const;
  // What that work would add to ReclaimableBytes once the wait ends (unless
  // something else, such as free disk, then blocks it).
  uint64_t HeldInWaitBytes() const;
  // Ends the wait_secs of every channel now: the caller knows no more
  // candidates are coming for now (the work classes that produce them went
  // idle), so waiting longer would only arm a timer to make the same
  // choice later; or the work held has grown too large to hold (`why`, for
  // the log). Channels created afterwards wait as usual.
  void EndWait(std::string_view why = "nothing more is coming to choose from");

  SmooshStatus GetStatus() const;

  // Saves every queue now, with running jobs first at +infinity (when
  // smoosh.persist). Does not stop anything.
  Status Checkpoint();
  // Stops handing out jobs and accepting notifications, then saves queues as
  // Checkpoint does. Idempotent; running jobs may still be reported.
  Status Stop();

 private:
  struct Channel;

  SmooshDaemon(const SmooshDaemonOptions& options, const SmooshSettings& settings);

  // Evaluates `database` with fresh `info` against the channels.
  EnqueueResult EvaluateLocked(const std::string& database, const std::optional<CompactionInfo>& info,
                               int64_t now_micros) REQUIRES(mu_);
  Channel* FindChannelLocked(std::string_view name) const REQUIRES(mu_);
  // Why `channel` cannot start a job now: "" if it can, else a status code
  // (SmooshChannelStatus::blocked) with a sentence in *reason when non-null.
  std::string_view BlockedLocked(const Channel& channel, int64_t now_micros, std::string* reason) const
      REQUIRES(mu_);
  // Recomputes strict-window suspension; returns (suspended, resumed) job counts.
  std::pair<int, int> UpdateWindowLocked(Channel* channel, int64_t now_micros) REQUIRES(mu_);
  // Sets every job's suspended flag from the channel's state; returns
  // (suspended, resumed) counts.
  std::pair<int, int> RefreshJobFlagsLocked(Channel* channel) REQUIRES(mu_);
  // Suspend/Resume: the manual (sticky) suspension of every channel, or of one.
  void SetAllSuspended(bool suspended) EXCLUDES(mu_);
  Status SetChannelSuspended(std::string_view channel, bool suspended) EXCLUDES(mu_);
  void MarkDirtyLocked(Channel* channel, int64_t now_micros) REQUIRES(mu_);
  void AddPendingLocked(const std::string& database) REQUIRES(mu_);
  void RemoveFromQueuesLocked(std::string_view database, const Channel* except, int64_t now_micros) REQUIRES(mu_);
  void EraseDrainedChannelsLocked() REQUIRES(mu_);
  bool AnyRunnableLocked(int64_t now_micros) const REQUIRES(mu_);
  uint64_t ReclaimableLocked(int64_t now_micros) const REQUIRES(mu_);
  int64_t WallAt(int64_t now_micros) const;
  int64_t MonoAtWall(int64_t wall_micros) const;
  std::vector<std::string> ChannelNamesLocked() const REQUIRES(mu_);
  void ApplySettingsLocked(const SmooshSettings& settings,
                           std::map<std::string, std::optional<std::vector<PersistedItem>>>* loaded,
                           int64_t now_micros) REQUIRES(mu_);
  // Reads <state_dir>/<channel>.smooshq: its items, empty if there is none,
  // nullopt if it is corrupt or unreadable (logged with the file name).
  std::optional<std::vector<PersistedItem>> LoadQueueFile(const std::string& channel) const;
  Status SaveQueues(bool all);

  // The staleness cache's generation, which is atomic (readable without mu_).
  uint64_t FreshGeneration() const NO_THREAD_SAFETY_ANALYSIS { return staleness_.generation(); }

  // Lets OnDatabaseChanged look names up without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;
  using NameSet = std::unordered_set<std::string, NameHash, std::equal_to<>>;

  // Constant after construction.
  CompactionTarget* const target_;
  FileSystem* const fs_;
  Clock* const clock_;
  const std::string state_dir_;

  // Serialises queue-file writers (Tick, Checkpoint, Stop). Taken before mu_.
  Mutex save_mu_ ACQUIRED_BEFORE(mu_);

  mutable Mutex mu_;
  SmooshSettings settings_ GUARDED_BY(mu_);
  // Configured order, then removed channels that still have running jobs.
  std::vector<std::unique_ptr<Channel>> channels_ GUARDED_BY(mu_);
  // Running jobs by database (each database runs at most once).
  NameMap<std::shared_ptr<CompactionJob>> active_by_db_ GUARDED_BY(mu_);
  StalenessCache staleness_ GUARDED_BY(mu_);
  // Databases to evaluate at the next Tick (FIFO), and the set of those not
  // yet evaluated (for de-duplication).
  std::deque<std::string> pending_ GUARDED_BY(mu_);
  NameSet pending_set_ GUARDED_BY(mu_);
  // Failed databases waiting for their retry: database -> due time.
  std::map<std::string, int64_t> retries_ GUARDED_BY(mu_);
  // Consecutive failures per database (erased on success, give-up, drop).
  NameMap<int> failures_ GUARDED_BY(mu_);
  // Channels removed while persisting: their queue files go at the next save.
  std::set<std::string> files_to_delete_ GUARDED_BY(mu_);
  // Earliest unsaved change (for the checkpoint deadline).
  std::optional<int64_t> dirty_since_micros_ GUARDED_BY(mu_);
  bool all_suspended_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
  uint64_t next_job_id_ GUARDED_BY(mu_) = 1;
  uint64_t events_dropped_ GUARDED_BY(mu_) = 0;
  std::string last_checkpoint_error_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_COMPACTION_SMOOSH_DAEMON_H_
