#include "runtime/work_settings.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace ebb {
namespace {

constexpr std::string_view kSection = "work";
constexpr std::string_view kClassPattern = "work.*";

std::string ClassSection(std::string_view class_name) { return fmt::format("work.{}", class_name); }

}  // namespace

std::string_view WorkPolicyName(WorkPolicy policy) {
  switch (policy) {
    case WorkPolicy::kEbb:
      return "ebb";
    case WorkPolicy::kEager:
      return "eager";
    case WorkPolicy::kThreshold:
      return "threshold";
  }
  return "unknown";
}

Result<WorkPolicy> ParseWorkPolicy(std::string_view name) {
  for (WorkPolicy p : {WorkPolicy::kEbb, WorkPolicy::kEager, WorkPolicy::kThreshold}) {
    if (name == WorkPolicyName(p)) return p;
  }
  return Status::InvalidArgument(
      fmt::format("work.policy: '{}' is not one of ebb, eager, threshold; set work.policy to one of them", name));
}

int64_t WorkSettings::hysteresis_micros() const { return std::max(idle_hysteresis_ms, interval_ms) * 1000; }

Result<WorkSettings> WorkSettings::FromConfig(const Config& config) {
  WorkSettings s;
  auto policy = ParseWorkPolicy(config.GetString(kSection, "policy"));
  if (!policy.ok()) return policy.status();
  s.policy = *policy;
  s.interval_ms = config.GetInt(kSection, "interval_ms");
  s.idle_hysteresis_ms = config.GetInt(kSection, "idle_hysteresis_ms");
  s.idle_horizon_ms = config.GetInt(kSection, "idle_horizon_ms");
  s.threads = static_cast<int>(config.GetInt(kSection, "threads"));
  s.max_pause_ms = config.GetInt(kSection, "max_pause_ms");
  s.stuck_backoff_max_ms = config.GetInt(kSection, "stuck_backoff_max_ms");
  s.max_pending_age_s = config.GetInt(kSection, "max_pending_age_s");
  s.nice = static_cast<int>(config.GetInt(kSection, "nice"));
  return s;
}

uint64_t WorkClassSettings::small_pending_bytes() const {
  return std::min(static_cast<uint64_t>(kMinPassBudgetBytes), band_low_bytes);
}

Status WorkClassSettings::Validate(std::string_view class_name) const {
  const std::string section = ClassSection(class_name);
  if (band_low_bytes >= band_high_bytes) {
    return Status::InvalidArgument(fmt::format(
        "{}: band_low_bytes ({}) must be below band_high_bytes ({}); lower band_low_bytes or raise band_high_bytes",
        section, band_low_bytes, band_high_bytes));
  }
  if (!(min_rate_bytes_per_s > 0) || !(min_rate_bytes_per_s <= max_rate_bytes_per_s)) {
    return Status::InvalidArgument(fmt::format(
        "{}: min_rate_bytes_per_s ({}) must be above 0 and at most max_rate_bytes_per_s ({}); adjust one of them",
        section, min_rate_bytes_per_s, max_rate_bytes_per_s));
  }
  if (!std::isfinite(max_rate_bytes_per_s)) {
    return Status::InvalidArgument(
        fmt::format("{}: max_rate_bytes_per_s must be finite; use policy eager for unlimited work", section));
  }
  if (!(p_term_inverse > 0) || !std::isfinite(p_term_inverse) || !(d_term >= 0) || !std::isfinite(d_term)) {
    return Status::InvalidArgument(fmt::format(
        "{}: p_term_inverse ({}) must be a positive number and d_term ({}) a non-negative number", section,
        p_term_inverse, d_term));
  }
  return Status::OK();
}

Result<WorkClassSettings> WorkClassSettings::FromConfig(const Config& config, std::string_view class_name) {
  const std::string section = ClassSection(class_name);
  WorkClassSettings s;
  s.band_low_bytes = static_cast<uint64_t>(config.GetInt(section, "band_low_bytes"));
  s.band_high_bytes = static_cast<uint64_t>(config.GetInt(section, "band_high_bytes"));
  s.max_rate_bytes_per_s = config.GetDouble(section, "max_rate_bytes_per_s");
  s.max_rate_configured = config.GetExplicit(section, "max_rate_bytes_per_s").has_value();
  s.min_rate_bytes_per_s = config.GetDouble(section, "min_rate_bytes_per_s");
  s.p_term_inverse = config.GetDouble(section, "p_term_inverse");
  s.d_term = config.GetDouble(section, "d_term");
  Status st = s.Validate(class_name);
  if (!st.ok()) return st;
  return s;
}

