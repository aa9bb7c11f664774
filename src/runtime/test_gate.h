// Test helpers for the runtime tests: a gate that holds pool tasks until the
// test opens it, and a counter a test can wait on. Both wait on condition
// variables, never on time.

#ifndef EBB_RUNTIME_TEST_GATE_H_
#define EBB_RUNTIME_TEST_GATE_H_

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ebb {

// Tasks call Pass(): they are counted as arrived and block until Open().
class TestGate {
 public:
  void Pass() {
    MutexLock lock(&mu_);
    arrived_++;
    cv_.SignalAll();
    while (!open_) cv_.Wait();
  }
  // Blocks until `n` tasks have arrived (whether or not they got through).
  void WaitForArrivals(int n) {
    MutexLock lock(&mu_);
    while (arrived_ < n) cv_.Wait();
  }
  void Open() {
    MutexLock lock(&mu_);
    open_ = true;
    cv_.SignalAll();
  }
  int arrived() const {
    MutexLock lock(&mu_);
    return arrived_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  int arrived_ GUARDED_BY(mu_) = 0;
  bool open_ GUARDED_BY(mu_) = false;
};

class TestCounter {
 public:
  void Add(int n = 1) {
    MutexLock lock(&mu_);
    value_ += n;
    cv_.SignalAll();
  }
  void WaitFor(int n) {
    MutexLock lock(&mu_);
    while (value_ < n) cv_.Wait();
  }
  int value() const {
    MutexLock lock(&mu_);
    return value_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  int value_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb

#endif  // EBB_RUNTIME_TEST_GATE_H_
