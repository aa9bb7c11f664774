#include "storage/index_fences.h"

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/coding.h"
#include "storage/format.h"

namespace ebb {
namespace {

int Cmp(std::string_view a, std::string_view b) { return CompareInternalKeys(a, b); }

// An index block as SegmentWriter builds one: restart interval 1, each
// entry the last internal key of a data block -> its encoded handle.
// Block i gets offset 1000 * i, so a handle names its entry.
std::string BuildIndex(const std::vector<std::string>& internal_keys) {
  BlockBuilder builder(1);
  for (size_t i = 0; i < internal_keys.size(); i++) {
    std::string handle;
    PutVarint64(&handle, 1000 * i);
    PutVarint64(&handle, 4096);
    builder.Add(internal_keys[i], handle);
  }
  return std::string(builder.Finish());
}

// An index block over `last_keys` and the fences built from it.
struct Indexed {
  std::string contents;  // the block borrows it: Indexed is never moved
  std::optional<Block> block;
  std::optional<IndexFences> fences;
};
std::unique_ptr<Indexed> Index(const std::vector<std::string>& last_keys) {
  auto ix = std::make_unique<Indexed>();
  ix->contents = BuildIndex(last_keys);
  auto block = Block::ParseBorrowed(ix->contents);
  EXPECT_TRUE(block.ok()) << block.status().ToString();
  if (block.ok()) {
    ix->block.emplace(std::move(*block));
    ix->fences = IndexFences::Build(*ix->block);
  }
  return ix;
}

std::vector<std::string> LastKeys(const std::set<std::string>& user_keys, size_t every) {
  std::vector<std::string> out;
  size_t i = 0;
  for (const std::string& k : user_keys) {
    if (++i % every == 0) out.push_back(MakeInternalKey(k, 7, ValueType::kValue));
  }
  return out;
}

// What Segment::Get did before fences: Seek the index block. -1 past the end.
int64_t Reference(const Block& index, std::string_view user_key) {
  Block::Cursor cursor(&index, Cmp);
  cursor.Seek(MakeInternalKey(user_key, kMaxSequenceNumber, kValueTypeForSeek));
  if (!cursor.Valid()) return -1;
  std::string_view enc = cursor.value();
  BlockHandle h;
  EXPECT_TRUE(DecodeBlockHandle(&enc, &h));
  return static_cast<int64_t>(h.offset);
}

struct Tally {
  int blocks = 0;
  int past_end = 0;
  int ambiguous = 0;
};

// Every probe: a kBlock or kPastEnd answer must be the index's own.
Tally CheckAgainstIndex(const Block& index, const IndexFences& fences, const std::vector<std::string>& probes) {
  Tally t;
  for (const std::string& probe : probes) {
    BlockHandle h;
    const int64_t want = Reference(index, probe);
    switch (fences.Find(probe, &h)) {
      case IndexFences::Outcome::kBlock:
        EXPECT_EQ(static_cast<int64_t>(h.offset), want) << "probe '" << probe << "'";
        t.blocks++;
        break;
      case IndexFences::Outcome::kPastEnd:
        EXPECT_EQ(want, -1) << "probe '" << probe << "'";
        t.past_end++;
        break;
      case IndexFences::Outcome::kAmbiguous:
        t.ambiguous++;
        break;
    }
  }
  return t;
}

std::string RandomKey(std::mt19937_64* rng, const std::string& prefix, size_t min_len, size_t max_len) {
  std::uniform_int_distribution<size_t> len(min_len, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string k = prefix;
  for (size_t n = len(*rng); k.size() < prefix.size() + n;) k.push_back(static_cast<char>(byte(*rng)));
  return k;
}

TEST(IndexFencesTest, AgreesWithTheIndexBlockForRedisStyleKeys) {
  // redis-benchmark's keys: a shared "key:000000" and six digits.
  std::set<std::string> keys;
  for (int i = 0; i < 200000; i += 3) keys.insert(fmt::format("key:{:012}", i));
  auto ix = Index(LastKeys(keys, 30));
  ASSERT_TRUE(ix->fences.has_value());
  const Block& index = *ix->block;
  const IndexFences& fences = *ix->fences;
  EXPECT_EQ(fences.blocks(), keys.size() / 30);
  EXPECT_LE(fences.memory_bytes(), fences.blocks() * 24 + 64) << "8 bytes of fence and 16 of handle per block";
  std::vector<std::string> probes;
  for (int i = -5; i < 200010; i++) probes.push_back(fmt::format("key:{:012}", i < 0 ? 0 : i));
  for (const char* odd : {"", "k", "key:", "key:0000000000", "kez", "a", "zzz", "key:9"}) probes.push_back(odd);
  const Tally t = CheckAgainstIndex(index, fences, probes);
  EXPECT_GT(t.blocks, 190000);
  EXPECT_GT(t.past_end, 0);
  // Only a probe equal to a block's last key ties.
  EXPECT_LE(t.ambiguous, static_cast<int>(keys.size() / 30) + 1);
}

TEST(IndexFencesTest, AgreesWithTheIndexBlockForBinaryKeysOfEveryLength) {
  std::mt19937_64 rng(42);
  for (const std::string& prefix : {std::string(), std::string("user:"), std::string(20, '\0'), std::string("\xff\xff")}) {
    std::set<std::string> keys;
    while (keys.size() < 20000) keys.insert(RandomKey(&rng, prefix, 0, 12));
    auto ix = Index(LastKeys(keys, 7));
    ASSERT_TRUE(ix->fences.has_value());
    const Block& index = *ix->block;
    const IndexFences& fences = *ix->fences;
    std::vector<std::string> probes(keys.begin(), keys.end());
    for (int i = 0; i < 20000; i++) probes.push_back(RandomKey(&rng, i % 2 ? prefix : std::string(), 0, 14));
    probes.push_back(prefix.substr(0, prefix.size() / 2));
    const Tally t = CheckAgainstIndex(index, fences, probes);
    EXPECT_GT(t.blocks, 20000) << "prefix of " << prefix.size() << " bytes";
    // Ties: the probes equal to a block's last key (1 in 7 of the keys), a few more.
    EXPECT_LT(t.ambiguous, 3500) << "prefix of " << prefix.size() << " bytes";
  }
}

TEST(IndexFencesTest, KeysAlikeInTheirFirstEightBytesAreAmbiguousNotWrong) {
  // Every key shares "tenant/" and then differs only after 8 more bytes.
  std::set<std::string> keys;
  for (int i = 0; i < 5000; i++) keys.insert(fmt::format("tenant/a/{}/session/{:06}", i % 3 ? "x" : "y", i));
  auto ix = Index(LastKeys(keys, 5));
  ASSERT_TRUE(ix->fences.has_value());
  const Block& index = *ix->block;
  const IndexFences& fences = *ix->fences;
  std::vector<std::string> probes(keys.begin(), keys.end());
  const Tally t = CheckAgainstIndex(index, fences, probes);
  EXPECT_GT(t.ambiguous, 0);
}

TEST(IndexFencesTest, OneUserKeyOverSeveralBlocks) {
  // Versions of "k" spread over three blocks: their fences tie.
  std::vector<std::string> last = {MakeInternalKey("a", 1, ValueType::kValue), MakeInternalKey("k", 30, ValueType::kValue),
                                   MakeInternalKey("k", 20, ValueType::kValue), MakeInternalKey("k", 10, ValueType::kValue),
                                   MakeInternalKey("z", 1, ValueType::kValue)};
  auto ix = Index(last);
  ASSERT_TRUE(ix->fences.has_value());
  const IndexFences& fences = *ix->fences;
  BlockHandle h;
  EXPECT_EQ(fences.Find("k", &h), IndexFences::Outcome::kAmbiguous);
  ASSERT_EQ(fences.Find("j", &h), IndexFences::Outcome::kBlock);
  EXPECT_EQ(h.offset, 1000u);
  ASSERT_EQ(fences.Find("m", &h), IndexFences::Outcome::kBlock);
  EXPECT_EQ(h.offset, 4000u);
  EXPECT_EQ(fences.Find("zz", &h), IndexFences::Outcome::kPastEnd);
}

TEST(IndexFencesTest, EmptyIndexFindsNothing) {
  auto ix = Index({});
  ASSERT_TRUE(ix->fences.has_value());
  BlockHandle h;
  EXPECT_EQ(ix->fences->Find("anything", &h), IndexFences::Outcome::kPastEnd);
}

TEST(IndexFencesTest, MalformedEntriesBuildNothing) {
  // A handle that is not two varints.
  BlockBuilder bad_handle(1);
  bad_handle.Add(MakeInternalKey("a", 1, ValueType::kValue), std::string("\xff", 1));
  const std::string c1(bad_handle.Finish());
  auto i1 = Block::ParseBorrowed(c1);
  ASSERT_TRUE(i1.ok());
  EXPECT_FALSE(IndexFences::Build(*i1).has_value());
  // A key too short to be an internal key.
  BlockBuilder short_key(1);
  short_key.Add("abc", "\x01\x02");
  const std::string c2(short_key.Finish());
  auto i2 = Block::ParseBorrowed(c2);
  ASSERT_TRUE(i2.ok());
  EXPECT_FALSE(IndexFences::Build(*i2).has_value());
}

}  // namespace
}  // namespace ebb
