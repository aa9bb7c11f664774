#include "runtime/read_pool_settings.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "runtime/future_pool.h"

namespace ebb {
namespace {

constexpr Priority kPriorities[] = {Priority::kHigh, Priority::kNormal, Priority::kLow};

std::string Key(std::string_view prefix, Priority priority) {
  return fmt::format("{}_{}", prefix, PriorityName(priority));
}

}  // namespace

std::string_view PriorityName(Priority priority) {
  switch (priority) {
    case Priority::kHigh:
      return "high";
    case Priority::kNormal:
      return "normal";
    case Priority::kLow:
      return "low";
  }
  return "unknown";
}

int HardwareConcurrency() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

int DefaultReadPoolThreads(Priority priority, int hardware_concurrency) {
  int cores = std::max(1, hardware_concurrency);
  int threads = 1;
  switch (priority) {
    case Priority::kHigh:
      threads = std::max(2, cores / 2);
      break;
    case Priority::kNormal:
      threads = std::max(2, (cores * 4 + 4) / 5);
      break;
    case Priority::kLow:
      threads = std::max(1, cores / 4);
      break;
  }
  return std::min(threads, kMaxReadPoolThreads);
}

ReadPoolLaneSettings& ReadPoolSettings::ForPriority(Priority priority) {
  switch (priority) {
    case Priority::kHigh:
      return high;
    case Priority::kNormal:
      return normal;
    case Priority::kLow:
      return low;
  }
  return normal;
}

const ReadPoolLaneSettings& ReadPoolSettings::ForPriority(Priority priority) const {
  return const_cast<ReadPoolSettings*>(this)->ForPriority(priority);
}

ReadPoolSettings ReadPoolSettings::Defaults(int hardware_concurrency) {
  ReadPoolSettings settings;
  for (Priority p : kPriorities) settings.ForPriority(p).threads = DefaultReadPoolThreads(p, hardware_concurrency);
  settings.high.nice = kDefaultNiceHigh;
  settings.normal.nice = kDefaultNiceNormal;
  settings.low.nice = kDefaultNiceLow;
  settings.high.max_wait_ms = kDefaultMaxWaitMsHigh;
  settings.normal.max_wait_ms = kDefaultMaxWaitMsNormal;
  settings.low.max_wait_ms = kDefaultMaxWaitMsLow;
  return settings;
}

ReadPoolSettings ReadPoolSettings::FromConfig(const Config& config, int hardware_concurrency) {
  ReadPoolSettings settings;
  for (Priority p : kPriorities) {
    ReadPoolLaneSettings& lane = settings.ForPriority(p);
    int64_t threads = config.GetInt(kReadPoolSection, Key("threads", p));
    lane.threads = threads > 0 ? static_cast<int>(threads) : DefaultReadPoolThreads(p, hardware_concurrency);
    lane.max_tasks_per_worker = config.GetInt(kReadPoolSection, Key("max_tasks_per_worker", p));
    lane.max_wait_ms = config.GetDouble(kReadPoolSection, Key("max_wait_ms", p));
    lane.nice = static_cast<int>(config.GetInt(kReadPoolSection, Key("nice", p)));
  }
  settings.tick_interval_ms = config.GetInt(kReadPoolSection, "tick_interval_ms");
  settings.demote_after_ms = config.GetDouble(kReadPoolSection, "demote_after_ms");
  settings.spin_us = config.GetInt(kReadPoolSection, "spin_us");
  return settings;
}

Status ReadPoolSettings::Validate() const {
  for (Priority p : kPriorities) {
    const ReadPoolLaneSettings& lane = ForPriority(p);
    if (lane.threads < 1 || lane.threads > kMaxReadPoolThreads) {
      return Status::InvalidArgument(fmt::format("readpool.threads_{}: {} is out of range [1, {}]", PriorityName(p),
                                                 lane.threads, kMaxReadPoolThreads));
    }
    if (lane.max_tasks_per_worker < 1 || lane.max_tasks_per_worker > kMaxMaxTasksPerWorker) {
      return Status::InvalidArgument(fmt::format("readpool.max_tasks_per_worker_{}: {} is out of range [1, {}]",
                                                 PriorityName(p), lane.max_tasks_per_worker, kMaxMaxTasksPerWorker));
    }
    if (!(lane.max_wait_ms >= 0 && lane.max_wait_ms <= kMaxReadPoolMaxWaitMs)) {
      return Status::InvalidArgument(fmt::format("readpool.max_wait_ms_{}: {} is out of range [0, {}]",
                                                 PriorityName(p), lane.max_wait_ms, kMaxReadPoolMaxWaitMs));
    }
    if (lane.nice < -20 || lane.nice > 19) {
      return Status::InvalidArgument(
          fmt::format("readpool.nice_{}: {} is out of range [-20, 19]", PriorityName(p), lane.nice));
    }
  }
  if (!(demote_after_ms >= 0 && demote_after_ms <= kMaxReadPoolMaxWaitMs)) {
    return Status::InvalidArgument(fmt::format("readpool.demote_after_ms: {} is out of range [0, {}]",
                                               demote_after_ms, kMaxReadPoolMaxWaitMs));
  }
  if (spin_us < 0 || spin_us > FuturePool::kMaxSpinMicros) {
    return Status::InvalidArgument(
        fmt::format("readpool.spin_us: {} is out of range [0, {}]", spin_us, FuturePool::kMaxSpinMicros));
  }
  if (tick_interval_ms < 1 || tick_interval_ms > kMaxReadPoolTickIntervalMs) {
    return Status::InvalidArgument(fmt::format("readpool.tick_interval_ms: {} is out of range [1, {}]",
                                               tick_interval_ms, kMaxReadPoolTickIntervalMs));
  }
  return Status::OK();
}

void RegisterReadPoolSettings(ConfigSchema* schema) {
  const std::string section(kReadPoolSection);
  schema->Add({.section = section,
               .key = "threads_high",
               .type = SettingType::kInt,
               .default_value = "",
               .unit = "threads",
               .runtime = true,
               .description = "Worker threads for high-priority reads; unset or 0 derives max(2, cores/2), and more "
                              "threads absorb blocking reads at the cost of memory and context switches.",
               .min = 0,
               .max = kMaxReadPoolThreads});
  schema->Add({.section = section,
               .key = "threads_normal",
               .type = SettingType::kInt,
               .default_value = "",
               .unit = "threads",
               .runtime = true,
               .description = "Worker threads for normal-priority reads; unset or 0 derives max(2, ceil(cores*0.8)), "
                              "and more threads absorb blocking reads at the cost of memory and context switches.",
               .min = 0,
               .max = kMaxReadPoolThreads});
  schema->Add({.section = section,
               .key = "threads_low",
               .type = SettingType::kInt,
               .default_value = "",
               .unit = "threads",
               .runtime = true,
               .description = "Worker threads for low-priority reads (scans, batch jobs); unset or 0 derives max(1, "
                              "cores/4), and more threads finish batch work sooner but crowd the CPU more.",
               .min = 0,
               .max = kMaxReadPoolThreads});
  for (Priority p : kPriorities) {
    schema->Add({.section = section,
                 .key = Key("max_tasks_per_worker", p),
                 .type = SettingType::kInt,
                 .default_value = std::to_string(kDefaultMaxTasksPerWorker),
                 .unit = "tasks",
                 .runtime = true,
                 .description = fmt::format(
                     "Running plus queued {}-priority reads allowed per worker thread before new ones get Busy at "
                     "once; higher absorbs longer bursts but lets queueing delay grow (2000 at ~1 ms a read is ~2 s).",
                     PriorityName(p)),
                 .min = 1,
                 .max = static_cast<double>(kMaxMaxTasksPerWorker)});
  }
  const std::pair<Priority, double> max_wait_defaults[] = {{Priority::kHigh, kDefaultMaxWaitMsHigh},
                                                           {Priority::kNormal, kDefaultMaxWaitMsNormal},
                                                           {Priority::kLow, kDefaultMaxWaitMsLow}};
  for (const auto& [p, default_ms] : max_wait_defaults) {
    schema->Add({.section = section,
                 .key = Key("max_wait_ms", p),
                 .type = SettingType::kDouble,
                 .default_value = fmt::format("{}", default_ms),
                 .unit = "ms",
                 .runtime = true,
                 .description = fmt::format(
                     "Refuse a {}-priority read with Busy at once when its estimated wait (reads that must finish "
                     "before it starts x the wait each recently cost) exceeds this; lower keeps the tail of admitted "
                     "reads shorter under overload at the cost of refusing more (0.5 holds a 2-core store's admitted "
                     "p99 near 0.6 ms at twice its capacity). 0 admits up to max_tasks_per_worker alone. Fractions "
                     "allowed (0.5 = 500 us).",
                     PriorityName(p)),
                 .min = 0,
                 .max = kMaxReadPoolMaxWaitMs});
  }
  schema->Add({.section = section,
               .key = "tick_interval_ms",
               .type = SettingType::kInt,
               .default_value = std::to_string(kDefaultReadPoolTickIntervalMs),
               .unit = "ms",
               .runtime = true,
               .description = "Least time between two metric publications of a busy read worker (ticks follow task "
                              "completion, an idle pool never ticks); shorter keeps status fresher at more cost per "
                              "task.",
               .min = 1,
               .max = static_cast<double>(kMaxReadPoolTickIntervalMs)});
  schema->Add({.section = section,
               .key = "demote_after_ms",
               .type = SettingType::kDouble,
               .default_value = fmt::format("{}", kDefaultDemoteAfterMs),
               .unit = "ms",
               .runtime = true,
               .description = "A scan that has run this long on a high or normal read thread stops there and "
                              "continues on the low-priority pool (same snapshot), so a long scan sent at the wrong "
                              "priority cannot hold the threads of short reads; shorter protects point reads more "
                              "and delays long scans more. 0: never demote.",
               .min = 0,
               .max = kMaxReadPoolMaxWaitMs});
  schema->Add({.section = section,
               .key = "spin_us",
               .type = SettingType::kInt,
               .default_value = std::to_string(kDefaultReadPoolSpinUs),
               .unit = "us",
               .runtime = true,
               .description = "While reads arrive back to back, a read thread that finishes one and finds none "
                              "queued keeps checking (yielding the CPU between checks) this long before it sleeps, "
                              "so the next read starts without a thread wakeup (on 2 cores: 1.2-1.3x the pipelined "
                              "GETs a second, 4x the reads served at twice capacity). A lone read is followed by "
                              "sleep at once; never a periodic wakeup. Longer catches sparser streams at more CPU "
                              "per read. A check that finds another thread took the core (CPU-bound writes, say) "
                              "ends the polling at once, so on busy cores polling costs at most one yield; 0 sleeps at "
                              "once.",
               .min = 0,
               .max = static_cast<double>(FuturePool::kMaxSpinMicros)});
  struct NiceSpec {
    Priority priority;
    int default_nice;
    const char* why;
  };
  const NiceSpec nice_specs[] = {
      {Priority::kHigh, kDefaultNiceHigh, "raise it only to make high reads yield CPU to other work"},
      {Priority::kNormal, kDefaultNiceNormal,
       "raising it protects high reads from normal saturation but lets foreground writes slow normal reads"},
      {Priority::kLow, kDefaultNiceLow,
       "higher protects high and normal reads more (nice 10 is ~10% of a contended core, 19 ~1.5%) but finishes "
       "scans slower; low never starves since CFS gives every runnable thread its weighted share"},
  };
  for (const NiceSpec& spec : nice_specs) {
    schema->Add({.section = section,
                 .key = Key("nice", spec.priority),
                 .type = SettingType::kInt,
                 .default_value = std::to_string(spec.default_nice),
                 .unit = "nice",
                 .runtime = true,
                 .description = fmt::format("Linux nice value (CPU weight under contention) of the {}-priority read "
                                            "threads; {}; lowering it at run time needs CAP_SYS_NICE.",
                                            PriorityName(spec.priority), spec.why),
                 .min = -20,
                 .max = 19});
  }
}

}  // namespace ebb
