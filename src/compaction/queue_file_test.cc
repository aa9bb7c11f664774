// The persisted queue format: round trip and every way a file can be bad.

#include "compaction/queue_file.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/checksum.h"
#include "base/coding.h"

namespace ebb {
namespace {

std::vector<PersistedItem> Sample() {
  return {{"running_db", std::numeric_limits<double>::infinity(), 5 << 20, 1 << 20},
          {"db/with-slash", 10.0, 5 << 20, 512 << 10},
          {"ünïcödé", 2.0625, 3 << 20, 1 << 20}};
}

TEST(QueueFileTest, RoundTrip) {
  std::string data = EncodeQueueFile(Sample());
  auto items = DecodeQueueFile(data, "ratio_dbs.smooshq");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].database, "running_db");
  EXPECT_TRUE(std::isinf((*items)[0].priority));
  EXPECT_EQ((*items)[1].database, "db/with-slash");
  EXPECT_EQ((*items)[1].priority, 10.0);
  EXPECT_EQ((*items)[1].disk_bytes, 5u << 20);
  EXPECT_EQ((*items)[1].live_bytes, 512u << 10);
  EXPECT_EQ((*items)[2].database, "ünïcödé");
  EXPECT_EQ((*items)[2].priority, 2.0625);
  auto empty = DecodeQueueFile(EncodeQueueFile({}), "x.smooshq");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(QueueFileTest, EveryFlippedByteIsDetected) {
  std::string good = EncodeQueueFile(Sample());
  for (size_t i = 0; i < good.size(); i++) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    auto items = DecodeQueueFile(bad, "slack_dbs.smooshq");
    ASSERT_FALSE(items.ok()) << "flip at byte " << i;
    EXPECT_TRUE(items.status().IsCorruption()) << items.status().ToString();
    EXPECT_NE(items.status().message().find("slack_dbs.smooshq"), std::string::npos);
  }
}

TEST(QueueFileTest, TruncatedGarbageAndEmptyAreCorrupt) {
  std::string good = EncodeQueueFile(Sample());
  for (size_t n : {size_t{0}, size_t{3}, size_t{15}, good.size() - 1}) {
    auto items = DecodeQueueFile(good.substr(0, n), "q.smooshq");
    EXPECT_TRUE(items.status().IsCorruption()) << n << ": " << items.status().ToString();
  }
  EXPECT_TRUE(DecodeQueueFile("garbage", "q.smooshq").status().IsCorruption());
}

TEST(QueueFileTest, UnknownVersionIsNotSupported) {
  std::string data;
  PutFixed32(&data, kQueueFileMagic);
  PutFixed32(&data, 99);
  PutFixed32(&data, 0);
  PutFixed32(&data, Checksum32(data));
  auto items = DecodeQueueFile(data, "q.smooshq");
  EXPECT_TRUE(items.status().IsNotSupported()) << items.status().ToString();
  EXPECT_NE(items.status().message().find("version 99"), std::string::npos);
}

TEST(QueueFileTest, DatabaseNames) {
  EXPECT_TRUE(ValidateQueuedName("users/alice").ok());
  EXPECT_TRUE(ValidateQueuedName("").IsInvalidArgument());
  EXPECT_TRUE(ValidateQueuedName(std::string(kMaxQueuedNameBytes + 1, 'a')).IsInvalidArgument());
  Status s = ValidateQueuedName(std::string("a\0b", 3));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("control character"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ebb
