// Brief polling before a thread sleeps on a condition variable.
//
// A handoff that completes within a few microseconds (a group commit without
// fsync, an ordered completion pass) is cheaper to wait for by polling than
// by sleeping and being woken: the wakeup alone costs more. Polling yields
// every 64 tries so that on a busy machine the thread that will finish the
// work gets the CPU. (Capping the number of pollers at the spare cores was
// measured and rejected: on 2 cores it halved op-lock write throughput,
// because sleeping writers no longer join the next group commit in time.)

#ifndef EBB_BASE_SPIN_H_
#define EBB_BASE_SPIN_H_

#include <thread>

namespace ebb {

// Polls `done` up to `iterations` times. Returns done()'s last value (false:
// the caller should sleep).
template <typename Done>
bool SpinBriefly(int iterations, Done done) {
  for (int i = 0; i < iterations; i++) {
    if (done()) return true;
    if (i > 0 && i % 64 == 0) std::this_thread::yield();
  }
  return done();
}

}  // namespace ebb

#endif  // EBB_BASE_SPIN_H_
