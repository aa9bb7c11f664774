#include "tiering/member_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "env/clock.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "env/object_store.h"
#include "tiering/tiering_test_util.h"

namespace ebb {
namespace {

using testing::SegmentContents;
using testing::TestMeta;
using testing::TestRing;

constexpr size_t kSegmentBytes = 10'000;

SegmentKey Key(uint64_t id) { return SegmentKey{"db1", id, Hash64(SegmentContents(id, kSegmentBytes))}; }
std::string CachePath(uint64_t id) { return fmt::format("/cache/{:06d}-{:016x}.seg", id, Key(id).checksum); }

class MemberCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDir("/staging").ok());
    std::string name = NewArchiveName(&clock_);
    auto writer = ArchiveWriter::Create(&fs_, "/staging/a.tar", name, ring_->current(), &clock_, {});
    ASSERT_TRUE(writer.ok());
    for (int i = 1; i <= 5; i++) ASSERT_TRUE((*writer)->AddSegment(TestMeta(i), SegmentContents(i, kSegmentBytes)).ok());
    auto toc = (*writer)->Finish();
    ASSERT_TRUE(toc.ok());
    toc_ = *toc;
    auto data = ReadFileToString(&fs_, "/staging/a.tar");
    ASSERT_TRUE(store_.Put(ArchiveObjectKey(name), *data).ok());
    index_.AddArchive(toc_, data->size());
  }
  std::unique_ptr<MemberCache> OpenCache(uint64_t capacity) {
    auto cache = MemberCache::Open(&fs_, &store_, ring_.get(), &index_, {.dir = "/cache", .capacity_bytes = capacity});
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    return std::move(cache).value();
  }

  MemFileSystem fs_;
  ManualClock clock_;
  MemObjectStore store_;
  std::unique_ptr<KeyRing> ring_ = TestRing();
  TierIndex index_;
  ArchiveToc toc_;
};

TEST_F(MemberCacheTest, FetchesOnlyTheMemberAndServesHits) {
  auto cache = OpenCache(1 << 20);
  auto h = cache->Acquire(Key(3));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(*ReadFileToString(&fs_, (*h)->path()) == SegmentContents(3, kSegmentBytes));
  EXPECT_EQ(store_.bytes_read(), toc_.members[2].payload_length);
  auto again = cache->Acquire(Key(3));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(store_.calls(ObjectOp::kGet), 1u);
  EXPECT_EQ(cache->stats().hits, 1u);
  EXPECT_TRUE(cache->Acquire(Key(99)).status().IsNotFound());
  // Another database's segment 3, or other contents under number 3, is not
  // this one.
  EXPECT_TRUE(cache->Acquire(SegmentKey{"db2", 3, Key(3).checksum}).status().IsNotFound());
  EXPECT_TRUE(cache->Acquire(SegmentKey{"db1", 3, Key(3).checksum + 1}).status().IsNotFound());
  // TryAcquire never fetches.
  EXPECT_NE(cache->TryAcquire(Key(3)), nullptr);
  uint64_t gets = store_.calls(ObjectOp::kGet);
  EXPECT_EQ(cache->TryAcquire(Key(4)), nullptr);
  EXPECT_EQ(store_.calls(ObjectOp::kGet), gets);
}

TEST_F(MemberCacheTest, WithoutTheArchiveKeyAFetchIsAClearError) {
  auto cache = MemberCache::Open(&fs_, &store_, nullptr, &index_, {.dir = "/cache", .capacity_bytes = 1 << 20});
  ASSERT_TRUE(cache.ok());
  Status s = (*cache)->Acquire(Key(1)).status();
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  auto other = TestRing('o');
  (*cache)->SetKeys(other.get());
  s = (*cache)->Acquire(Key(1)).status();
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find(ring_->current()->key_id_hex()), std::string::npos) << s.ToString();
  (*cache)->SetKeys(ring_.get());
  EXPECT_TRUE((*cache)->Acquire(Key(1)).ok());
}

