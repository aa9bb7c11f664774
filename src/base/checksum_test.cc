#include "base/checksum.h"

#include <gtest/gtest.h>

#include <string>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/random.h"

namespace ebb {
namespace {

// Every file Ebb wrote holds these values: whatever code path computes them
// (vector width, one call or pieces) must give XXH3's reference result.
TEST(ChecksumTest, MatchesXxh3ForEverySizeAndSplit) {
  Random rnd(42);
  std::string data = rnd.RandomString(9000);
  for (size_t n : {0, 1, 3, 16, 17, 128, 129, 240, 241, 1024, 4096, 4097, 8999}) {
    std::string_view v(data.data(), n);
    EXPECT_EQ(Checksum32(v), static_cast<uint32_t>(XXH3_64bits(v.data(), v.size()))) << n;
    EXPECT_EQ(Hash64(v, 0xb100f11e), XXH3_64bits_withSeed(v.data(), v.size(), 0xb100f11e)) << n;
    for (size_t split : {size_t{0}, n / 3, n}) {
      // Adjacent pieces, and the same bytes from two separate buffers.
      std::string_view a = v.substr(0, split), b = v.substr(split);
      std::string ca(a), cb(b);
      EXPECT_EQ(Checksum32(a, b), Checksum32(v)) << n << " split " << split;
      EXPECT_EQ(Checksum32(ca, cb), Checksum32(v)) << n << " split " << split << " (copies)";
    }
  }
}

TEST(ChecksumTest, KnownValues) {
  // XXH3-64 of the empty input and of "abc" (xxHash's test vectors).
  EXPECT_EQ(Hash64(""), 0x2D06800538D394C2ULL);
  EXPECT_EQ(Checksum32(""), 0x38D394C2u);
  EXPECT_EQ(Hash64("abc"), XXH3_64bits("abc", 3));
}

}  // namespace
}  // namespace ebb
