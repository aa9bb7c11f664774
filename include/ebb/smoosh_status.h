// Copyright Ebb authors. Public API.
//
// Status of the compaction daemon (smoosh), as smoosh:status() gives it:
// per channel active, starting and waiting jobs and why the top item is not
// running. Plain structs; member names are the JSON names of /status.

#ifndef EBB_SMOOSH_STATUS_H_
#define EBB_SMOOSH_STATUS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ebb {

// smoosh:status(), per channel. Field names are the JSON names.
struct SmooshWaitingStatus {
  uint64_t size = 0;
  // Lowest and highest waiting priority; 0 when empty. A job that was running
  // at the last shutdown waits at +infinity (JSON: null) until it restarts.
  double min = 0;
  double max = 0;
};

struct SmooshJobStatus {
  uint64_t id = 0;
  std::string database;
  double priority = 0;
  bool running = false;  // reported progress ("active"), else "starting"
  bool suspended = false;
  uint64_t progress_bytes = 0;
  uint64_t live_bytes = 0;  // what the job will write
  int attempt = 1;
  int64_t age_ms = 0;
};

struct SmooshChannelStatus {
  std::string name;
  std::string priority;    // ratio | slack | segments
  uint64_t active = 0;     // jobs that reported progress
  uint64_t starting = 0;   // jobs handed out, no progress reported yet
  SmooshWaitingStatus waiting;
  bool paused = false;     // not starting new jobs now, for any reason below
  bool suspended = false;  // suspended by hand (Suspend); sticky across windows
  bool window_suspended = false;  // running jobs suspended by a closed strict window
  std::string window;      // "HH:MM-HH:MM" UTC
  bool in_window = true;
  bool strict_window = false;
  int64_t concurrency = 0;
  uint64_t capacity = 0;
  // No longer in smoosh.db_channels: accepts and starts nothing; listed until
  // its running jobs end.
  bool removed = false;
  // Why the top waiting item is not running: "" (nothing waits, or it can
  // start now), "removed", "disabled", "suspended", "window_closed",
  // "wait_secs", "concurrency_full", "free_disk", "stopped".
  std::string blocked;
  std::string blocked_reason;  // the same, as a sentence with the numbers
  std::vector<SmooshJobStatus> jobs;
  uint64_t jobs_started = 0;
  uint64_t jobs_succeeded = 0;
  uint64_t jobs_failed = 0;
  uint64_t jobs_dropped = 0;  // priority was 0 when about to start (already compacted, dropped)
  uint64_t evicted = 0;       // dropped by capacity
  std::string last_error;     // of the last failed job
};

struct SmooshStatus {
  // Configured order; removed channels with running jobs last.
  std::vector<SmooshChannelStatus> channels;
  bool suspended = false;  // Suspend() for all channels is in force
  bool stopped = false;
  bool persist = false;
  std::string state_dir;
  uint64_t pending_evaluations = 0;
  uint64_t pending_retries = 0;
  uint64_t staleness_cache_entries = 0;
  uint64_t events_dropped = 0;  // notifications dropped at kMaxPendingEvaluations
  uint64_t reclaimable_bytes = 0;
  std::string last_checkpoint_error;  // empty when the last save worked
};

}  // namespace ebb

#endif  // EBB_SMOOSH_STATUS_H_
