#include "tiering/archive.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <sys/stat.h>

#include "base/coding.h"
#include "base/test_util.h"
#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestKey;
using testing::TestMeta;
using testing::TestRing;

class ArchiveTest : public ::testing::Test {
 protected:
  // Writes an archive with `n` segments (+ tombstones) to `fs_` at path_.
  ArchiveToc Write(int n, std::vector<DatabaseTombstone> tombstones = {}) {
    auto writer = ArchiveWriter::Create(fs_, path_, name_, key_, &clock_, {.zstd_level = 3, .epoch = 7});
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    for (int i = 1; i <= n; i++) {
      Status s = (*writer)->AddSegment(TestMeta(i), SegmentContents(i, 5000 + i * 1000));
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    for (const auto& t : tombstones) EXPECT_TRUE((*writer)->AddTombstone(t).ok());
    auto toc = (*writer)->Finish();
    EXPECT_TRUE(toc.ok()) << toc.status().ToString();
    return *toc;
  }
  void Upload() {
    auto data = ReadFileToString(fs_, path_);
    ASSERT_TRUE(data.ok());
    ASSERT_TRUE(store_.Put(ArchiveObjectKey(name_), *data).ok());
    size_ = data->size();
  }

  testing::TempDir tmp_;
  FileSystem* fs_ = DefaultFileSystem();
  std::string path_ = tmp_.Sub("a.tar");
  ManualClock clock_;
  std::string name_ = NewArchiveName(&clock_);
  std::unique_ptr<KeyRing> ring_ = TestRing();
  const ArchiveKey* key_ = ring_->current();
  MemObjectStore store_;
  uint64_t size_ = 0;
};

TEST_F(ArchiveTest, RoundTripTocAndRangedMemberRead) {
  ArchiveToc toc = Write(3);
  ASSERT_EQ(toc.members.size(), 3u);
  EXPECT_EQ(toc.epoch, 7u);
  Upload();
  int reads = 0;
  auto read = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_, &reads);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, toc);
  EXPECT_EQ(reads, 1) << "a small archive's footer and TOC come with one tail read";

  uint64_t before = store_.bytes_read();
  auto member = ReadMember(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), name_, toc.members[1], *key_);
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  EXPECT_TRUE(*member == SegmentContents(2, 7000));
  EXPECT_EQ(store_.bytes_read() - before, toc.members[1].payload_length) << "only that member is fetched";
  EXPECT_LT(toc.members[1].payload_length, 7000u) << "members are compressed";
}

TEST_F(ArchiveTest, TarListsMembers) {
  Write(2, {{"gone", 42}});
  if (std::system("tar --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no tar binary";
  std::string cmd = fmt::format("tar tvf {} 2>/dev/null", path_);
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  for (const char* m : {"segments/000001.seg.zst.enc", "segments/000002.seg.zst.enc", "tombstones/0000.tomb",
                        "ebb-toc.enc", "ebb-footer"}) {
    EXPECT_NE(out.find(m), std::string::npos) << m << " missing from:\n" << out;
  }
}

TEST_F(ArchiveTest, BigTocNeedsASecondRead) {
  auto writer = ArchiveWriter::Create(fs_, path_, name_, key_, &clock_, {});
  ASSERT_TRUE(writer.ok());
  // Long keys make the TOC bigger than the 64 KiB tail read.
  for (int i = 1; i <= 40; i++) {
    TieredSegmentMeta m = TestMeta(i);
    m.smallest_key = std::string(2000, 'a') + std::to_string(i);
    m.largest_key = std::string(2000, 'z') + std::to_string(i);
    ASSERT_TRUE((*writer)->AddSegment(m, SegmentContents(i, 100)).ok());
  }
  auto toc = (*writer)->Finish();
  ASSERT_TRUE(toc.ok());
  Upload();
  int reads = 0;
  auto read = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_, &reads);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, *toc);
  EXPECT_EQ(reads, 2);
}