void RegisterWorkSettings(ConfigSchema* schema) {
  const std::string work(kSection);
  const std::string cls(kClassPattern);
  schema->Add({.section = work, .key = "policy", .type = SettingType::kEnum, .default_value = "ebb",
               .runtime = true,
               .description = "How background work decides when to run: ebb batches work under load and rushes to "
                              "idle when the classes above go quiet; eager works as soon as any exists (less "
                              "pending, more write amplification); threshold waits for band_high and runs until "
                              "band_low (leaves work pending at idle).",
               .choices = {"ebb", "eager", "threshold"}});
  schema->Add({.section = work, .key = "interval_ms", .type = SettingType::kInt, .default_value = "100",
               .unit = "ms", .runtime = true,
               .description = "How often a class with work or a busy upstream is re-evaluated; shorter reacts "
                              "faster and splits work finer, longer wakes the CPU less under load.",
               .min = 1, .max = 60000});
  schema->Add({.section = work, .key = "idle_hysteresis_ms", .type = SettingType::kInt, .default_value = "500",
               .unit = "ms", .runtime = true,
               .description = "How long a class (or the foreground) must be quiet before the classes below it "
                              "count it as idle; longer ignores short pauses in the load, shorter reaches idle "
                              "sooner. At least interval_ms is used.",
               .min = 0, .max = 3600000});
  schema->Add({.section = work, .key = "idle_horizon_ms", .type = SettingType::kInt, .default_value = "5000",
               .unit = "ms", .runtime = true,
               .description = "Idle time after which an idle class works at its full max rate; before that its "
                              "budget grows in proportion to the idle time, so short lulls flush little (more "
                              "batching) and long ones flush everything (sooner to sleep).",
               .min = 0, .max = 3600000});
  schema->Add({.section = work, .key = "threads", .type = SettingType::kInt, .default_value = "2",
               .unit = "count", .runtime = false,
               .description = "Background worker threads; more lets a long compaction pass run beside a flush, at "
                              "the cost of more concurrent background I/O.",
               .min = 1, .max = 64});
  schema->Add({.section = work, .key = "max_pause_ms", .type = SettingType::kInt, .default_value = "200",
               .unit = "ms", .runtime = true,
               .description = "Longest pause the foreground throttle imposes on one write when background work "
                              "falls behind; lower keeps latency down but lets pending work grow further.",
               .min = 0, .max = 200});
  schema->Add({.section = work, .key = "stuck_backoff_max_ms", .type = SettingType::kInt, .default_value = "60000",
               .unit = "ms", .runtime = true,
               .description = "Longest wait between retries of a class whose passes make no progress; longer "
                              "wastes less CPU on a stuck class, shorter recovers sooner.",
               .min = 1, .max = 3600000});
  schema->Add({.section = work, .key = "max_pending_age_s", .type = SettingType::kInt, .default_value = "30",
               .unit = "s", .runtime = true,
               .description = "Policy ebb: pending work older than this is done even when it is below its band or "
                              "too small to be worth a pass on its own (a trickle of writes), like Linux's "
                              "dirty_expire_centisecs; one deadline per class, never a periodic tick. Shorter puts "
                              "data into segment files and frees the journal sooner; longer gathers a trickle into "
                              "fewer, larger passes and fewer wakeups.",
               .min = 1, .max = 86400});
  schema->Add({.section = work, .key = "nice", .type = SettingType::kInt, .default_value = "0",
               .unit = "nice", .runtime = true,
               .description = "Linux nice value (CPU weight under contention) of the background threads (the "
                              "dispatcher and the workers, which flush, compact, tier out and reclaim). Level "
                              "with the foreground by default; raising it gives reads and writes the CPU first "
                              "when they and background work compete for it, at the risk of background work "
                              "falling further behind under sustained load (writers are then slowed at the "
                              "memory bound). Lowering it at run time needs CAP_SYS_NICE.",
               .min = -20, .max = 19});

  schema->Add({.section = cls, .key = "band_low_bytes", .type = SettingType::kBytes, .default_value = "64MiB",
               .unit = "bytes", .runtime = true,
               .description = "Under load nothing runs while pending work is below this; higher batches more "
                              "work (and lets some become unnecessary) but holds more pending.",
               .min = 0});
  schema->Add({.section = cls, .key = "band_high_bytes", .type = SettingType::kBytes, .default_value = "256MiB",
               .unit = "bytes", .runtime = true,
               .description = "Above this the class runs at max rate; the controller keeps pending work near the "
                              "middle of [band_low_bytes, band_high_bytes], so a wider band absorbs bigger bursts.",
               .min = 1});
  schema->Add({.section = cls, .key = "max_rate_bytes_per_s", .type = SettingType::kBytes, .default_value = "64MiB",
               .unit = "bytes/s", .runtime = true,
               .description = "Fastest the class works (above band_high_bytes and when fully idle); higher drains "
                              "sooner but competes harder with foreground I/O. When not set, the class works at the "
                              "speed its own passes achieve on this device (measured from its passes of at least "
                              "1 MiB, shown as measured_rate_bytes_per_s in status), this default serving until the "
                              "first measurement.",
               .min = 1});
  schema->Add({.section = cls, .key = "min_rate_bytes_per_s", .type = SettingType::kBytes, .default_value = "1MiB",
               .unit = "bytes/s", .runtime = true,
               .description = "Slowest the controller lets the class work inside the band, so the rate can never "
                              "ratchet down to nothing; higher recovers faster from a lull, lower batches more.",
               .min = 1});
  schema->Add({.section = cls, .key = "p_term_inverse", .type = SettingType::kDouble, .default_value = "4",
               .unit = "s^2", .runtime = true,
               .description = "Controller P gain: the rate changes by (pending - mid-band) / p_term_inverse bytes/s "
                              "every second; smaller reacts faster but oscillates more (natural period "
                              "2*pi*sqrt(p_term_inverse) s).",
               .min = 0.001});
  schema->Add({.section = cls, .key = "d_term", .type = SettingType::kDouble, .default_value = "4", .unit = "s",
               .runtime = true,
               .description = "Controller D gain: weight of the pending trend (arrivals minus rate); "
                              "2*sqrt(p_term_inverse) is critically damped, less overshoots, more is sluggish.",
               .min = 0});
}

}  // namespace ebb
