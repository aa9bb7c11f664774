#include "storage/bloom.h"

#include <string>

#include <gtest/gtest.h>

namespace ebb {
namespace {

std::string Key(int i) { return "key" + std::to_string(i); }

std::string BuildFilter(int keys, int bits_per_key) {
  BloomBuilder builder(bits_per_key);
  for (int i = 0; i < keys; i++) builder.AddKey(Key(i));
  return builder.Finish();
}

int FalsePositives(const std::string& filter, int first, int count) {
  int n = 0;
  for (int i = first; i < first + count; i++) n += BloomMayContain(filter, Key(i)) ? 1 : 0;
  return n;
}

TEST(BloomTest, CacheLocalFilterHasNoFalseNegativesAndFewFalsePositives) {
  const std::string filter = BuildFilter(10000, 10);
  // 512-bit lines and the trailer: the marker with k = floor(10 x 0.69).
  ASSERT_EQ((filter.size() - 1) % 64, 0u);
  EXPECT_EQ(static_cast<unsigned char>(filter.back()), 0x40u | 6u);
  EXPECT_GE((filter.size() - 1) * 8, 10000u * 10u);
  for (int i = 0; i < 10000; i++) ASSERT_TRUE(BloomMayContain(filter, Key(i))) << i;
  const int fp = FalsePositives(filter, 100000, 100000);
  EXPECT_LT(fp, 2000) << "more than 2% false positives at 10 bits per key";
  EXPECT_GT(fp, 0) << "a filter that never says maybe for an absent key is not hashing what it should";
}

TEST(BloomTest, TinyAndWideFiltersWork) {
  const std::string one = BuildFilter(1, 10);
  EXPECT_EQ(one.size(), 65u) << "at least one line";
  EXPECT_TRUE(BloomMayContain(one, Key(0)));
  const std::string wide = BuildFilter(5000, 32);
  EXPECT_EQ(static_cast<unsigned char>(wide.back()), 0x40u | 22u);
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(BloomMayContain(wide, Key(i))) << i;
  EXPECT_LT(FalsePositives(wide, 100000, 20000), 40);
}

// Segments written before the cache-local layout carry a single bit array
// probed by double hashing, with k alone in the last byte: still read.
TEST(BloomTest, TheFirstLayoutIsStillRead) {
  const int k = 6;
  const size_t bits = 2000 * 10;
  std::string filter(bits / 8, '\0');
  for (int i = 0; i < 2000; i++) {
    const uint64_t h = BloomHash(Key(i));
    uint32_t h1 = static_cast<uint32_t>(h);
    const uint32_t delta = static_cast<uint32_t>(h >> 32) | 1;
    for (int j = 0; j < k; j++) {
      const size_t bit = h1 % bits;
      filter[bit / 8] = static_cast<char>(filter[bit / 8] | (1 << (bit % 8)));
      h1 += delta;
    }
  }
  filter.push_back(static_cast<char>(k));
  for (int i = 0; i < 2000; i++) ASSERT_TRUE(BloomMayContain(filter, Key(i))) << i;
  EXPECT_LT(FalsePositives(filter, 100000, 20000), 400);
}

TEST(BloomTest, AnUnknownLayoutMatchesEveryKey) {
  std::string filter = BuildFilter(1000, 10);
  for (unsigned char trailer : {0u, 31u, 0x40u, 0x7fu, 0xc6u}) {
    std::string other = filter;
    other.back() = static_cast<char>(trailer);
    EXPECT_TRUE(BloomMayContain(other, "absent")) << static_cast<int>(trailer);
  }
  // The marker with a size that is not whole lines.
  std::string cut = filter.substr(1);
  EXPECT_TRUE(BloomMayContain(cut, "absent"));
  EXPECT_TRUE(BloomMayContain("", "absent"));
  EXPECT_TRUE(BloomMayContain("\x40", "absent"));
}

}  // namespace
}  // namespace ebb
