#include "storage/segment.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "base/random.h"
#include "base/test_util.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"
#include "storage/memtable.h"

namespace ebb {
namespace {

std::string Key(int i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "key%08d", i);
  return buf;
}

class SegmentTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.CreateDir("/d").ok()); }

  // Writes keys 0, 2, 4, ... (2n-2) with two versions each; odd multiples of
  // 10 get a tombstone as newest version.
  std::shared_ptr<Segment> Build(int n) {
    auto file = fs_.NewWritableFile("/d/000001.seg");
    EXPECT_TRUE(file.ok());
    SegmentOptions opts;
    opts.zstd = GetParam();
    SegmentWriter w(std::move(*file), "/d/000001.seg", opts, 9, 12345);
    for (int i = 0; i < n; i++) {
      std::string k = Key(2 * i);
      if (i % 10 == 5) {
        EXPECT_TRUE(w.Add(MakeInternalKey(k, 10000 + i, ValueType::kDeletion), "").ok());
      }
      EXPECT_TRUE(w.Add(MakeInternalKey(k, 100 + i, ValueType::kValue), "value-" + k + std::string(i % 50, 'v')).ok());
    }
    auto props = w.Finish();
    EXPECT_TRUE(props.ok());
    EXPECT_EQ(props->db_id, 9u);
    auto seg = Segment::Open(&fs_, "/d/000001.seg", 1);
    EXPECT_TRUE(seg.ok()) << seg.status().ToString();
    return *seg;
  }

  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
};

TEST_P(SegmentTest, GetFindsNewestVisibleVersion) {
  auto seg = Build(2000);
  std::string value;
  ValueType type;
  for (int i = 0; i < 2000; i++) {
    std::string k = Key(2 * i);
    auto found = seg->Get(k, kMaxSequenceNumber, &value, &type);
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(*found) << k;
    if (i % 10 == 5) {
      EXPECT_EQ(type, ValueType::kDeletion) << k;
      // Before the tombstone existed the value is visible.
      ASSERT_TRUE(*seg->Get(k, 9999, &value, &type));
      EXPECT_EQ(type, ValueType::kValue);
    } else {
      EXPECT_EQ(type, ValueType::kValue);
      EXPECT_EQ(value, "value-" + k + std::string(i % 50, 'v'));
    }
    // Before the first version: nothing.
    EXPECT_FALSE(*seg->Get(k, 99, &value, &type));
    // Absent keys.
    EXPECT_FALSE(*seg->Get(Key(2 * i + 1), kMaxSequenceNumber, &value, &type));
  }
  EXPECT_EQ(seg->properties().entries, 2000u + 200u);
  EXPECT_EQ(seg->properties().tombstones, 200u);
  EXPECT_EQ(seg->properties().smallest_key, Key(0));
  EXPECT_EQ(seg->properties().largest_key, Key(3998));
  EXPECT_GT(seg->properties().data_blocks, 10u);
  EXPECT_TRUE(seg->VerifyChecksums().ok());
}

TEST_P(SegmentTest, IteratorWalksAndSeeks) {
  auto seg = Build(500);
  auto it = seg->NewIterator();
  int n = 0;
  std::string prev;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!prev.empty()) {
      EXPECT_LT(CompareInternalKeys(prev, it->key()), 0);
    }
    prev.assign(it->key());
    n++;
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(n, 550);
  it->Seek(MakeInternalKey(Key(101), kMaxSequenceNumber, kValueTypeForSeek));
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(ExtractUserKey(it->key()), Key(102));
  it->Seek(MakeInternalKey(Key(99999), kMaxSequenceNumber, kValueTypeForSeek));
  EXPECT_FALSE(it->Valid());
}

TEST_P(SegmentTest, BloomFilterRejectsMostAbsentKeys) {
  auto seg = Build(5000);
  int false_positives = 0;
  for (int i = 0; i < 10000; i++) false_positives += seg->MayContain("absent" + std::to_string(i));
  EXPECT_LT(false_positives, 300);  // ~1% expected at 10 bits/key
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(seg->MayContain(Key(2 * i)));
}

