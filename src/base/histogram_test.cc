#include "base/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "base/random.h"

namespace ebb {
namespace {

TEST(HistogramTest, BucketsCoverEveryValueContiguously) {
  for (int b = 0; b + 1 < Histogram::kNumBuckets; b++) {
    ASSERT_EQ(Histogram::BucketHigh(b), Histogram::BucketLow(b + 1)) << "bucket " << b;
  }
  for (uint64_t v : std::vector<uint64_t>{0, 1, 15, 16, 17, 1000, 123456789, UINT64_MAX}) {
    int b = Histogram::BucketFor(v);
    EXPECT_LE(Histogram::BucketLow(b), v);
    if (v != UINT64_MAX) {
      EXPECT_LT(v, Histogram::BucketHigh(b));
    }
  }
}

TEST(HistogramTest, PercentilesWithinBucketError) {
  Random rnd(42);
  Histogram h;
  std::vector<uint64_t> samples;
  for (int i = 0; i < 100000; i++) {
    uint64_t v = 1 + rnd.Uniform(1'000'000);
    samples.push_back(v);
    h.Add(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    double exact = static_cast<double>(samples[static_cast<size_t>(p / 100.0 * (samples.size() - 1))]);
    EXPECT_NEAR(h.Percentile(p), exact, exact * 0.07) << "p" << p;
  }
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.max(), samples.back());
}

TEST(HistogramTest, MergeEqualsAddingAll) {
  Histogram a, b, all;
  for (uint64_t v = 0; v < 1000; v++) {
    (v % 2 ? a : b).Add(v * 7);
    all.Add(v * 7);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.sum(), all.sum());
  EXPECT_DOUBLE_EQ(a.Percentile(99), all.Percentile(99));
}

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0.0);
  EXPECT_EQ(h.min(), 0u);
}

}  // namespace
}  // namespace ebb
