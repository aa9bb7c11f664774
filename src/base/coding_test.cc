#include "base/coding.h"

#include <gtest/gtest.h>

#include "base/checksum.h"
#include "base/random.h"

namespace ebb {
namespace {

TEST(CodingTest, FixedRoundTrip) {
  std::string s;
  PutFixed32(&s, 0xdeadbeef);
  PutFixed64(&s, 0x0123456789abcdefULL);
  std::string_view in(s);
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(GetFixed32(&in, &a));
  ASSERT_TRUE(GetFixed64(&in, &b));
  EXPECT_EQ(a, 0xdeadbeef);
  EXPECT_EQ(b, 0x0123456789abcdefULL);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(GetFixed32(&in, &a));
}

TEST(CodingTest, VarintRoundTripAtEveryWidth) {
  std::string s;
  std::vector<uint64_t> values;
  for (int shift = 0; shift < 64; shift++) {
    for (uint64_t delta : {0ULL, 1ULL}) {
      uint64_t v = (uint64_t{1} << shift) - delta;
      values.push_back(v);
      PutVarint64(&s, v);
    }
  }
  values.push_back(UINT64_MAX);
  PutVarint64(&s, UINT64_MAX);
  std::string_view in(s);
  for (uint64_t expected : values) {
    uint64_t v;
    ASSERT_TRUE(GetVarint64(&in, &v));
    EXPECT_EQ(v, expected);
    EXPECT_EQ(VarintLength(expected), static_cast<int>(std::string([&] { std::string t; PutVarint64(&t, expected); return t; }()).size()));
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, TruncatedAndOverlongVarintsAreRejected) {
  std::string s;
  PutVarint64(&s, uint64_t{1} << 40);
  std::string_view truncated(s.data(), s.size() - 1);
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&truncated, &v));
  std::string overlong(11, '\xff');
  std::string_view in(overlong);
  EXPECT_FALSE(GetVarint64(&in, &v));
  std::string big;
  PutVarint64(&big, uint64_t{1} << 33);
  std::string_view in32(big);
  uint32_t v32;
  EXPECT_FALSE(GetVarint32(&in32, &v32));
}

TEST(CodingTest, LengthPrefixed) {
  std::string s;
  PutLengthPrefixed(&s, "hello");
  PutLengthPrefixed(&s, "");
  std::string_view in(s), a, b;
  ASSERT_TRUE(GetLengthPrefixed(&in, &a));
  ASSERT_TRUE(GetLengthPrefixed(&in, &b));
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(b, "");
  std::string bad;
  PutVarint64(&bad, 100);
  bad += "short";
  std::string_view bin(bad);
  EXPECT_FALSE(GetLengthPrefixed(&bin, &a));
}

TEST(ChecksumTest, DetectsSingleBitFlips) {
  Random rnd(1);
  std::string data = rnd.RandomString(4096);
  uint32_t base = Checksum32(data);
  for (size_t i = 0; i < data.size(); i += 97) {
    std::string copy = data;
    copy[i] ^= 1;
    EXPECT_NE(Checksum32(copy), base) << "flip at " << i;
  }
  EXPECT_EQ(Checksum32(data.substr(0, 100), data.substr(100)), base);
}

}  // namespace
}  // namespace ebb