// A stalled object store: the fetch ends at the caller's deadline.
TEST_F(MemberCacheTest, AStalledStoreTimesOutAtTheCallersDeadline) {
  auto cache = OpenCache(1 << 20);
  store_.Stall();
  Status s;
  {
    ObjectStoreDeadline deadline(SystemClock()->NowMicros() + 50'000);
    s = cache->Acquire(Key(2)).status();
  }
  store_.Resume();
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_TRUE(cache->Acquire(Key(2)).ok()) << "nothing half-cached";
}

TEST_F(MemberCacheTest, BoundedByBytesLeastRecentlyUsedFirst) {
  auto cache = OpenCache(3 * kSegmentBytes);
  for (uint64_t id : {1, 2, 3}) ASSERT_TRUE(cache->Acquire(Key(id)).ok());
  ASSERT_TRUE(cache->Acquire(Key(1)).ok());  // 1 is now the most recent; 2 the least
  ASSERT_TRUE(cache->Acquire(Key(4)).ok());
  MemberCacheStats st = cache->stats();
  EXPECT_LE(st.cached_bytes, 3 * kSegmentBytes);
  EXPECT_EQ(st.evictions, 1u);
  EXPECT_FALSE(fs_.FileExists(CachePath(2)));
  EXPECT_TRUE(fs_.FileExists(CachePath(1)));
  // Pinned files are never deleted; when only pinned files remain, Busy.
  auto a = cache->Acquire(Key(1));
  auto b = cache->Acquire(Key(3));
  auto c = cache->Acquire(Key(4));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  Status busy = cache->Acquire(Key(5)).status();
  EXPECT_TRUE(busy.IsBusy()) << busy.ToString();
  EXPECT_NE(busy.message().find("tiering.cache_bytes"), std::string::npos);
  c->reset();
  EXPECT_TRUE(cache->Acquire(Key(5)).ok());
}

TEST_F(MemberCacheTest, SingleFlightUnderConcurrency) {
  auto cache = OpenCache(1 << 20);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      auto h = cache->Acquire(Key(2));
      results[t] = h.status();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store_.calls(ObjectOp::kGet), 1u) << "one fetch for all readers";
}

TEST_F(MemberCacheTest, CorruptionIsRefetchedThenReportedClearly) {
  auto cache = OpenCache(1 << 20);
  // The stored copy is damaged: both the fetch and the refetch fail.
  const MemberEntry& m = toc_.members[0];
  std::string key = ArchiveObjectKey(toc_.archive);
  ASSERT_TRUE(store_.CorruptObject(key, m.payload_offset + 10, 1).ok());
  auto h = cache->Acquire(Key(1));
  ASSERT_TRUE(h.status().IsCorruption());
  EXPECT_EQ(cache->stats().refetches, 1u);
  EXPECT_NE(h.status().message().find(toc_.archive), std::string::npos);
  EXPECT_NE(h.status().message().find(m.member), std::string::npos);
  EXPECT_NE(h.status().message().find("refetch"), std::string::npos) << h.status().ToString();
  EXPECT_FALSE(fs_.FileExists(CachePath(1))) << "bad data never reaches the cache";
  // Repaired remotely: the next read succeeds.
  ASSERT_TRUE(store_.CorruptObject(key, m.payload_offset + 10, 1).ok());
  EXPECT_TRUE(cache->Acquire(Key(1)).ok());
}

// A full disk or a failing write while a fetched member is written: the read
// gets the error with the segment and the path, no partial file stays, the
// reservation is returned, and the next read fetches again and succeeds.
// Cache files are never synced (the cache starts empty at every open).
TEST_F(MemberCacheTest, AFailedWriteLeavesNoFileAndTheNextReadSucceeds) {
  FaultInjectionFileSystem faulty(&fs_);
  auto opened = MemberCache::Open(&faulty, &store_, ring_.get(), &index_, {.dir = "/cache", .capacity_bytes = 1 << 20});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto cache = std::move(opened).value();
  for (FaultTiming timing : {FaultTiming::kBefore, FaultTiming::kAfter}) {
    SCOPED_TRACE(timing == FaultTiming::kBefore ? "before" : "after");
    faulty.Fail({.op = FaultOp::kAppend, .nth = 1, .error = Status::NoSpace("injected: disk full"), .timing = timing,
                 .path_contains = "/cache/"});
    auto h = cache->Acquire(Key(2));
    ASSERT_TRUE(h.status().IsNoSpace()) << h.status().ToString();
    EXPECT_NE(h.status().message().find("member cache: write segment"), std::string::npos) << h.status().ToString();
    EXPECT_NE(h.status().message().find(CachePath(2)), std::string::npos) << h.status().ToString();
    EXPECT_FALSE(fs_.FileExists(CachePath(2))) << "a failed write leaves no file";
    EXPECT_EQ(cache->stats().cached_bytes, 0u);
    faulty.ClearFaults();
  }
  auto h = cache->Acquire(Key(2));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(*ReadFileToString(&fs_, (*h)->path()) == SegmentContents(2, kSegmentBytes));
  EXPECT_EQ(faulty.calls(FaultOp::kSync, "/cache/"), 0u);
  EXPECT_EQ(faulty.calls(FaultOp::kSyncDir, "/cache"), 0u);
}

}  // namespace
}  // namespace ebb