TEST_F(ArchiveTest, WrongKeyIsAClearErrorBeforeDecryption) {
  Write(1);
  Upload();
  auto other = TestRing('x');
  auto read = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *other);
  ASSERT_TRUE(read.status().IsPermissionDenied()) << read.status().ToString();
  std::string expected = fmt::format("archive {} was written with key id {}, and this store has no such key (key file "
                                     "{} (key id {}))",
                                     name_, key_->key_id_hex(), other->current()->source(),
                                     other->current()->key_id_hex());
  EXPECT_NE(read.status().message().find(expected), std::string::npos) << read.status().ToString();
  auto scan = ScanArchive(*store_.Get(ArchiveObjectKey(name_)), name_, *other);
  EXPECT_TRUE(scan.status().IsPermissionDenied()) << scan.status().ToString();
  auto id = ReadArchiveKeyId(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, key_->key_id()) << "the footer says which key, without any key";
}

TEST_F(ArchiveTest, CatalogRoundTripsInTheToc) {
  auto writer = ArchiveWriter::Create(fs_, path_, name_, key_, &clock_, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddSegment(TestMeta(1), SegmentContents(1, 3000)).ok());
  StoreCatalog catalog;
  catalog.wall_micros = 1234;
  catalog.next_file_number = 99;
  catalog.next_db_id = 7;
  CatalogDatabase db{.id = 3, .name = "users", .sequence = 199, .segments = {}};
  CatalogSegment seg;
  seg.meta = TestMeta(1, "users#3");
  seg.checksum = 0xabcdef;
  seg.file_size = 3000;
  seg.entries = 10;
  seg.archive = name_;
  db.segments.push_back(seg);
  catalog.databases.push_back(db);
  catalog.databases.push_back(CatalogDatabase{.id = 4, .name = "empty", .sequence = 0, .segments = {}});
  (*writer)->SetCatalog(catalog);
  auto toc = (*writer)->Finish();
  ASSERT_TRUE(toc.ok());
  Upload();
  auto read = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->catalog.has_value());
  EXPECT_EQ(*read->catalog, catalog);
}

TEST_F(ArchiveTest, VersionOneArchivesStayReadable) {
  auto writer = ArchiveWriter::Create(fs_, path_, name_, key_, &clock_, {.zstd_level = 3, .epoch = 1, .format_version = 1});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddSegment(TestMeta(1), SegmentContents(1, 3000)).ok());
  (*writer)->SetCatalog(StoreCatalog{});
  auto toc = (*writer)->Finish();
  ASSERT_TRUE(toc.ok());
  EXPECT_FALSE(toc->catalog.has_value()) << "version 1 has no catalog";
  Upload();
  auto read = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, *toc);
  auto member = ReadMember(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), name_, read->members[0], *key_);
  ASSERT_TRUE(member.ok());
  EXPECT_TRUE(*member == SegmentContents(1, 3000));
}

TEST_F(ArchiveTest, DamagedTocFallsBackToHeaderScan) {
  ArchiveToc toc = Write(4, {{"dropped", 500}});
  Upload();
  // Flip bytes inside the sealed TOC, whose offset the footer holds.
  std::string data = *store_.Get(ArchiveObjectKey(name_));
  size_t footer = data.rfind("EBBFOOT1");
  ASSERT_NE(footer, std::string::npos);
  uint64_t toc_offset = DecodeFixed64(data.data() + footer + 16);
  ASSERT_TRUE(store_.CorruptObject(ArchiveObjectKey(name_), toc_offset + 30, 3).ok());
  auto damaged = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_);
  ASSERT_TRUE(damaged.status().IsCorruption()) << damaged.status().ToString();
  std::vector<std::string> skipped;
  auto scanned = ScanArchive(*store_.Get(ArchiveObjectKey(name_)), name_, *ring_, &skipped);
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  EXPECT_EQ(scanned->members, toc.members) << "offsets, lengths and checksums come back from the headers";
  EXPECT_EQ(scanned->tombstones, toc.tombstones);

  // A damaged footer takes the same path.
  ASSERT_TRUE(store_.Put(ArchiveObjectKey(name_), data).ok());
  ASSERT_TRUE(store_.CorruptObject(ArchiveObjectKey(name_), footer + 20, 1).ok());
  damaged = ReadArchiveToc(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), size_, name_, *ring_);
  ASSERT_TRUE(damaged.status().IsCorruption()) << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find("footer"), std::string::npos) << damaged.status().ToString();
  scanned = ScanArchive(*store_.Get(ArchiveObjectKey(name_)), name_, *ring_, &skipped);
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  EXPECT_EQ(scanned->members, toc.members);
}

