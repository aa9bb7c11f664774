// The `readpool` configuration section: thread counts, admission limits,
// tick interval and CPU weights (nice values) of the ReadPool's three
// priorities, and how they are read from a Config.
//
// Section readpool (all change at run time):
//   threads_high / threads_normal / threads_low   (derived from the CPU count)
//   max_tasks_per_worker_high / _normal / _low    2000
//   max_wait_ms_high / _normal / _low             100 / 100 / 1000
//   tick_interval_ms                              1000
//   demote_after_ms                               5
//   spin_us                                       20
//   nice_high / nice_normal / nice_low            0 / 0 / 10

#ifndef EBB_RUNTIME_READ_POOL_SETTINGS_H_
#define EBB_RUNTIME_READ_POOL_SETTINGS_H_

#include <cstdint>
#include <string_view>

#include "base/config.h"
#include "ebb/options.h"
#include "ebb/status.h"

namespace ebb {

inline constexpr std::string_view kReadPoolSection = "readpool";

// TiKV's value (PR #3093): at ~1 ms per read, 2000 queued per worker is
// ~2 s of waiting, about a client's backoff; past that, rejecting is better.
inline constexpr int64_t kDefaultMaxTasksPerWorker = 2000;
inline constexpr int64_t kMaxMaxTasksPerWorker = 1'000'000;
inline constexpr int64_t kDefaultReadPoolTickIntervalMs = 1000;
inline constexpr int64_t kMaxReadPoolTickIntervalMs = 3'600'000;
inline constexpr int kMaxReadPoolThreads = 256;  // per priority
inline constexpr double kMaxReadPoolMaxWaitMs = 3'600'000;
// A multilevel feedback queue's first level (yatp demotes after 5 ms).
inline constexpr double kDefaultDemoteAfterMs = 5;
// How long a read worker that ran out of reads polls for the next before it
// sleeps: about the gap between two batches of a pipelined client on a
// busy store, short enough to cost little CPU once reads stop.
inline constexpr int64_t kDefaultReadPoolSpinUs = 20;

// Default CPU weights. Normal reads stay at nice 0, level with foreground
// writes, so reads are not slowed by write saturation; low (scans, batch
// jobs) runs at nice 10 = CFS weight 110 against 1024 for nice 0, so a
// saturated low pool takes at most ~10% of a core that high or normal work
// wants, and still gets at least that share when they saturate it.
// Admission by estimated wait, on by default: a read that would queue
// longer than this is refused with Busy (and the wait) at once. High and
// normal at 100 ms, far above what closed-loop clients make queue (a
// thousand connections' pipelined point reads wait about 20 ms on two
// cores) and far below the task limit's bound when reads are slow (cold
// reads of tiered segments at ~1 ms: 2000 per worker is ~2 s); low at 1 s,
// for scans that run milliseconds each.
inline constexpr double kDefaultMaxWaitMsHigh = 100;
inline constexpr double kDefaultMaxWaitMsNormal = 100;
inline constexpr double kDefaultMaxWaitMsLow = 1000;

inline constexpr int kDefaultNiceHigh = 0;
inline constexpr int kDefaultNiceNormal = 0;
inline constexpr int kDefaultNiceLow = 10;

// "high", "normal", "low".
std::string_view PriorityName(Priority priority);

// Thread count used when readpool.threads_<priority> is unset or 0, for a
// machine with `hardware_concurrency` cores:
//   high   max(2, cores / 2)     latency-critical reads; two so one slow
//                                read does not hold up the next
//   normal max(2, ceil(cores * 0.8))   TiKV's unified pool size; at least
//                                two so a read blocked on disk leaves one
//   low    max(1, cores / 4)     scans and batch reads; few threads keep
//                                long scans from crowding the CPU
// On 2 cores: 2 / 2 / 1. On 16 cores: 8 / 13 / 4. Capped at 256.
int DefaultReadPoolThreads(Priority priority, int hardware_concurrency);

// std::thread::hardware_concurrency(), at least 1.
int HardwareConcurrency();

struct ReadPoolLaneSettings {
  int threads = 1;
  int64_t max_tasks_per_worker = kDefaultMaxTasksPerWorker;
  // A read whose estimated wait (reads that must finish before it starts x
  // the wait each recently cost) exceeds this is refused with Busy at once;
  // 0 admits up to the task limit alone. Defaults() sets the defaults above.
  double max_wait_ms = 0;
  int nice = 0;
};

struct ReadPoolSettings {
  ReadPoolLaneSettings high;
  ReadPoolLaneSettings normal;
  ReadPoolLaneSettings low;
  int64_t tick_interval_ms = kDefaultReadPoolTickIntervalMs;
  // Long tasks that can stop part-way (scans) continue at low priority
  // after running this long at high or normal (0: never).
  double demote_after_ms = kDefaultDemoteAfterMs;
  // A worker that finds no read after finishing one polls this long before
  // sleeping (FuturePoolOptions::spin_us; 0: sleep at once).
  int64_t spin_us = kDefaultReadPoolSpinUs;

  ReadPoolLaneSettings& ForPriority(Priority priority);
  const ReadPoolLaneSettings& ForPriority(Priority priority) const;

  // The defaults for a machine with `hardware_concurrency` cores.
  static ReadPoolSettings Defaults(int hardware_concurrency = HardwareConcurrency());
  // The `readpool` section of `config` (registered by
  // RegisterReadPoolSettings); unset or 0 thread counts are derived.
  static ReadPoolSettings FromConfig(const Config& config, int hardware_concurrency = HardwareConcurrency());

  // InvalidArgument naming the readpool.* setting that is out of range.
  Status Validate() const;
};

// Registers the `readpool` section. Every setting changes at run time.
void RegisterReadPoolSettings(ConfigSchema* schema);

}  // namespace ebb

#endif  // EBB_RUNTIME_READ_POOL_SETTINGS_H_
