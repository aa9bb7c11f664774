#include "tiering/bucket_meta.h"

#include <gtest/gtest.h>

#include "base/sync_point.h"
#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestMeta;

TEST(EpochTest, AdvanceAndFence) {
  MemFileSystem fs;
  MemObjectStore store;
  auto e1 = AdvanceEpoch(&fs, "/EPOCH", &store);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->epoch, 1u);
  EXPECT_TRUE(e1->conditional);
  EXPECT_TRUE(CheckEpoch(&store, e1->epoch).ok());
  // A second agent (another machine: its own local file) starts on the same store.
  MemFileSystem other_fs;
  auto e2 = AdvanceEpoch(&other_fs, "/EPOCH", &store);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->epoch, 2u) << "the remote epoch counts";
  Status fenced = CheckEpoch(&store, e1->epoch);
  EXPECT_TRUE(fenced.IsAborted());
  EXPECT_NE(fenced.message().find("fenced"), std::string::npos) << fenced.ToString();
  EXPECT_TRUE(CheckEpoch(&store, e2->epoch).ok());
  // Restarting the first agent moves past both.
  EXPECT_EQ(AdvanceEpoch(&fs, "/EPOCH", &store)->epoch, 3u);
}

// Two agents read the same epoch and both write: with conditional writes
// the second write is refused and that agent moves past the other; without
// them (a store that ignores the headers) both believe they own the bucket,
// which is what the status then says.
TEST(EpochTest, AgentsStartingAtOnceGetDifferentEpochsWhereWritesAreConditional) {
  for (bool conditional : {true, false}) {
    SCOPED_TRACE(conditional ? "conditional" : "unconditional");
    MemObjectStore store;
    store.SetConditionalWrites(conditional);
    MemFileSystem fs_a, fs_b;
    ASSERT_TRUE(AdvanceEpoch(&fs_a, "/EPOCH", &store).ok());  // epoch 1 exists
    Result<EpochAdvance> b = Status::OK();
    bool interleaved = false;
    sync_point::Set("AdvanceEpoch:read", [&] {
      if (interleaved) return;
      interleaved = true;
      b = AdvanceEpoch(&fs_b, "/EPOCH", &store);  // between A's read and A's write
    });
    auto a = AdvanceEpoch(&fs_a, "/EPOCH", &store);
    sync_point::ClearAll();
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(a->conditional, conditional);
    if (conditional) {
      EXPECT_NE(a->epoch, b->epoch);
      EXPECT_EQ(a->epoch, 3u) << "A lost the race, read again and moved past B";
      EXPECT_TRUE(CheckEpoch(&store, b->epoch).IsAborted()) << "B is fenced";
    } else {
      EXPECT_EQ(a->epoch, b->epoch) << "best effort: both took epoch 2";
    }
  }
}

TEST(EpochTest, ObjectStoreFailuresAreErrorsThatNameTheEpoch) {
  MemFileSystem fs;
  MemObjectStore store;
  store.FailNth(ObjectOp::kGet, 1, Status::Unavailable("injected outage"));
  auto a = AdvanceEpoch(&fs, "/EPOCH", &store);
  EXPECT_TRUE(a.status().IsUnavailable()) << a.status().ToString();
  EXPECT_NE(a.status().message().find("tiering epoch"), std::string::npos);
  store.FailNth(ObjectOp::kPut, 1, Status::Unavailable("injected outage"));
  a = AdvanceEpoch(&fs, "/EPOCH", &store);
  EXPECT_TRUE(a.status().IsUnavailable()) << a.status().ToString();
  EXPECT_TRUE(store.Get(kEpochObjectKey).status().IsNotFound()) << "nothing published";
  // The next attempt works and moves past the local file written before the failure.
  a = AdvanceEpoch(&fs, "/EPOCH", &store);
  ASSERT_TRUE(a.ok());
  EXPECT_GE(a->epoch, 2u);
  store.FailNth(ObjectOp::kGet, 1, Status::TimedOut("injected"));
  EXPECT_TRUE(CheckEpoch(&store, a->epoch).IsTimedOut());
}

