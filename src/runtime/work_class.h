// WorkClass: one background work class (writeback, compaction, tiering,
// journal reclaim) — its state, its policy and its accounting. The
// BackgroundScheduler owns the classes, the graph between them and the
// threads; a WorkClass only decides, given the time, its pending gauge and
// what its upstreams are doing, whether to run a pass now and with what
// budget, and when it next needs to be looked at (docs/background.md);
// docs/ARCHITECTURE.md, "The background runtime", shows where the classes fit.
//
// Policy `ebb` (default), per evaluation:
//   pending == 0:                      asleep: no timer, whatever the upstreams
//                                      do (new work arrives with an event that
//                                      makes the scheduler look: a write, a
//                                      finished pass, a kick, a notification)
//   pending older than max_pending_age_s (or within its last eighth, when
//   the scheduler is awake anyway, so classes share wakeups), or pending
//   that came due by itself as a batch the source chose (active expiry):
//                                      one pass of all of it at max rate
//   pending < small_pending_bytes (64 KiB, or band_low if lower): not worth
//   a pass of its own:
//     deferred                         one deadline, at its age limit; it
//                                      does not count as busy for the
//                                      classes below (a trickle stays a
//                                      trickle), unless
//     the class itself or a class above did a pass of real work (at least
//     its small_pending_bytes) just before this pending work appeared: it
//     is the tail of a rush to idle, waiting while those classes are busy (one
//     deadline, when they go quiet; a foreground that merely trickles on
//     does not hold it, it is deferred then) and flushed as below once
//     every upstream is idle
//   some upstream busy (sustained), re-evaluated every interval:
//     pending <  band_low              waiting: nothing runs, work batches up
//     band_low <= pending < band_high  sustained at the P/D controller's rate
//                                      (work_controller.h), pending hovers mid-band
//     pending >= band_high             sustained at max rate
//   all upstreams idle for t (idle_flush), re-evaluated every interval:
//     rate = max(sustained rate as above, max_rate * min(1, t / idle_horizon))
//   so a short lull flushes little, a lull of idle_horizon flushes at full
//   speed; the work done after t of idle is max_rate * t^2 / (2 idle_horizon)
//   until t = idle_horizon, so pending P is gone within
//   idle_horizon / 2 + P / max_rate of idle (quicker when P is small).
// The age of pending work counts from the evaluation that first saw it (the
// scheduler looks at once when a write finds a class asleep), or, for work
// that appears just after a class above did work past its age limit, from
// when that work appeared (a flushed memtable's journal bytes are as old as
// its writes: reclaimed in the same round, not an age limit later). It
// restarts when a pass that did work leaves some: the class's own order of
// work is taken as oldest first.
// Policy `eager`: run whenever pending > 0 with an unlimited budget; with
// nothing pending, waiting (every interval) while an upstream is busy.
// Policy `threshold`: start when pending >= band_high, run at max rate until
// pending < band_low; nothing else (work below band_high stays pending at
// idle; no age limit). Both are baselines and keep polling under load.
//
// A rate becomes pass budgets through a token bucket: credit accrues at the
// rate (banked up to kMaxCreditIntervals between passes, without a cap while
// a pass runs); a pass runs when the credit covers min(kMinPassBudgetBytes,
// pending) and gets all of it as budget; work beyond the budget (a unit
// larger than the budget) is debt paid by later credit, so the average
// honours the rate.
//
// Full speed (max_rate above) is work.<class>.max_rate_bytes_per_s when
// set; otherwise the rate the class's own passes achieve, measured like
// Linux writeback measures a device's write bandwidth: each pass of at
// least kMinRateSampleBytes gives done / duration, smoothed over passes
// (kMeasuredRateWeight), never below min_rate_bytes_per_s. So on a fast
// disk an idle store flushes as fast as the disk allows and on a slow one
// a pass is not handed more than it can do in an interval.
//
// A pass that makes no progress while work is pending makes the class
// `stuck`: it is retried after interval * 2^(n-1), at most
// stuck_backoff_max_ms, until a pass makes progress or the class is kicked.
//
// "Busy" as seen from downstream (computed by the scheduler over the graph):
// a class is busy while a pass runs, within the idle hysteresis after a pass
// that did work or after it last held pending work it will still do (any
// state but asleep, deferred and stuck), and while any class above it is
// busy. So under load everything below the foreground is busy; journal
// reclaim idles only once compaction and tiering have drained (or are
// stuck) and writeback and the foreground are idle; a stuck class never
// blocks the classes below it once the load above it stops.
//
// When the class is looked at: a class on the interval cadence (sustained,
// idle_flush, waiting with work worth a pass, eager, threshold, stuck
// backoff) at its deadline; any other (asleep, deferred, waiting for a
// rush) at every round of the scheduler and at its one deadline.
//
// Thread safety: none; the scheduler calls it under its mutex.

