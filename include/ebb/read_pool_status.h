// Copyright Ebb authors. Public API.
//
// Status of the ReadPool as plain structs: no methods, no Ebb types, field
// names that read well as JSON keys, so the engine can copy them into the
// public StoreStatus (include/ebb/) and the admin server can print them.

#ifndef EBB_READ_POOL_STATUS_H_
#define EBB_READ_POOL_STATUS_H_

#include <cstdint>
#include <string>

namespace ebb {

// One priority of the ReadPool. Counters are totals since the pool was
// created; percentiles are over every task completed since then.
struct ReadPoolPriorityStatus {
  std::string priority;                // "high" | "normal" | "low"
  int threads = 0;                     // configured worker threads
  int nice = 0;                        // configured nice of those threads
  int64_t max_tasks_per_worker = 0;
  int64_t limit = 0;                   // max_tasks_per_worker * threads
  double max_wait_ms = 0;              // admission by estimated wait (0: off)
  int64_t running = 0;                 // tasks being run now
  int64_t queued = 0;                  // tasks waiting for a worker now
  uint64_t admitted = 0;               // accepted by Spawn
  uint64_t rejected = 0;               // refused with Busy (over the limit or the wait)
  uint64_t rejected_by_wait = 0;       // ... of those, because the estimated wait was over max_wait_ms
  uint64_t completed = 0;              // ran to the end (published on tick or when the pool idles)
  uint64_t aborted = 0;                // queued when the pool stopped; got Aborted
  double queue_wait_p50_us = 0;        // admission to start of run
  double queue_wait_p99_us = 0;
  double run_p50_us = 0;               // start to end of run
  double run_p99_us = 0;
  int64_t estimated_wait_us = 0;       // what a task submitted now would wait
};

struct ReadPoolStatus {
  ReadPoolPriorityStatus high;
  ReadPoolPriorityStatus normal;
  ReadPoolPriorityStatus low;
};

}  // namespace ebb

#endif  // EBB_READ_POOL_STATUS_H_
