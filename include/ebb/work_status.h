// Copyright Ebb authors. Public API.
//
// Status of the background work runtime: plain structs whose member names
// are the JSON names used by the admin `/status` endpoint and `ebb status`.

#ifndef EBB_WORK_STATUS_H_
#define EBB_WORK_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ebb {

struct WorkClassStatus {
  std::string name;
  // asleep | waiting | deferred | sustained | idle_flush | stuck | eager |
  // threshold for work classes; active | asleep for the "foreground" pseudo-class. See
  // WorkClassStateName in work_class.h.
  std::string state;
  uint64_t pending_bytes = 0;  // gauge at the last evaluation
  uint64_t band_low_bytes = 0;
  uint64_t band_high_bytes = 0;
  // The rate the class is allowed to work at now (controller rate in band,
  // max above band_high, idle rate when idle-flushing; 0 when not running).
  double rate_bytes_per_s = 0;
  // The P/D controller's own output (kept while the class leaves the band).
  double controller_rate_bytes_per_s = 0;
  // Full speed: work.<class>.max_rate_bytes_per_s if set, else what the
  // class's passes achieve (measured_rate_bytes_per_s; 0 before any pass of
  // at least 1 MiB).
  double max_rate_bytes_per_s = 0;
  double measured_rate_bytes_per_s = 0;
  // Smoothed arrival rate of new pending work.
  double inflow_bytes_per_s = 0;
  uint64_t budget_bytes = 0;  // budget of the last pass
  // Clock::NowMicros of the last state change (foreground while active: its
  // last reported write).
  int64_t last_transition_micros = 0;
  // How long all upstreams have been idle; -1 while any is busy.
  int64_t upstreams_idle_ms = -1;
  // How long the pending work has waited (work.max_pending_age_s bounds
  // it under policy ebb); -1 when nothing is pending.
  int64_t pending_age_ms = -1;
  // Counters since registration.
  uint64_t passes = 0;        // DoWork calls
  uint64_t bytes_done = 0;    // sum of DoWork results (foreground: bytes noted)
  uint64_t wakeups = 0;       // times the class left `asleep`
  uint64_t stuck_passes = 0;  // passes that made no progress with work pending
  uint64_t transitions = 0;   // state changes
  std::vector<std::string> upstreams;  // as declared (registered or not)
  std::string last_error;              // last DoWork error, "" if none since progress
};

struct BackgroundSchedulerStatus {
  std::string policy;       // ebb | eager | threshold
  int threads = 0;          // worker threads (0 in step mode: not started)
  uint64_t wakeups = 0;     // times the dispatcher resumed from a wait (deadline or notification)
  uint64_t deadline_wakeups = 0;  // of those, by a deadline it had armed (timers, not events)
  // Passes the dispatcher ran itself: the only work at the time, small or a
  // batch that came due while the store was idle (no worker woken for them).
  uint64_t dispatcher_passes = 0;
  uint64_t foreground_notifications = 0;  // NoteForegroundWork calls that woke a sleeping scheduler
  // Foreground backpressure (work.max_pause_ms): writes that paused because
  // background work fell behind, and the time they paused in all.
  uint64_t throttled_writes = 0;
  uint64_t throttle_pause_us = 0;
  // Times a writer found its database at store.max_immutable_memtables and
  // waited for a flush to free one (no time limit; see docs/background.md).
  uint64_t memory_bound_waits = 0;
  // Deadline (Clock::NowMicros) the scheduler is waiting for; none when it
  // waits without a timer (every class asleep) or is not waiting.
  std::optional<int64_t> armed_deadline_micros;
  // Foreground first, then work classes in dependency order.
  std::vector<WorkClassStatus> classes;
};

}  // namespace ebb

#endif  // EBB_WORK_STATUS_H_
