#include "storage/record_log.h"

#include <gtest/gtest.h>

#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

constexpr uint64_t kMagic = 0x1234567890abcdefULL;

class RecordLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/d").ok()); }

  void Write(const std::string& path, const std::vector<std::string>& records) {
    auto file = fs_.NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    auto writer = RecordLogWriter::Create(std::move(*file), path, kMagic, 1);
    ASSERT_TRUE(writer.ok());
    for (const auto& r : records) ASSERT_TRUE((*writer)->AddRecord(7, r).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  // Reads all records; returns the status of the first failure.
  Status ReadAll(const std::string& path, bool last, std::vector<std::string>* out,
                 std::unique_ptr<RecordLogReader>* keep = nullptr) {
    auto reader = RecordLogReader::Open(&fs_, path, "test log", kMagic, 1, last);
    if (!reader.ok()) return reader.status();
    while (true) {
      uint8_t type;
      std::string_view payload;
      auto more = (*reader)->Next(&type, &payload);
      if (!more.ok()) return more.status();
      if (!*more) break;
      EXPECT_EQ(type, 7);
      out->emplace_back(payload);
    }
    if (keep) *keep = std::move(*reader);
    return Status::OK();
  }

  MemFileSystem fs_;
};

TEST_F(RecordLogTest, RoundTrip) {
  std::vector<std::string> records = {"a", "", std::string(100000, 'x'), "last"};
  Write("/d/log", records);
  std::vector<std::string> got;
  ASSERT_TRUE(ReadAll("/d/log", true, &got).ok());
  EXPECT_EQ(got, records);
}

TEST_F(RecordLogTest, TornTailAtEveryCutIsToleratedInLastFile) {
  Write("/d/log", {"first record", "second record", "third"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  size_t third_start = full.size() - kRecordHeaderBytes - 5;
  for (size_t cut = third_start; cut < full.size(); cut++) {
    ASSERT_TRUE(WriteStringToFile(&fs_, full.substr(0, cut), "/d/log", false).ok());
    std::vector<std::string> got;
    std::unique_ptr<RecordLogReader> reader;
    Status s = ReadAll("/d/log", true, &got, &reader);
    ASSERT_TRUE(s.ok()) << "cut " << cut << ": " << s.ToString();
    EXPECT_EQ(got, (std::vector<std::string>{"first record", "second record"})) << "cut " << cut;
    EXPECT_EQ(reader->valid_end(), third_start);
    EXPECT_EQ(reader->torn_tail_bytes(), cut - third_start);
  }
}

TEST_F(RecordLogTest, DamageFollowedByIntactRecordsIsCorruption) {
  Write("/d/log", {"first record", "second record", "third record"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  size_t second_payload = kRecordLogHeaderBytes + kRecordHeaderBytes + 12 + kRecordHeaderBytes + 3;
  full[second_payload] ^= 0x40;
  ASSERT_TRUE(WriteStringToFile(&fs_, full, "/d/log", false).ok());
  std::vector<std::string> got;
  Status s = ReadAll("/d/log", true, &got);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("/d/log offset 41"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.ToString();
  EXPECT_EQ(got, std::vector<std::string>{"first record"});
}

TEST_F(RecordLogTest, DamageInOlderFileIsCorruptionEvenAtTheTail) {
  Write("/d/log", {"first record", "second"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  ASSERT_TRUE(WriteStringToFile(&fs_, full.substr(0, full.size() - 2), "/d/log", false).ok());
  std::vector<std::string> got;
  Status s = ReadAll("/d/log", /*last=*/false, &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(RecordLogTest, CorruptLengthDoesNotSwallowTheRest) {
  Write("/d/log", {"first record", "second record", "third record"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  // Flip a bit of the first record's length: its header checksum catches it.
  full[kRecordLogHeaderBytes + 4] ^= 0x01;
  ASSERT_TRUE(WriteStringToFile(&fs_, full, "/d/log", false).ok());
  std::vector<std::string> got;
  Status s = ReadAll("/d/log", true, &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("header checksum"), std::string::npos) << s.ToString();
}

// What a mapped log left open by a crash looks like: its records, then zeros
// up to the end of the reserved chunk.
std::string WithReservedZeros(std::string log) {
  log.resize((log.size() / kMappedLogChunkBytes + 1) * kMappedLogChunkBytes, '\0');
  return log;
}

TEST_F(RecordLogTest, ReservedZerosOfAMappedLogEndTheNewestFileOnly) {
  Write("/d/log", {"first record", "second"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  ASSERT_TRUE(WriteStringToFile(&fs_, WithReservedZeros(full), "/d/log", false).ok());
  std::vector<std::string> got;
  std::unique_ptr<RecordLogReader> reader;
  Status s = ReadAll("/d/log", /*last=*/true, &got, &reader);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, (std::vector<std::string>{"first record", "second"}));
  EXPECT_EQ(reader->valid_end(), full.size());
  EXPECT_EQ(reader->zero_tail_bytes(), kMappedLogChunkBytes - full.size());
  EXPECT_EQ(reader->torn_tail_bytes(), 0u);
  // An older file was finished (trimmed and synced) before the next one
  // started: zeros at its end are damage.
  got.clear();
  s = ReadAll("/d/log", /*last=*/false, &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  // A newest file of nothing but zeros (the header never reached the disk,
  // only reserved space did, whole or in part) is an empty log.
  for (size_t size : {kMappedLogChunkBytes, static_cast<uint64_t>(300 * 1024), static_cast<uint64_t>(16)}) {
    ASSERT_TRUE(WriteStringToFile(&fs_, std::string(size, '\0'), "/d/log", false).ok());
    got.clear();
    ASSERT_TRUE(ReadAll("/d/log", true, &got, &reader).ok()) << size;
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(reader->valid_end(), 0u);
    EXPECT_EQ(reader->zero_tail_bytes(), size);
    EXPECT_TRUE(ReadAll("/d/log", false, &got).IsCorruption()) << size;
  }
}

TEST_F(RecordLogTest, ZerosThatAreNotAReservationAreStillDamage) {
  Write("/d/log", {"first record", "second"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  // Zeros that do not reach a chunk multiple: an ordinary torn tail in the
  // newest file, Corruption in an older one.
  ASSERT_TRUE(WriteStringToFile(&fs_, full + std::string(100, '\0'), "/d/log", false).ok());
  std::vector<std::string> got;
  std::unique_ptr<RecordLogReader> reader;
  ASSERT_TRUE(ReadAll("/d/log", true, &got, &reader).ok());
  EXPECT_EQ(reader->torn_tail_bytes(), 100u);
  EXPECT_EQ(reader->zero_tail_bytes(), 0u);
  got.clear();
  EXPECT_TRUE(ReadAll("/d/log", false, &got).IsCorruption());
  // Zeros in the middle of the reservation with a record after them.
  std::string log = WithReservedZeros(full);
  std::string framed;
  RecordLogWriter::EncodeRecord(&framed, 7, "after the zeros");
  log.replace(full.size() + 1000, framed.size(), framed);
  ASSERT_TRUE(WriteStringToFile(&fs_, log, "/d/log", false).ok());
  got.clear();
  Status s = ReadAll("/d/log", true, &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("intact data follows"), std::string::npos) << s.ToString();
}

TEST_F(RecordLogTest, WrongMagicAndVersion) {
  Write("/d/log", {"x"});
  auto r = RecordLogReader::Open(&fs_, "/d/log", "manifest", kMagic + 1, 1, true);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("not a manifest"), std::string::npos);
  r = RecordLogReader::Open(&fs_, "/d/log", "manifest", kMagic, 2, true);
  EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
}

}  // namespace
}  // namespace ebb
