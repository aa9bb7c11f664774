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

  // Writes `records`; with `sync_after`, syncs after that many (so later
  // records claim the file durable up to there).
  void Write(const std::string& path, const std::vector<std::string>& records, uint32_t version = 1,
             size_t sync_after = SIZE_MAX) {
    auto file = fs_.NewWritableFile(path);
    ASSERT_TRUE(file.ok());
    auto writer = RecordLogWriter::Create(std::move(*file), path, kMagic, version);
    ASSERT_TRUE(writer.ok());
    for (size_t i = 0; i < records.size(); i++) {
      if (i == sync_after) ASSERT_TRUE((*writer)->Sync().ok());
      ASSERT_TRUE((*writer)->AddRecord(7, records[i]).ok());
    }
    ASSERT_TRUE((*writer)->Close().ok());
  }

  // Reads all records; returns the status of the first failure.
  Status ReadAll(const std::string& path, bool last, std::vector<std::string>* out,
                 std::unique_ptr<RecordLogReader>* keep = nullptr, uint32_t version = 1) {
    auto reader = RecordLogReader::Open(&fs_, path, "test log", kMagic, version, last);
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
  size_t start = framed.size();
  framed.append(kRecordHeaderBytes, '\0');
  framed.append("after the zeros");
  RecordLogWriter::FinishRecord(&framed, start, 7);
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
  EXPECT_TRUE(RecordLogReader::Open(&fs_, "/d/log", "manifest", kMagic, 2, true).ok()) << "older versions are read";
  Write("/d/log", {"x"}, /*version=*/3);
  r = RecordLogReader::Open(&fs_, "/d/log", "manifest", kMagic, 2, true);
  EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("a newer Ebb wrote it"), std::string::npos) << r.status().ToString();
}

// A power loss can leave a hole (pages that never reached the disk) in the
// newest file, followed by records written after it whose pages did. If no
// record says the hole was synced, recovery stops at the hole and reports
// what it dropped; if one does, it is damage to synced data.
TEST_F(RecordLogTest, HoleAfterTheLastSyncIsAPowerLossHoleBeforeItIsCorruption) {
  const std::vector<std::string> records = {"first record", "second record", "third record", "fourth record"};
  // Synced after the first record: later records claim the file durable up
  // to the end of the first.
  Write("/d/log", records, /*version=*/2, /*sync_after=*/1);
  const std::string full = *ReadFileToString(&fs_, "/d/log");
  std::vector<std::string> got;
  ASSERT_TRUE(ReadAll("/d/log", true, &got, nullptr, 2).ok());
  ASSERT_EQ(got, records);
  const size_t claim_bytes = 1;  // one varint byte per payload here
  const size_t second = kRecordLogHeaderBytes + kRecordHeaderBytes + claim_bytes + records[0].size();
  const size_t third = second + kRecordHeaderBytes + claim_bytes + records[1].size();

  // The second record zeroed (its page lost): a hole after the synced offset.
  std::string holed = full;
  std::fill(holed.begin() + static_cast<std::ptrdiff_t>(second), holed.begin() + static_cast<std::ptrdiff_t>(third),
            '\0');
  ASSERT_TRUE(WriteStringToFile(&fs_, holed, "/d/log", false).ok());
  got.clear();
  std::unique_ptr<RecordLogReader> reader;
  Status s = ReadAll("/d/log", true, &got, &reader, 2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, std::vector<std::string>{"first record"});
  EXPECT_EQ(reader->torn_tail_offset(), second);
  EXPECT_EQ(reader->records_after_hole(), 2u) << "the third and fourth records were intact but after the hole";
  EXPECT_EQ(reader->valid_end(), second);
  // In an older file, or in a version 1 file (no claims), it is Corruption.
  got.clear();
  EXPECT_TRUE(ReadAll("/d/log", false, &got, nullptr, 2).IsCorruption());

  // Damage inside the first record, which the later records say was synced.
  std::string damaged = full;
  damaged[kRecordLogHeaderBytes + kRecordHeaderBytes + 3] ^= 0x10;
  ASSERT_TRUE(WriteStringToFile(&fs_, damaged, "/d/log", false).ok());
  got.clear();
  s = ReadAll("/d/log", true, &got, nullptr, 2);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("synced up to offset"), std::string::npos) << s.ToString();
}

TEST_F(RecordLogTest, VersionOneHoleStaysCorruption) {
  Write("/d/log", {"first record", "second record", "third record"});
  std::string full = *ReadFileToString(&fs_, "/d/log");
  full[kRecordLogHeaderBytes + kRecordHeaderBytes + 12 + 2] = 0;  // second record's header
  full[kRecordLogHeaderBytes + kRecordHeaderBytes + 12 + 3] = 0;
  ASSERT_TRUE(WriteStringToFile(&fs_, full, "/d/log", false).ok());
  std::vector<std::string> got;
  EXPECT_TRUE(ReadAll("/d/log", true, &got).IsCorruption());
}

}  // namespace
}  // namespace ebb
