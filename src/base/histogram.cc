#include "base/histogram.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace ebb {

int Histogram::BucketFor(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  int exponent = 63 - std::countl_zero(value);  // >= kSubBucketBits
  int sub = static_cast<int>((value >> (exponent - kSubBucketBits)) & (kSubBuckets - 1));
  return kSubBuckets + (exponent - kSubBucketBits) * kSubBuckets + sub;
}

uint64_t Histogram::BucketLow(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  int exponent = (bucket - kSubBuckets) / kSubBuckets + kSubBucketBits;
  uint64_t sub = static_cast<uint64_t>((bucket - kSubBuckets) % kSubBuckets);
  return (uint64_t{1} << exponent) + (sub << (exponent - kSubBucketBits));
}

uint64_t Histogram::BucketHigh(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket) + 1;
  int exponent = (bucket - kSubBuckets) / kSubBuckets + kSubBucketBits;
  uint64_t width = uint64_t{1} << (exponent - kSubBucketBits);
  uint64_t low = BucketLow(bucket);
  return low > UINT64_MAX - width ? UINT64_MAX : low + width;
}

void Histogram::Add(uint64_t value) {
  buckets_[static_cast<size_t>(BucketFor(value))]++;
  count_++;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < buckets_.size(); i++) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() { *this = Histogram(); }

double Histogram::Percentile(double p) const {
  if (count_ == 0) return 0.0;
  p = std::clamp(p, 0.0, 100.0);
  double threshold = static_cast<double>(count_) * (p / 100.0);
  double cumulative = 0;
  for (int b = 0; b < kNumBuckets; b++) {
    double in_bucket = static_cast<double>(buckets_[static_cast<size_t>(b)]);
    if (in_bucket == 0) continue;
    if (cumulative + in_bucket >= threshold) {
      double low = static_cast<double>(BucketLow(b));
      double high = static_cast<double>(BucketHigh(b));
      double fraction = (threshold - cumulative) / in_bucket;
      double value = low + (high - low) * fraction;
      return std::clamp(value, static_cast<double>(min_), static_cast<double>(max_));
    }
    cumulative += in_bucket;
  }
  return static_cast<double>(max_);
}

std::string Histogram::Summary() const {
  return fmt::format("count={} mean={:.1f} p50={:.1f} p99={:.1f} p999={:.1f} max={}", count_, Mean(),
                     Percentile(50), Percentile(99), Percentile(99.9), max());
}

}  // namespace ebb