#ifndef EBB_RUNTIME_WORK_CLASS_H_
#define EBB_RUNTIME_WORK_CLASS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebb/status.h"
#include "runtime/work_controller.h"
#include "runtime/work_settings.h"
#include "ebb/work_status.h"

namespace ebb {

// Pending work within the last 1/kAgeSlackDivisor of its age limit is done
// when the scheduler is awake anyway: classes whose limits fall close
// together (writeback's flush, then journal reclaim's rotation) share one
// wakeup instead of arming two.
inline constexpr int64_t kAgeSlackDivisor = 8;
// A pass gives a measurement of the class's speed when it did at least this
// much work: smaller ones are mostly fixed cost (creating and syncing files).
inline constexpr uint64_t kMinRateSampleBytes = 1 << 20;
// Weight of a new measurement in the smoothed speed.
inline constexpr double kMeasuredRateWeight = 0.25;
// Credit a class may bank, in intervals of its current rate: enough to
// catch up after a late evaluation, not enough for a burst after a lull.
inline constexpr double kMaxCreditIntervals = 2;
// Debt a class may owe, in seconds of its current rate: bounds how long one
// oversized unit can hold the class back.
inline constexpr double kMaxRateDebtSeconds = 30;
// Largest exponent of the stuck backoff (interval * 2^20 is far beyond any
// sensible stuck_backoff_max_ms; the bound keeps the shift defined).
inline constexpr int kMaxStuckShift = 20;

enum class WorkClassState {
  kAsleep,     // nothing to do: no timer
  kWaiting,    // upstream busy; pending below band_low (or threshold not reached)
  kSustained,  // upstream busy; working at the controller's rate (or max above band_high)
  kIdleFlush,  // upstreams idle; working at a budget growing with idle time
  kStuck,      // last pass made no progress with work pending; backing off
  kEager,      // policy eager, working
  kThreshold,  // policy threshold, working (latched between band_high and band_low)
  kDeferred,   // policy ebb: pending too small for a pass; one deadline at its age limit
};

// JSON-friendly state names: asleep, waiting, sustained, idle_flush, stuck,
// eager, threshold, deferred.
std::string_view WorkClassStateName(WorkClassState state);

// What a class's upstreams are doing at evaluation time.
struct UpstreamView {
  bool busy = true;
  // When the last of them went quiet; while busy, when they will if nothing
  // new happens (a running pass: just after now).
  int64_t quiet_since_micros = 0;
  // The same for the classes above only, without the foreground: whether
  // any of them works (or did within the hysteresis), and when they go quiet.
  bool classes_busy = false;
  int64_t classes_quiet_since_micros = 0;
  // End of the last pass of any class above (not the foreground) that did
  // at least its small_pending_bytes of work; INT64_MIN / 4 if none.
  int64_t real_work_micros = INT64_MIN / 4;
  // A class above just (within the hysteresis) did work that had reached
  // its age limit: since when that work was pending. Work it passed down is
  // as old; INT64_MAX / 4 if none.
  int64_t aged_work_since_micros = INT64_MAX / 4;
  // What a source that holds work waits for (WorkSource::
  // HoldsWorkForUpstreams, UpstreamsIdle): the classes above, or the
  // foreground for a class whose only upstream it is (active expiry).
  bool holders_busy = false;
  int64_t holders_quiet_since_micros = 0;
  // The source holds work until those are idle: while they are busy, look
  // at the class again when they go quiet.
  bool wake_when_quiet = false;
  // The pending work came due by itself and is already a batch
  // (WorkSource::PendingCameDue): done at once, like work past its age limit.
  bool pending_came_due = false;
};

class WorkClass {
 public:
  // No deadline: the class is asleep.
  static constexpr int64_t kNoDeadline = INT64_MAX;
  // "Long before anything happened", far enough from INT64_MIN that adding a
  // hysteresis or subtracting a clock reading cannot overflow.
  static constexpr int64_t kNeverMicros = INT64_MIN / 4;
  // A deadline that has already passed (kicked, or reset by a policy change).
  static constexpr int64_t kDueNowMicros = kNeverMicros;