TEST_F(ArchiveTest, CorruptedMemberIsDetected) {
  ArchiveToc toc = Write(2);
  Upload();
  const MemberEntry& m = toc.members[0];
  ASSERT_TRUE(store_.CorruptObject(ArchiveObjectKey(name_), m.payload_offset + m.payload_length / 2, 1).ok());
  auto member = ReadMember(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), name_, m, *key_);
  ASSERT_TRUE(member.status().IsCorruption());
  EXPECT_NE(member.status().message().find(name_), std::string::npos);
  EXPECT_NE(member.status().message().find(m.member), std::string::npos);
  EXPECT_NE(member.status().message().find("checksum mismatch"), std::string::npos) << member.status().ToString();
  // The other member is intact.
  EXPECT_TRUE(ReadMember(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), name_, toc.members[1], *key_).ok());
}

TEST_F(ArchiveTest, MembersCannotBeSwapped) {
  ArchiveToc toc = Write(2);
  Upload();
  // Present member 1's bytes as member 2 with matching outer checksums: the
  // AEAD's associated data (name, metadata) still rejects it.
  MemberEntry forged = toc.members[1];
  forged.payload_offset = toc.members[0].payload_offset;
  forged.payload_length = toc.members[0].payload_length;
  forged.ciphertext_checksum = toc.members[0].ciphertext_checksum;
  auto member = ReadMember(ObjectRangeReader(&store_, ArchiveObjectKey(name_)), name_, forged, *key_);
  EXPECT_TRUE(member.status().IsCorruption()) << member.status().ToString();
}

TEST(ArchiveNameTest, UniqueSortableAndParsable) {
  ManualClock clock;
  std::string a = NewArchiveName(&clock);
  std::string b = NewArchiveName(&clock);
  clock.AdvanceMillis(1);
  std::string c = NewArchiveName(&clock);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b) << "names made in one millisecond still sort by creation";
  EXPECT_LT(a.substr(0, 10), c.substr(0, 10));
  EXPECT_EQ(ArchiveNameFromKey(ArchiveObjectKey(a)), a);
  EXPECT_EQ(ArchiveNameFromKey("archives/x/y.tar"), "");
  EXPECT_EQ(ArchiveNameFromKey("meta/epoch"), "");
  EXPECT_EQ(ArchiveNameMicros(c), clock.WallMicros() / 1000 * 1000);
  EXPECT_EQ(ArchiveNameMicros("not-a-name"), 0);
}

TEST(ArchiveKeyTest, KeyFileCreatedOnceWithMode0600) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("tier/archive.key");
  auto k1 = ArchiveKey::LoadOrCreate(DefaultFileSystem(), path);
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  auto k2 = ArchiveKey::LoadOrCreate(DefaultFileSystem(), path);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ((*k1)->key_id(), (*k2)->key_id());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(WriteStringToFile(DefaultFileSystem(), "short", path, true).ok());
  EXPECT_TRUE(ArchiveKey::Load(DefaultFileSystem(), path).status().IsCorruption());
  EXPECT_TRUE(ArchiveKey::Create(DefaultFileSystem(), path).status().IsAlreadyExists()) << "a key is never overwritten";
}

