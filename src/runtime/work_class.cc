#include "runtime/work_class.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/logging.h"
#include "runtime/work_source.h"

namespace ebb {

std::string_view WorkClassStateName(WorkClassState state) {
  switch (state) {
    case WorkClassState::kAsleep:
      return "asleep";
    case WorkClassState::kWaiting:
      return "waiting";
    case WorkClassState::kSustained:
      return "sustained";
    case WorkClassState::kIdleFlush:
      return "idle_flush";
    case WorkClassState::kStuck:
      return "stuck";
    case WorkClassState::kEager:
      return "eager";
    case WorkClassState::kThreshold:
      return "threshold";
    case WorkClassState::kDeferred:
      return "deferred";
  }
  return "unknown";
}

WorkClass::WorkClass(std::string name, std::vector<std::string> upstreams, const WorkClassSettings& settings,
                     int64_t now_micros)
    : name_(std::move(name)),
      upstreams_(std::move(upstreams)),
      settings_(settings),
      last_transition_micros_(now_micros) {}

void WorkClass::SetSettings(const WorkClassSettings& settings) {
  settings_ = settings;
  if (controller_.started()) controller_.Clamp(EffectiveSettings());
}

double WorkClass::max_rate_bytes_per_s() const {
  if (settings_.max_rate_configured || measured_rate_ <= 0) return settings_.max_rate_bytes_per_s;
  return std::max(measured_rate_, settings_.min_rate_bytes_per_s);
}

WorkClassSettings WorkClass::EffectiveSettings() const {
  WorkClassSettings s = settings_;
  s.max_rate_bytes_per_s = max_rate_bytes_per_s();
  return s;
}

void WorkClass::ResetForPolicyChange() {
  threshold_latched_ = false;
  regime_ = Regime::kNone;
  controller_.Reset();
  ResetBucket();
  if (state_ != WorkClassState::kStuck) next_eval_micros_ = kDueNowMicros;
}

bool WorkClass::DueAt(int64_t now_micros) const {
  return kicked_ || !on_cadence_ || now_micros >= next_eval_micros_;
}

int64_t WorkClass::last_busy_micros() const {
  return holding_ ? std::max(last_work_micros_, last_eval_micros_) : last_work_micros_;
}

void WorkClass::SetState(WorkClassState state, int64_t now) {
  if (state == state_) return;
  if (state_ == WorkClassState::kAsleep) wakeups_++;
  state_ = state;
  transitions_++;
  last_transition_micros_ = now;
}

void WorkClass::ResetBucket() {
  tokens_bytes_ = 0;
  bucket_micros_ = -1;
}

void WorkClass::Refill(int64_t now, double rate, int64_t interval_micros, bool forgive_debt) {
  const double interval_s = static_cast<double>(interval_micros) / 1e6;
  if (bucket_micros_ < 0) {
    // Starting (again): one interval of credit so the class can act at once.
    tokens_bytes_ = std::max(tokens_bytes_, 0.0) + rate * interval_s;
  } else {
    const double elapsed_s = static_cast<double>(now - bucket_micros_) / 1e6;
    tokens_bytes_ = std::min(tokens_bytes_ + rate * elapsed_s, rate * interval_s * kMaxCreditIntervals);
  }
  if (forgive_debt) tokens_bytes_ = std::max(tokens_bytes_, rate * interval_s);
  bucket_micros_ = now;
}

WorkClass::Decision WorkClass::DecideEbb(int64_t now, uint64_t pending, const UpstreamView& up,
                                         const WorkSettings& settings, bool kicked) {
  const WorkClassSettings s = EffectiveSettings();
  if (pending == 0) {
    if (!up.busy) {
      // The next episode of load starts the controller afresh.
      controller_.Reset();
      regime_ = Regime::kNone;
    }
    // No timer either way: new work arrives with an event that makes the
    // scheduler look (a write finding the class asleep, a finished pass).
    return {.state = WorkClassState::kAsleep};
  }
  // Pending work past its age limit is done, all of it, at max rate. Within
  // the last eighth of the limit it is done when the scheduler is awake
  // anyway, so that classes whose limits fall close together share a wakeup.
  // Work that came due as a batch the source chose is done the same way at
  // once while the upstreams are idle: the deadline that brought it was its
  // batching. Under load it batches like any other work (band, age limit)
  // and is done in the rush to idle when the load stops.
  const int64_t age_limit = settings.max_pending_age_micros();
  const int64_t age = now - pending_since_micros_;
  if (!kicked && ((up.pending_came_due && !up.busy) || age >= age_limit - age_limit / kAgeSlackDivisor)) {
    controller_.Hold(now);
    regime_ = up.busy ? Regime::kSustained : Regime::kIdle;
    return {.state = up.busy ? WorkClassState::kSustained : WorkClassState::kIdleFlush,
            .rate_bytes_per_s = s.max_rate_bytes_per_s,
            .forgive_debt = true,
            .all_pending = true};
  }
  if (!kicked && up.pending_came_due && up.busy && pending < s.band_low_bytes) {
    // A batch that came due under load, below the band: it waits for the
    // load to stop (then it is done at once, above) or for its age limit.
    controller_.Hold(now);
    return {.state = WorkClassState::kWaiting,
            .deadline_micros = std::min(pending_since_micros_ + age_limit, up.quiet_since_micros)};
  }
  if (!kicked && pending < s.small_pending_bytes()) {
    const int64_t age_deadline = pending_since_micros_ + age_limit;
    // The tail of a rush to idle: what is left after this class's own real
    // passes, or work a class above just made by one. Otherwise a trickle:
    // not worth a pass (its wakeups, a segment file, syncs) before it has had
    // time to grow or its age limit comes.
    const int64_t real_work = std::max(up.real_work_micros, last_real_work_micros_);
    const bool rush = real_work + settings.hysteresis_micros() >= pending_since_micros_;
    if (rush && up.classes_busy) {
      // The classes above are still at it: look again when they stop.
      controller_.Hold(now);
      return {.state = WorkClassState::kWaiting,
              .deadline_micros = std::min(age_deadline, up.classes_quiet_since_micros)};
    }
    if (!rush || up.busy) {
      // A trickle, or a rush whose classes are done while the foreground
      // trickles on: its wakeups would follow every write.
      controller_.Hold(now);
      return {.state = WorkClassState::kDeferred, .deadline_micros = age_deadline};
    }
    // A rush and every upstream idle: flushed like any other pending work, below.
  }
  const Regime regime = up.busy ? Regime::kSustained : Regime::kIdle;
  // Debt run up under one regime does not delay the other.
  const bool regime_changed = regime != regime_;
  regime_ = regime;

  Decision d;
  d.forgive_debt = kicked || regime_changed;
  if (pending >= s.band_high_bytes) {
    // Above the band: as fast as allowed, whatever the controller says.
    d.rate_bytes_per_s = s.max_rate_bytes_per_s;
    d.forgive_debt = true;
    controller_.Hold(now);
  } else if (pending >= s.band_low_bytes) {
    if (!controller_.started()) {
      controller_.Start(now, inflow_.bytes_per_s(), s);
    } else if (up.busy) {
      controller_.Update(now, static_cast<double>(pending), inflow_.bytes_per_s(), behind_, s);
    } else {
      controller_.Hold(now);
    }
    d.rate_bytes_per_s = controller_.rate_bytes_per_s();
  } else {
    // Below the band: let work batch up. The controller keeps its rate (no
    // integration while out of the band) so a pass that dips below band_low
    // does not restart it.
    controller_.Hold(now);
  }
  if (kicked) d.rate_bytes_per_s = std::max(d.rate_bytes_per_s, s.max_rate_bytes_per_s);

  if (up.busy) {
    d.state = d.rate_bytes_per_s > 0 ? WorkClassState::kSustained : WorkClassState::kWaiting;
    return d;
  }
  // Idle regime: the budget grows with the time the upstreams have been idle.
  const double idle_s = static_cast<double>(now - up.quiet_since_micros) / 1e6;
  const double horizon_s = static_cast<double>(settings.horizon_micros()) / 1e6;
  const double fraction = horizon_s <= 0 ? 1.0 : std::clamp(idle_s / horizon_s, 0.0, 1.0);
  d.rate_bytes_per_s = std::max(d.rate_bytes_per_s, s.max_rate_bytes_per_s * fraction);
  d.state = WorkClassState::kIdleFlush;
  return d;
}

WorkClass::Decision WorkClass::DecideThreshold(uint64_t pending, const UpstreamView& up, bool kicked) {
  if (pending >= settings_.band_high_bytes) threshold_latched_ = true;
  if (pending < settings_.band_low_bytes || pending == 0) threshold_latched_ = false;
  if (pending > 0 && (threshold_latched_ || kicked)) {
    return {.state = WorkClassState::kThreshold,
            .rate_bytes_per_s = max_rate_bytes_per_s(),
            .forgive_debt = kicked};
  }
  // Not latched: whatever is pending stays until the next load reaches
  // band_high. With upstreams idle nothing can change that, so no timer.
  return {.state = up.busy ? WorkClassState::kWaiting : WorkClassState::kAsleep};
}

std::optional<uint64_t> WorkClass::Evaluate(int64_t now_micros, uint64_t pending_bytes, const UpstreamView& up,
                                            const WorkSettings& settings, bool kicked) {
  const int64_t interval = settings.interval_micros();
  inflow_.Observe(now_micros, pending_bytes, interval / 2);
  pending_bytes_ = pending_bytes;
  last_eval_micros_ = now_micros;
  upstreams_idle_micros_ = up.busy ? -1 : std::max<int64_t>(0, now_micros - up.quiet_since_micros);
  if (pending_bytes == 0) {
    stuck_count_ = 0;  // nothing left to be stuck on
    pending_since_micros_ = kNeverMicros;
  } else if (pending_since_micros_ == kNeverMicros) {
    pending_since_micros_ = std::min(now_micros, up.aged_work_since_micros);
  }

  // A class whose passes make no progress waits out its backoff.
  if (stuck_count_ > 0 && !kicked && now_micros < stuck_until_micros_) {
    SetState(WorkClassState::kStuck, now_micros);
    holding_ = false;
    effective_rate_ = 0;
    next_eval_micros_ = stuck_until_micros_;
    on_cadence_ = true;
    return std::nullopt;
  }

  Decision d;
  switch (settings.policy) {
    case WorkPolicy::kEbb:
      d = DecideEbb(now_micros, pending_bytes, up, settings, kicked);
      break;
    case WorkPolicy::kEager:
      if (pending_bytes > 0) {
        d = {.state = WorkClassState::kEager, .unlimited = true};
      } else {
        d = {.state = up.busy ? WorkClassState::kWaiting : WorkClassState::kAsleep};
      }
      break;
    case WorkPolicy::kThreshold:
      d = DecideThreshold(pending_bytes, up, kicked);
      break;
  }
  // Until a pass makes progress again the class reports itself stuck, also
  // while it retries.
  if (stuck_count_ > 0 && d.state != WorkClassState::kAsleep && d.state != WorkClassState::kWaiting) {
    d.state = WorkClassState::kStuck;
  }
  SetState(d.state, now_micros);
  holding_ = pending_bytes > 0 && d.state != WorkClassState::kAsleep && d.state != WorkClassState::kStuck &&
             d.state != WorkClassState::kDeferred;
  effective_rate_ = d.rate_bytes_per_s;

  if (d.state == WorkClassState::kAsleep) d.deadline_micros = kNoDeadline;
  if (d.deadline_micros != kOnCadence) {
    // Off the cadence: one deadline at most, and the source may want a look
    // when the upstreams go quiet.
    int64_t deadline = d.deadline_micros;
    if (up.holders_busy && up.wake_when_quiet) deadline = std::min(deadline, up.holders_quiet_since_micros);
    next_eval_micros_ = deadline;
    on_cadence_ = false;
    if (d.state == WorkClassState::kAsleep) {
      ResetBucket();
    } else if (bucket_micros_ >= 0) {
      bucket_micros_ = now_micros;  // no credit accrues while not running; debt is kept
    }
    return std::nullopt;
  }
  next_eval_micros_ = now_micros + interval;
  on_cadence_ = true;
  if (d.unlimited) return kUnlimitedWorkBudgetBytes;
  if (d.rate_bytes_per_s <= 0) {
    // Not runnable now: no credit accrues, debt is kept.
    if (bucket_micros_ >= 0) bucket_micros_ = now_micros;
    return std::nullopt;
  }
  Refill(now_micros, d.rate_bytes_per_s, interval, d.forgive_debt);
  if (d.all_pending) tokens_bytes_ = std::max(tokens_bytes_, static_cast<double>(pending_bytes));
  const double min_pass = std::min(kMinPassBudgetBytes, static_cast<double>(pending_bytes));
  if (tokens_bytes_ <= 0 || tokens_bytes_ < min_pass) return std::nullopt;
  running_age_pass_ = d.all_pending;
  return static_cast<uint64_t>(std::ceil(tokens_bytes_));
}

void WorkClass::PassDone(int64_t start_micros, int64_t end_micros, uint64_t budget_bytes,
                         const Result<uint64_t>& done, uint64_t pending_after, const WorkSettings& settings) {
  const int64_t interval = settings.interval_micros();
  passes_++;
  last_budget_bytes_ = budget_bytes;
  if (std::exchange(running_age_pass_, false)) {
    last_age_pass_end_micros_ = end_micros;
    last_age_pass_since_micros_ = pending_since_micros_;
  }
  const uint64_t done_bytes = done.ok() ? *done : 0;
  if (!done.ok()) last_error_ = done.status().ToString();
  bytes_done_ += done_bytes;
  if (budget_bytes != kUnlimitedWorkBudgetBytes) {
    // Time spent working earns credit at the rate in force, uncapped: a pass
    // longer than the credit cap (a compaction job) that did what that rate
    // allows leaves no debt, so the class can work back to back at full
    // speed instead of resting as long as it worked.
    if (bucket_micros_ >= 0 && end_micros > bucket_micros_) {
      tokens_bytes_ += effective_rate_ * static_cast<double>(end_micros - std::max(start_micros, bucket_micros_)) / 1e6;
      bucket_micros_ = end_micros;
    }
    tokens_bytes_ -= static_cast<double>(done_bytes);
    tokens_bytes_ = std::max(tokens_bytes_, -effective_rate_ * kMaxRateDebtSeconds);
  }
  inflow_.AddDone(done_bytes);
  inflow_.Observe(end_micros, pending_after, interval / 2);
  if (done_bytes >= kMinRateSampleBytes && end_micros > start_micros) {
    const double sample = static_cast<double>(done_bytes) * 1e6 / static_cast<double>(end_micros - start_micros);
    measured_rate_ = measured_rate_ <= 0 ? sample : measured_rate_ + kMeasuredRateWeight * (sample - measured_rate_);
    if (controller_.started()) controller_.Clamp(EffectiveSettings());
  }
  pending_bytes_ = pending_after;
  behind_ = (budget_bytes != kUnlimitedWorkBudgetBytes && done_bytes < budget_bytes &&
             static_cast<double>(pending_after) > settings_.target_bytes()) ||
            end_micros - start_micros > interval;

  if (done_bytes == 0 && pending_after > 0) {
    // No progress with work pending: back off instead of spinning.
    stuck_count_ = std::min(stuck_count_ + 1, kMaxStuckShift + 1);
    stuck_passes_++;
    const int64_t backoff =
        std::min(interval << (stuck_count_ - 1), std::max(settings.stuck_backoff_max_micros(), interval));
    stuck_until_micros_ = end_micros + backoff;
    next_eval_micros_ = stuck_until_micros_;
    on_cadence_ = true;
    holding_ = false;
    SetState(WorkClassState::kStuck, end_micros);
    if (stuck_count_ == 1) {
      EBB_LOG(kWarn, "work class {}: a pass made no progress with {} bytes pending{}{}; retrying with backoff",
              name_, pending_after, done.ok() ? "" : ": ", done.ok() ? "" : done.status().ToString());
    }
    return;
  }
  if (done_bytes > 0) {
    if (stuck_count_ > 0) EBB_LOG(kInfo, "work class {}: progress again after {} stuck passes", name_, stuck_count_);
    stuck_count_ = 0;
    last_work_micros_ = end_micros;
    if (done_bytes >= settings_.small_pending_bytes()) last_real_work_micros_ = end_micros;
    if (done.ok()) last_error_.clear();
    // What is left is younger than what the pass did (taken as oldest first).
    pending_since_micros_ = pending_after > 0 ? end_micros : kNeverMicros;
  }
  // Look again at once when more may be done now (eager; or the credit
  // earned while this pass ran already covers the next one, so a class at
  // full speed works back to back) or nothing is left (the class goes to
  // sleep without a timer), else after an interval.
  const bool credit_left = budget_bytes != kUnlimitedWorkBudgetBytes && pending_after > 0 &&
                           tokens_bytes_ >= std::min(kMinPassBudgetBytes, static_cast<double>(pending_after));
  const bool more_now = done_bytes > 0 && pending_after > 0 && (settings.policy == WorkPolicy::kEager || credit_left);
  next_eval_micros_ = more_now || pending_after == 0 ? end_micros : end_micros + interval;
  on_cadence_ = true;
}

WorkClassStatus WorkClass::GetStatus() const {
  WorkClassStatus s;
  s.name = name_;
  s.state = std::string(WorkClassStateName(state_));
  s.pending_bytes = pending_bytes_;
  s.band_low_bytes = settings_.band_low_bytes;
  s.band_high_bytes = settings_.band_high_bytes;
  s.rate_bytes_per_s = effective_rate_;
  s.controller_rate_bytes_per_s = controller_.started() ? controller_.rate_bytes_per_s() : 0;
  s.max_rate_bytes_per_s = max_rate_bytes_per_s();
  s.measured_rate_bytes_per_s = measured_rate_;
  s.inflow_bytes_per_s = inflow_.bytes_per_s();
  s.budget_bytes = last_budget_bytes_;
  s.last_transition_micros = last_transition_micros_;
  s.upstreams_idle_ms = upstreams_idle_micros_ < 0 ? -1 : upstreams_idle_micros_ / 1000;
  s.pending_age_ms = pending_since_micros_ == kNeverMicros ? -1 : (last_eval_micros_ - pending_since_micros_) / 1000;
  s.passes = passes_;
  s.bytes_done = bytes_done_;
  s.wakeups = wakeups_;
  s.stuck_passes = stuck_passes_;
  s.transitions = transitions_;
  s.upstreams = upstreams_;
  s.last_error = last_error_;
  return s;
}

}  // namespace ebb