TEST_P(SegmentTest, FlippedByteInDataBlockIsReportedNotReturned) {
  auto seg = Build(2000);
  seg.reset();
  ASSERT_TRUE(fs_.CorruptBytes("/d/000001.seg", 5000, 1).ok());
  auto reopened = Segment::Open(&fs_, "/d/000001.seg", 1);
  ASSERT_TRUE(reopened.ok());
  int errors = 0;
  std::string value;
  ValueType type;
  for (int i = 0; i < 2000; i++) {
    auto r = (*reopened)->Get(Key(2 * i), kMaxSequenceNumber, &value, &type);
    if (!r.ok()) {
      errors++;
      EXPECT_TRUE(r.status().IsCorruption());
      EXPECT_NE(r.status().message().find("000001.seg data block at offset"), std::string::npos)
          << r.status().ToString();
      EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos);
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_TRUE((*reopened)->VerifyChecksums().IsCorruption());
}

TEST_P(SegmentTest, DamagedFooterFailsOpen) {
  auto seg = Build(100);
  uint64_t size = seg->file_size();
  seg.reset();
  ASSERT_TRUE(fs_.CorruptBytes("/d/000001.seg", size - 20, 1).ok());
  auto reopened = Segment::Open(&fs_, "/d/000001.seg", 1);
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(reopened.status().IsCorruption());
  EXPECT_NE(reopened.status().message().find("footer checksum mismatch"), std::string::npos)
      << reopened.status().ToString();
}

// Segments on the POSIX file system, read through a memory mapping: keys
// 0..2999, uncompressed, written in SetUp.
class MappedSegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto file = fs->NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    SegmentWriter w(std::move(*file), path, SegmentOptions(), 9, 12345);
    for (int i = 0; i < 3000; i++) {
      ASSERT_TRUE(w.Add(MakeInternalKey(Key(i), 100 + i, ValueType::kValue), "value-" + Key(i)).ok());
    }
    ASSERT_TRUE(w.Finish().ok());
  }

  ebb::testing::TempDir dir;
  FileSystem* const fs = DefaultFileSystem();
  const std::string path = dir.Sub("000001.seg");
};

// From a memory-mapped file, a data block's checksum is checked on its
// first read only (Segment::ReadDataBlock): a block that fails must fail on
// every read, and verified blocks keep returning the right values.
TEST_F(MappedSegmentTest, DamagedBlockFailsEveryReadAndVerifiedBlocksStayRight) {
  {
    // One flipped byte early in the file: inside the first data block.
    auto read = ReadFileToString(fs, path);
    ASSERT_TRUE(read.ok());
    std::string bytes = *read;
    bytes[100] = static_cast<char>(bytes[100] ^ 0x20);
    ASSERT_TRUE(WriteStringToFile(fs, bytes, path, /*sync=*/false).ok());
  }
  auto seg = Segment::Open(fs, path, 1);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  std::string value;
  ValueType type;
  for (int round = 0; round < 3; round++) {
    int damaged = 0;
    for (int i = 0; i < 3000; i++) {
      auto r = (*seg)->Get(Key(i), kMaxSequenceNumber, &value, &type);
      if (!r.ok()) {
        ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
        damaged++;
        continue;
      }
      ASSERT_TRUE(*r) << Key(i);
      ASSERT_EQ(value, "value-" + Key(i));
    }
    EXPECT_GT(damaged, 0) << "round " << round << ": the damaged block must be reported on every read";
    EXPECT_LT(damaged, 3000);
  }
}

// A whole-file check verifies every block again, whatever reads marked.
TEST_F(MappedSegmentTest, VerifyChecksumsRereadsBlocksThatReadsMarkedVerified) {
  auto seg = Segment::Open(fs, path, 1);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  std::string value;
  ValueType type;
  for (int i = 0; i < 3000; i++) ASSERT_TRUE((*seg)->Get(Key(i), kMaxSequenceNumber, &value, &type).ok());
  ASSERT_TRUE((*seg)->VerifyChecksums().ok());
  {
    // Damaged in place under the open mapping (bit rot after the reads).
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(100);
    char c = 0;
    f.get(c);
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x20));
  }
  Status s = (*seg)->VerifyChecksums();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.ToString();
}

INSTANTIATE_TEST_SUITE_P(Compression, SegmentTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "zstd" : "none"; });

TEST(MemTableTest, ConcurrentInsertsAreAllVisibleInOrder) {
  MemTable mem(1);
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        SequenceNumber seq = static_cast<SequenceNumber>(t) * kPerThread + i + 1;
        mem.Add(seq, ValueType::kValue, Key(i), std::to_string(seq));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mem.entries(), static_cast<uint64_t>(kThreads * kPerThread));
  auto it = mem.NewIterator();
  int n = 0;
  std::string prev;
  for (it->SeekToFirst(); it->Valid(); it->Next(), n++) {
    if (!prev.empty()) {
      ASSERT_LT(CompareInternalKeys(prev, it->key()), 0);
    }
    prev.assign(it->key());
  }
  EXPECT_EQ(n, kThreads * kPerThread);
  std::string value;
  ValueType type;
  // Newest version of key 7 is from the last thread.
  ASSERT_TRUE(mem.Get(Key(7), kMaxSequenceNumber, &value, &type));
  EXPECT_EQ(value, std::to_string(3 * kPerThread + 8));
  ASSERT_TRUE(mem.Get(Key(7), 8, &value, &type));
  EXPECT_EQ(value, "8");
  EXPECT_FALSE(mem.Get(Key(7), 7, &value, &type));
}

}  // namespace
}  // namespace ebb
