// The two estimators behind a work class's sustained-load rate: the P/D
// rate controller and the smoothed arrival rate of new pending work.
// Neither locks nor reads a clock: callers pass the time and synchronize.

#ifndef EBB_RUNTIME_WORK_CONTROLLER_H_
#define EBB_RUNTIME_WORK_CONTROLLER_H_

#include <cstdint>

#include "runtime/work_settings.h"

namespace ebb {

// Longest time step one controller update integrates. A class re-evaluated
// after a long gap (a slow pass, a paused process) must not jump its rate by
// the whole gap's worth of error.
inline constexpr int64_t kMaxControllerStepMicros = 1'000'000;

// Time constant of the arrival-rate average: long enough to smooth a
// bursty foreground and chunky passes, short enough to follow a real change
// of load within a few seconds.
inline constexpr int64_t kInflowTimeConstantMicros = 2'000'000;

// P/D rate controller: bcachefs's bch2_pd_controller_update in continuous
// time, with bytes and seconds as units.
//
//   error  = pending - target                  (bytes; target = mid-band)
//   trend  = inflow - rate                     (bytes/s)
//   change = (error + d_term * trend) * dt / p_term_inverse
//   if change > 0 and the worker is behind: change = 0     (backpressure)
//   rate   = clamp(rate + change, min_rate, max_rate)
//
// bcachefs differentiates the gauge itself; here the trend is what the
// gauge's slope would be if the worker did exactly `rate`, so a pass that
// removes a large unit at once (one memtable flush) does not read as a
// sudden drop of load. With pending' = inflow - rate the closed loop is
//   error'' + (d_term / p_term_inverse) error' + error / p_term_inverse = 0,
// independent of band size and rates: natural frequency
// 1/sqrt(p_term_inverse) rad/s, damping d_term / (2 sqrt(p_term_inverse)).
// Defaults p_term_inverse = 4 s^2, d_term = 4 s: critically damped with a
// 2 s time constant. (bcachefs's 6000/30 in the same units would be a
// ~8 minute, lightly damped oscillation.)
class WorkRateController {
 public:
  bool started() const { return started_; }
  double rate_bytes_per_s() const { return rate_; }

  // Starts at `rate` (clamped): callers pass the measured inflow, so the
  // rate on entering the band already matches the load (bumpless start).
  void Start(int64_t now_micros, double rate, const WorkClassSettings& settings);
  // Forgets the rate; the next Start begins afresh.
  void Reset() { started_ = false; }
  // Marks time as passed without integrating it (the class is outside the
  // band or idle-flushing, where the controller does not steer).
  void Hold(int64_t now_micros) { last_update_micros_ = now_micros; }
  // One update at `now_micros`; returns the new rate. `behind` is true when
  // the last pass did less than its budget with pending above target, or
  // overran its interval: the rate may then fall but not rise.
  double Update(int64_t now_micros, double pending_bytes, double inflow_bytes_per_s, bool behind,
                const WorkClassSettings& settings);
  // Re-clamps after a settings change.
  void Clamp(const WorkClassSettings& settings);

 private:
  bool started_ = false;
  double rate_ = 0;
  int64_t last_update_micros_ = 0;
};

// Smoothed arrival rate of pending work: (change of the gauge + work done)
// per second, averaged with an exponential time constant.
class InflowEstimator {
 public:
  // Records a gauge reading. Readings closer than `min_sample_micros` to the
  // previous sample are folded into the next one (a pass reads the gauge
  // twice within microseconds).
  void Observe(int64_t now_micros, uint64_t pending_bytes, int64_t min_sample_micros);
  // Work done since the last reading (it left the gauge; it had arrived).
  void AddDone(uint64_t bytes) { done_since_sample_ += static_cast<double>(bytes); }
  // Never negative (a gauge may shrink by itself, e.g. overwritten data).
  double bytes_per_s() const { return ewma_ > 0 ? ewma_ : 0; }

 private:
  bool have_reference_ = false;
  int64_t reference_micros_ = 0;
  double reference_pending_ = 0;
  double done_since_sample_ = 0;
  double ewma_ = 0;
};

}  // namespace ebb

#endif  // EBB_RUNTIME_WORK_CONTROLLER_H_
