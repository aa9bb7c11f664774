#include "server/scan_cursors.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(ScanCursorsTest, FindLeavesTheCursorUntilConsumed) {
  ScanCursors cursors(42);
  uint64_t c = cursors.Issue("db", "next");
  ASSERT_NE(c, 0u);
  // Looking a cursor up (a SCAN that then gets -BUSY) does not use it up.
  EXPECT_EQ(cursors.Find(c, "db"), "next");
  EXPECT_EQ(cursors.Find(c, "db"), "next");
  EXPECT_EQ(cursors.Find(c, "other"), std::nullopt);
  EXPECT_EQ(cursors.size(), 1u);
  cursors.Consume(c);
  EXPECT_EQ(cursors.Find(c, "db"), std::nullopt);
  cursors.Consume(c);  // idempotent
  EXPECT_EQ(cursors.size(), 0u);
}

TEST(ScanCursorsTest, BoundedByCountOldestForgottenFirst) {
  ScanCursors cursors(7);
  uint64_t first = cursors.Issue("db", "a");
  for (size_t i = 0; i < ScanCursors::kMaxCursors; i++) cursors.Issue("db", "b");
  EXPECT_EQ(cursors.size(), ScanCursors::kMaxCursors);
  EXPECT_EQ(cursors.Find(first, "db"), std::nullopt);
}

}  // namespace
}  // namespace ebb
