// Settings of the background work runtime: section [work] (scheduler-wide)
// and sections [work.<class>] (one per work class: writeback, compaction,
// tiering, journal_reclaim). The engine supplies per-class defaults with
// Config::SetSectionDefault before reading them.
//
//   [work]
//   policy = "ebb"            # ebb | eager | threshold          (run time)
//   interval_ms = 100         # evaluation period of a busy class (run time)
//   idle_hysteresis_ms = 500  # quiet time before a class counts as idle (run time)
//   idle_horizon_ms = 5000    # idle time after which the idle budget is full (run time)
//   threads = 2               # worker threads                   (restart)
//   max_pause_ms = 200        # cap of the foreground throttle pause (run time)
//   stuck_backoff_max_ms = 60000  # cap of the retry backoff of a stuck class (run time)
//   max_pending_age_s = 30    # pending work older than this is done (run time)
//
//   [work.writeback]
//   band_low_bytes = "64MiB"  band_high_bytes = "256MiB"
//   max_rate_bytes_per_s = "64MiB"  min_rate_bytes_per_s = "1MiB"
//   p_term_inverse = 4.0  d_term = 4.0
//
// The policies are explained in work_class.h, the controller gains in
// work_controller.h.

#ifndef EBB_RUNTIME_WORK_SETTINGS_H_
#define EBB_RUNTIME_WORK_SETTINGS_H_

#include <cstdint>
#include <string_view>

#include "base/config.h"
#include "ebb/status.h"

namespace ebb {

// Smallest credit worth a pass (when more than this is pending): passes of
// a few bytes would cost more in overhead (wakeups, files, syncs) than they
// move.
inline constexpr double kMinPassBudgetBytes = 64 * 1024;

// How background work classes decide when to run (setting work.policy).
enum class WorkPolicy {
  kEbb,        // P/D control under load, rush to idle when upstreams go quiet
  kEager,      // work as soon as any exists, unlimited budget (baseline)
  kThreshold,  // start at band_high, run at max rate until below band_low (baseline)
};

// "ebb", "eager", "threshold".
std::string_view WorkPolicyName(WorkPolicy policy);
// Parses a policy name; InvalidArgument names the choices.
Result<WorkPolicy> ParseWorkPolicy(std::string_view name);

// Scheduler-wide settings, section [work].
struct WorkSettings {
  WorkPolicy policy = WorkPolicy::kEbb;
  int64_t interval_ms = 100;
  // The effective hysteresis is max(idle_hysteresis_ms, interval_ms): a
  // class is re-evaluated only every interval, so a shorter hysteresis
  // could not be observed.
  int64_t idle_hysteresis_ms = 500;
  int64_t idle_horizon_ms = 5000;
  int threads = 2;
  int64_t max_pause_ms = 200;
  int64_t stuck_backoff_max_ms = 60000;
  // Policy ebb: pending work older than this is done, even when it is below
  // its band or too small to be worth a pass (Linux's
  // dirty_expire_centisecs). Armed as one deadline per class.
  int64_t max_pending_age_s = 30;
  // Linux nice value of the background threads (dispatcher and workers):
  // their CPU weight when the machine is saturated. 0 is level with the
  // foreground; raising it lets reads and writes take the CPU first.
  int nice = 0;

  // Reads section [work]. Values were validated by the schema; this adds
  // nothing that can fail today but returns Result so a cross-setting check
  // has a place to report.
  static Result<WorkSettings> FromConfig(const Config& config);

  int64_t interval_micros() const { return interval_ms * 1000; }
  int64_t hysteresis_micros() const;
  int64_t horizon_micros() const { return idle_horizon_ms * 1000; }
  int64_t stuck_backoff_max_micros() const { return stuck_backoff_max_ms * 1000; }
  int64_t max_pending_age_micros() const { return max_pending_age_s * 1'000'000; }
};

// Per-class settings, section [work.<class>].
struct WorkClassSettings {
  uint64_t band_low_bytes = 64ull << 20;
  uint64_t band_high_bytes = 256ull << 20;
  double max_rate_bytes_per_s = 64.0 * (1 << 20);
  // Whether max_rate_bytes_per_s was set explicitly. When it was not, a
  // class works at full speed at the rate its own passes achieve (measured,
  // like Linux writeback's per-device write bandwidth), max_rate_bytes_per_s
  // serving only until the first measurement.
  bool max_rate_configured = false;
  double min_rate_bytes_per_s = 1.0 * (1 << 20);
  // Rate change per second = ((pending - target) + d_term * trend) / p_term_inverse,
  // bytes and seconds (see work_controller.h). Units: s^2 and s.
  double p_term_inverse = 4.0;
  double d_term = 4.0;

  // Reads section [work.<class_name>]; InvalidArgument when the values are
  // inconsistent (band_low_bytes >= band_high_bytes, min rate > max rate),
  // naming the section and what to change.
  static Result<WorkClassSettings> FromConfig(const Config& config, std::string_view class_name);
  Status Validate(std::string_view class_name) const;

  double target_bytes() const { return (static_cast<double>(band_low_bytes) + band_high_bytes) / 2; }
  // Pending work below this is too small to be worth a pass on its own
  // (policy ebb defers it; work_class.h): kMinPassBudgetBytes, or band_low
  // when that is lower.
  uint64_t small_pending_bytes() const;
};

// Registers [work] and [work.*] with their defaults (equal to the struct
// defaults above), units and descriptions.
void RegisterWorkSettings(ConfigSchema* schema);

}  // namespace ebb

#endif  // EBB_RUNTIME_WORK_SETTINGS_H_