  // `settings` must be valid (WorkClassSettings::Validate).
  WorkClass(std::string name, std::vector<std::string> upstreams, const WorkClassSettings& settings,
            int64_t now_micros);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& upstreams() const { return upstreams_; }
  const WorkClassSettings& settings() const { return settings_; }
  WorkClassState state() const { return state_; }

  // `settings` must be valid.
  void SetSettings(const WorkClassSettings& settings);
  // Drops policy-specific state (threshold latch, credit, controller) so the
  // new policy starts clean; the class is due at once.
  void ResetForPolicyChange();

  // Urgent work (e.g. memtable full): the next evaluation runs a pass at once
  // with at least one interval of max rate as budget, ignoring band, debt and
  // stuck backoff.
  void Kick() { kicked_ = true; }
  // Consumes a pending kick. Callers take it *before* reading the gauge, so
  // a kick that arrives during the read (new work) is left for the next
  // evaluation instead of being answered with the stale reading.
  bool TakeKick() { return std::exchange(kicked_, false); }

  // Whether the class should be evaluated at `now_micros`: kicked, off the
  // interval cadence (asleep, deferred, waiting for a rush: cheap, and what
  // woke the scheduler may concern it) or its deadline has come.
  bool DueAt(int64_t now_micros) const;
  // When the class next needs evaluating; kNoDeadline when nothing is armed.
  int64_t next_eval_micros() const { return kicked_ ? kDueNowMicros : next_eval_micros_; }
  // Work the source does not count yet becomes due at `micros`
  // (WorkSource::NextWorkMicros): evaluate the class then at the latest.
  void EvaluateNoLaterThan(int64_t micros) {
    if (next_eval_micros_ == kNoDeadline || micros < next_eval_micros_) next_eval_micros_ = micros;
  }
  // End of the last pass that did at least small_pending_bytes of work.
  int64_t last_real_work_micros() const { return last_real_work_micros_; }
  // The last pass of work past its age limit: when it ended, and since when
  // that work had been pending.
  int64_t last_age_pass_end_micros() const { return last_age_pass_end_micros_; }
  int64_t last_age_pass_since_micros() const { return last_age_pass_since_micros_; }

  // When this class last counted as busy for the classes below it; they see
  // it as busy until this + hysteresis. (A running pass counts as busy too;
  // the scheduler knows about running passes, this class does not.)
  int64_t last_busy_micros() const;

  // Evaluates the class at `now_micros` with a fresh gauge reading;
  // `kicked` is TakeKick() from before the reading. Returns the budget of a
  // pass to run now, or nullopt. Updates state, counters and the next
  // deadline. The caller runs the pass and reports PassDone.
  std::optional<uint64_t> Evaluate(int64_t now_micros, uint64_t pending_bytes, const UpstreamView& upstreams,
                                   const WorkSettings& settings, bool kicked = false);

  // Accounts a pass that ran from `start_micros` to `end_micros` with
  // `budget_bytes` and returned `done`; `pending_after` is the gauge read
  // after it.
  void PassDone(int64_t start_micros, int64_t end_micros, uint64_t budget_bytes, const Result<uint64_t>& done,
                uint64_t pending_after, const WorkSettings& settings);

