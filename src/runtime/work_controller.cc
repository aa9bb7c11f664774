#include "runtime/work_controller.h"

#include <algorithm>
#include <cmath>

namespace ebb {

void WorkRateController::Start(int64_t now_micros, double rate, const WorkClassSettings& settings) {
  started_ = true;
  rate_ = rate;
  last_update_micros_ = now_micros;
  Clamp(settings);
}

double WorkRateController::Update(int64_t now_micros, double pending_bytes, double inflow_bytes_per_s,
                                  bool behind, const WorkClassSettings& settings) {
  const int64_t step_micros = std::min(now_micros - last_update_micros_, kMaxControllerStepMicros);
  last_update_micros_ = now_micros;
  if (step_micros <= 0) return rate_;
  const double dt_s = static_cast<double>(step_micros) / 1e6;
  const double error = pending_bytes - settings.target_bytes();
  const double trend = inflow_bytes_per_s - rate_;
  double change = (error + settings.d_term * trend) * dt_s / settings.p_term_inverse;
  // Backpressure: a worker that cannot keep up gets no higher rate; asking
  // for more would only grow the debt it cannot pay.
  if (change > 0 && behind) change = 0;
  rate_ += change;
  Clamp(settings);
  return rate_;
}

void WorkRateController::Clamp(const WorkClassSettings& settings) {
  rate_ = std::clamp(rate_, settings.min_rate_bytes_per_s, settings.max_rate_bytes_per_s);
}

void InflowEstimator::Observe(int64_t now_micros, uint64_t pending_bytes, int64_t min_sample_micros) {
  const double pending = static_cast<double>(pending_bytes);
  if (!have_reference_) {
    have_reference_ = true;
    reference_micros_ = now_micros;
    reference_pending_ = pending;
    done_since_sample_ = 0;
    return;
  }
  const int64_t dt_micros = now_micros - reference_micros_;
  if (dt_micros < std::max<int64_t>(min_sample_micros, 1)) return;
  const double sample = (pending - reference_pending_ + done_since_sample_) * 1e6 / static_cast<double>(dt_micros);
  const double alpha = 1.0 - std::exp(-static_cast<double>(dt_micros) / kInflowTimeConstantMicros);
  ewma_ += alpha * (sample - ewma_);
  reference_micros_ = now_micros;
  reference_pending_ = pending;
  done_since_sample_ = 0;
}

}  // namespace ebb