TEST(KeyRingTest, RotationKeepsOldArchivesReadable) {
  MemFileSystem fs;
  ManualClock clock;
  const std::string key_file = "/tier/archive.key";
  ASSERT_TRUE(ArchiveKey::Create(&fs, key_file).ok());
  auto before = KeyRing::Load(&fs, key_file);
  ASSERT_TRUE(before.ok());
  const uint64_t old_id = (*before)->current()->key_id();
  // An archive under the old key.
  std::string old_name = NewArchiveName(&clock);
  auto writer = ArchiveWriter::Create(&fs, "/old.tar", old_name, (*before)->current(), &clock, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddSegment(TestMeta(1), SegmentContents(1, 2000)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());

  auto rotated = RotateArchiveKey(&fs, key_file);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_NE(*rotated, old_id);
  EXPECT_TRUE(fs.FileExists(RetiredKeyPath(key_file, old_id)));
  auto ring = KeyRing::Load(&fs, key_file);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ((*ring)->current()->key_id(), *rotated) << "new archives use the new key";
  EXPECT_EQ((*ring)->key_ids(), (std::vector<uint64_t>{*rotated, old_id}));
  uint64_t size = *fs.GetFileSize("/old.tar");
  auto toc = ReadArchiveToc(FileRangeReader(&fs, "/old.tar"), size, old_name, **ring);
  ASSERT_TRUE(toc.ok()) << toc.status().ToString();
  auto member = ReadMember(FileRangeReader(&fs, "/old.tar"), old_name, toc->members[0], *(*ring)->Find(old_id));
  ASSERT_TRUE(member.ok());
  EXPECT_NE((*ring)->Describe().find(KeyIdHex(old_id)), std::string::npos) << (*ring)->Describe();
}

TEST(KeyRingTest, RotationCutShortIsCompletedAndAMislabelledKeyIsRefused) {
  MemFileSystem fs;
  const std::string key_file = "/tier/archive.key";
  ASSERT_TRUE(ArchiveKey::Create(&fs, key_file).ok());
  uint64_t old_id = (*ArchiveKey::Load(&fs, key_file))->key_id();
  // The rotation stopped after retiring the old key, before installing the new.
  ASSERT_TRUE(ArchiveKey::Create(&fs, key_file + ".new").ok());
  uint64_t new_id = (*ArchiveKey::Load(&fs, key_file + ".new"))->key_id();
  ASSERT_TRUE(fs.RenameFile(key_file, RetiredKeyPath(key_file, old_id)).ok());
  auto ring = KeyRing::Load(&fs, key_file);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ((*ring)->current()->key_id(), new_id);
  EXPECT_NE((*ring)->Find(old_id), nullptr);
  // A retired key file whose name does not match its key is damage, not a key.
  ASSERT_TRUE(fs.RenameFile(RetiredKeyPath(key_file, old_id), RetiredKeyPath(key_file, old_id + 1)).ok());
  auto bad = KeyRing::Load(&fs, key_file);
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  // No key file at all is NotFound, naming it.
  MemFileSystem empty;
  auto none = KeyRing::Load(&empty, key_file);
  EXPECT_TRUE(none.status().IsNotFound()) << none.status().ToString();
  EXPECT_NE(none.status().message().find(key_file), std::string::npos);
}

TEST(KeyRingTest, RotationFailuresLeaveAUsableRing) {
  MemFileSystem base;
  FaultInjectionFileSystem fs(&base);
  const std::string key_file = "/tier/archive.key";
  ASSERT_TRUE(ArchiveKey::Create(&fs, key_file).ok());
  uint64_t old_id = (*ArchiveKey::Load(&fs, key_file))->key_id();
  for (FaultOp op : {FaultOp::kCreate, FaultOp::kAppend, FaultOp::kSync, FaultOp::kRename, FaultOp::kSyncDir}) {
    for (int nth = 1; nth <= 3; nth++) {
      SCOPED_TRACE(fmt::format("{} #{}", FaultOpName(op), nth));
      fs.FailNth(op, nth, Status::IOError("injected"));
      auto rotated = RotateArchiveKey(&fs, key_file);
      bool fired = fs.fired(op);
      fs.ClearFaults();
      if (fired) {
        EXPECT_FALSE(rotated.ok());
        EXPECT_NE(rotated.status().message().find("archive.key"), std::string::npos) << rotated.status().ToString();
        EXPECT_TRUE(rotated.status().IsIOError()) << rotated.status().ToString();
      }
      // Whatever happened, every key ever made is still in the ring.
      auto ring = KeyRing::Load(&fs, key_file);
      ASSERT_TRUE(ring.ok()) << ring.status().ToString();
      EXPECT_NE(ring->get()->Find(old_id), nullptr);
      if (rotated.ok()) EXPECT_EQ(ring->get()->current()->key_id(), *rotated);
    }
  }
}

}  // namespace
}  // namespace ebb