class KeyRegistryTest : public ::testing::Test {
 protected:
  // Puts an archive written with `key` into the store.
  void PutArchive(const ArchiveKey* key) {
    clock_.AdvanceMillis(1);
    std::string name = NewArchiveName(&clock_);
    auto writer = ArchiveWriter::Create(&fs_, "/a.tar", name, key, &clock_, {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AddSegment(TestMeta(1), SegmentContents(1, 500)).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    ASSERT_TRUE(store_.Put(ArchiveObjectKey(name), *ReadFileToString(&fs_, "/a.tar")).ok());
  }
  MemFileSystem fs_;
  ManualClock clock_;
  MemObjectStore store_;
};

TEST_F(KeyRegistryTest, AKeyIsMadeOnlyForAnEmptyBucketAndItsIdIsRecorded) {
  auto ring = CreateKeyForEmptyBucket(&fs_, &store_, &clock_, "/tier/archive.key", "");
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  uint64_t id = (*ring)->current()->key_id();
  auto ids = BucketKeyIds(&store_);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<uint64_t>{id});
  // The key file is lost: a second attempt must not make another key.
  ASSERT_TRUE(fs_.DeleteFile("/tier/archive.key").ok());
  auto again = CreateKeyForEmptyBucket(&fs_, &store_, &clock_, "/tier/archive.key", "");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsPermissionDenied()) << again.status().ToString();
  EXPECT_NE(again.status().message().find(KeyIdHex(id)), std::string::npos) << again.status().ToString();
  EXPECT_NE(again.status().message().find("/tier/archive.key"), std::string::npos);
  EXPECT_NE(again.status().message().find("never makes a new key"), std::string::npos);
  EXPECT_FALSE(fs_.FileExists("/tier/archive.key"));
  // Local signs of earlier archives refuse too, whatever the bucket says.
  MemObjectStore empty;
  auto local = CreateKeyForEmptyBucket(&fs_, &empty, &clock_, "/tier/archive.key", "its tier index lists 3 archives");
  EXPECT_TRUE(local.status().IsPermissionDenied()) << local.status().ToString();
  EXPECT_NE(local.status().message().find("3 archives"), std::string::npos);
}

TEST_F(KeyRegistryTest, ABucketOfAnOlderEbbWithoutARegistryIsJudgedByItsArchives) {
  auto key = testing::TestKey('a');
  PutArchive(key.get());
  auto ids = BucketKeyIds(&store_);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<uint64_t>{key->key_id()});
  auto lost = CreateKeyForEmptyBucket(&fs_, &store_, &clock_, "/k", "");
  EXPECT_TRUE(lost.status().IsPermissionDenied());
  // The right key is accepted and recorded.
  KeyRing ring(testing::TestKey('a'));
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, ring, &clock_, true).ok());
  EXPECT_TRUE(store_.Get(kKeyRegistryObjectKey).ok());
}

TEST_F(KeyRegistryTest, AnotherKeyIsRefusedARotatedOneIsRecorded) {
  KeyRing first(testing::TestKey('a'));
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, first, &clock_, true).ok());
  PutArchive(first.current());
  KeyRing stranger(testing::TestKey('b'));
  Status refused = CheckKeysAgainstBucket(&store_, stranger, &clock_, true);
  EXPECT_TRUE(refused.IsPermissionDenied()) << refused.ToString();
  EXPECT_NE(refused.message().find(first.current()->key_id_hex()), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find(stranger.current()->key_id_hex()), std::string::npos) << refused.ToString();
  // A rotation: the new key with the old one retired in the ring.
  std::vector<std::unique_ptr<ArchiveKey>> retired;
  retired.push_back(testing::TestKey('a'));
  KeyRing rotated(testing::TestKey('c'), std::move(retired));
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, rotated, &clock_, true).ok());
  auto ids = BucketKeyIds(&store_);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);
  // A read-only check records nothing.
  MemObjectStore other;
  PutArchive(first.current());
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, first, &clock_, false).ok());
}

TEST_F(KeyRegistryTest, RegistryWritesThatFailOrRaceLoseNoKeyId) {
  KeyRing a(testing::TestKey('a'));
  store_.FailNth(ObjectOp::kPut, 1, Status::Unavailable("injected"));
  Status s = CheckKeysAgainstBucket(&store_, a, &clock_, true);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("key id"), std::string::npos) << s.ToString();
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, a, &clock_, true).ok());
  // A concurrent registration between read and write: the conditional
  // write fails, the registry is read again and both ids stay.
  std::vector<std::unique_ptr<ArchiveKey>> retired;
  retired.push_back(testing::TestKey('a'));
  KeyRing b(testing::TestKey('b'), std::move(retired));
  std::string etag;
  ASSERT_TRUE(store_.GetWithEtag(kKeyRegistryObjectKey, &etag).ok());
  ASSERT_TRUE(store_.Put(kKeyRegistryObjectKey, *store_.Get(kKeyRegistryObjectKey) + "00000000000000ff 1\n").ok());
  ASSERT_TRUE(CheckKeysAgainstBucket(&store_, b, &clock_, true).ok());
  auto ids = BucketKeyIds(&store_);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 3u);
  store_.FailNth(ObjectOp::kList, 1, Status::Unavailable("injected"));
  MemObjectStore fresh;
  fresh.FailNth(ObjectOp::kList, 1, Status::Unavailable("injected"));
  auto ring = CreateKeyForEmptyBucket(&fs_, &fresh, &clock_, "/new.key", "");
  EXPECT_TRUE(ring.status().IsUnavailable());
  EXPECT_FALSE(fs_.FileExists("/new.key")) << "no key made without knowing the bucket is empty";
}

}  // namespace
}  // namespace ebb
