#include "storage/manifest.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "env/mem_file_system.h"

namespace ebb {
namespace {

// A checkpoint rewrites the whole state: it is due when the edits appended
// since the last one pass the threshold, however large the state itself.
TEST(ManifestTest, CheckpointsCountTheEditsSinceTheLastOneNotTheStateSize) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/m").ok());
  Manifest::Options options;
  options.checkpoint_bytes = 4096;
  auto m = Manifest::Open(&fs, "/m", /*create_if_missing=*/true, options);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ManifestEdit create;
  create.CreateDatabase(1, "db");
  ASSERT_TRUE((*m)->Apply(create).ok());
  // A state larger than the threshold.
  for (uint64_t n = 10; n < 210; n++) {
    ManifestEdit e;
    SegmentMeta s;
    s.db_id = 1;
    s.number = n;
    s.smallest_key = fmt::format("{:040}", n);
    s.largest_key = fmt::format("{:040}", n + 1);
    e.AddSegment(s);
    ASSERT_TRUE((*m)->Apply(e).ok());
  }
  uint64_t before = (*m)->current_file_number();
  ASSERT_GT((*m)->file_bytes(), options.checkpoint_bytes);
  int checkpoints = 0;
  for (int i = 0; i < 100; i++) {
    ManifestEdit e;
    e.SetFlushed(1, 5, static_cast<SequenceNumber>(i + 1));
    ASSERT_TRUE((*m)->Apply(e).ok());
    uint64_t now = (*m)->current_file_number();
    if (now != before) checkpoints++;
    before = now;
  }
  // 100 edits of ~30 bytes are ~3 KiB: at most one checkpoint, not 100.
  EXPECT_LE(checkpoints, 1) << "checkpoints: " << checkpoints;
  EXPECT_LE((*m)->bytes_since_checkpoint(), 2 * options.checkpoint_bytes);
}

}  // namespace
}  // namespace ebb
