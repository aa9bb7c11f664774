#include "server/glob_match.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(GlobMatchTest, RedisPatterns) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("user:*", "user:42"));
  EXPECT_FALSE(GlobMatch("user:*", "users:42"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-c]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("*.sync", "journal.sync"));
  EXPECT_TRUE(GlobMatch("JOURNAL.*", "journal.sync", /*nocase=*/true));
  EXPECT_FALSE(GlobMatch("JOURNAL.*", "journal.sync"));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-b-c"));
  EXPECT_FALSE(GlobMatch("a*b*c", "a-b-b-d"));
  EXPECT_TRUE(GlobMatch("[", "["));
}

TEST(GlobMatchTest, PathologicalPatternsStayLinear) {
  // A naive recursive matcher takes exponential time on this.
  std::string text(5000, 'a');
  EXPECT_FALSE(GlobMatch("a*a*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(GlobMatchTest, LiteralPrefix) {
  EXPECT_EQ(GlobLiteralPrefix("user:*"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("a\\*b?"), "a*b");
  EXPECT_EQ(GlobLiteralPrefix("*x"), "");
  EXPECT_EQ(GlobLiteralPrefix("ab[cd]"), "ab");
}

}  // namespace
}  // namespace ebb