  // Everything but `upstreams_idle_ms`'s reference time is from the last
  // evaluation.
  WorkClassStatus GetStatus() const;

  // The rate the class works at when at full speed (see above).
  double max_rate_bytes_per_s() const;

 private:
  enum class Regime { kNone, kSustained, kIdle };
  // Decision::deadline_micros when the class follows the interval cadence.
  static constexpr int64_t kOnCadence = INT64_MIN;
  struct Decision {
    WorkClassState state = WorkClassState::kAsleep;
    double rate_bytes_per_s = 0;  // 0: do not run now
    bool unlimited = false;       // eager: one pass with kUnlimitedWorkBudgetBytes
    bool forgive_debt = false;    // start from at least one interval of credit
    bool all_pending = false;     // the budget covers all pending work (its age limit passed)
    // Off the cadence: the one deadline to arm (kNoDeadline: none).
    int64_t deadline_micros = kOnCadence;
  };

  Decision DecideEbb(int64_t now, uint64_t pending, const UpstreamView& up, const WorkSettings& settings,
                     bool kicked);
  // settings_ with max_rate_bytes_per_s at the full speed in force.
  WorkClassSettings EffectiveSettings() const;
  Decision DecideThreshold(uint64_t pending, const UpstreamView& up, bool kicked);
  void SetState(WorkClassState state, int64_t now);
  void Refill(int64_t now, double rate, int64_t interval_micros, bool forgive_debt);
  void ResetBucket();

  // Constant after construction.
  const std::string name_;
  const std::vector<std::string> upstreams_;

  WorkClassSettings settings_;

  // Decision state.
  WorkClassState state_ = WorkClassState::kAsleep;
  Regime regime_ = Regime::kNone;
  bool kicked_ = false;
  bool threshold_latched_ = false;
  bool holding_ = false;  // pending work it will still do (busy for downstream)
  bool behind_ = false;   // last pass could not keep up (controller backpressure)
  int64_t next_eval_micros_ = kNoDeadline;
  bool on_cadence_ = false;  // next_eval_micros_ is an interval (or stuck backoff) away
  int64_t last_eval_micros_ = kNeverMicros;
  int64_t last_work_micros_ = kNeverMicros;       // end of the last pass that did work
  int64_t last_real_work_micros_ = kNeverMicros;  // ... at least small_pending_bytes of it
  // Since when the pending work (as the class sees it) is waiting.
  int64_t pending_since_micros_ = kNeverMicros;
  // The pass being run is of work past its age limit (set by Evaluate,
  // consumed by PassDone), and the last such pass.
  bool running_age_pass_ = false;
  int64_t last_age_pass_end_micros_ = kNeverMicros;
  int64_t last_age_pass_since_micros_ = kNeverMicros;
  uint64_t pending_bytes_ = 0;
  int64_t upstreams_idle_micros_ = -1;
  double effective_rate_ = 0;
  double measured_rate_ = 0;  // smoothed speed of the passes (0: none yet)
  WorkRateController controller_;
  InflowEstimator inflow_;

  // Token bucket: credit in bytes (negative: debt); bucket_micros_ < 0 when
  // not accruing since the class last stopped (next start gets one interval).
  double tokens_bytes_ = 0;
  int64_t bucket_micros_ = -1;

  // Stuck detection.
  int stuck_count_ = 0;  // consecutive passes without progress
  int64_t stuck_until_micros_ = 0;

  // Status.
  int64_t last_transition_micros_ = 0;
  uint64_t last_budget_bytes_ = 0;
  uint64_t passes_ = 0;
  uint64_t bytes_done_ = 0;
  uint64_t wakeups_ = 0;
  uint64_t stuck_passes_ = 0;
  uint64_t transitions_ = 0;
  std::string last_error_;
};

}  // namespace ebb

#endif  // EBB_RUNTIME_WORK_CLASS_H_
