// Histogram of non-negative integer samples (latencies in microseconds,
// sizes in bytes) with log-linear buckets: exact below 16, then 16 buckets
// per power of two, so any reported percentile is within 6.25% of the true
// sample. Fixed memory (kNumBuckets counters), O(1) Add, mergeable.
//
// Not thread-safe: each thread keeps its own and merges (the ReadPool's
// per-thread contexts publish theirs on tick).

#ifndef EBB_BASE_HISTOGRAM_H_
#define EBB_BASE_HISTOGRAM_H_

#include <array>
#include <cstdint>
#include <string>

namespace ebb {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 4;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  static constexpr int kNumBuckets = kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  void Add(uint64_t value);
  void Merge(const Histogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double Mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  // Value at percentile p in [0, 100], interpolated inside its bucket and
  // clamped to [min, max]. 0 when empty.
  double Percentile(double p) const;

  // "count=... mean=... p50=... p99=... p999=... max=..."
  std::string Summary() const;

  static int BucketFor(uint64_t value);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketHigh(int bucket);  // exclusive

 private:
  std::array<uint64_t, kNumBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ebb

#endif  // EBB_BASE_HISTOGRAM_H_
