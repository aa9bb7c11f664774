// Values with an expiry (WriteBatch::PutWithExpiry): absent once their
// deadline has come, on every read path (memtable, segment, iterator), kept
// across reopen (journal replay and segments), and dropped by flushes and
// compactions like tombstones. The store's wall clock is a ManualClock.

#include <gtest/gtest.h>

#include <map>

#include <fmt/format.h>

#include "env/clock.h"
#include "env/mem_file_system.h"
#include "storage/storage.h"

namespace ebb {
namespace {

class ExpiryTest : public ::testing::Test {
 protected:
  StorageOptions Options() {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kAlways;
    o.memtable_bytes = 64 << 10;
    return o;
  }
  void Open() {
    auto s = Storage::Open(&fs_, &clock_, Options(), nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = std::move(*s);
    auto db = storage_->OpenDatabase("d", true);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
  }
  void Reopen() {
    db_.reset();
    storage_.reset();
    Open();
  }
  int64_t NowMs() const { return clock_.WallMicros() / 1000; }
  Status PutExpiring(std::string_view k, std::string_view v, int64_t expire_at_ms) {
    WriteBatch b;
    b.PutWithExpiry(k, v, expire_at_ms);
    return db_->Write(WriteOptions(), b);
  }
  Status Put(std::string_view k, std::string_view v) {
    WriteBatch b;
    b.Put(k, v);
    return db_->Write(WriteOptions(), b);
  }
  // "value@deadline", "value" when it does not expire, or NOT_FOUND.
  std::string Get(std::string_view k) {
    std::string v;
    int64_t expire_at = -1;
    Status s = db_->Get(ReadOptions(), k, &v, &expire_at);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return expire_at == 0 ? v : v + "@" + std::to_string(expire_at);
  }
  std::map<std::string, std::string> Scan() {
    std::map<std::string, std::string> out;
    auto it = db_->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace(it->key(), it->value());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }
  // Entries stored (every version and tombstone); after a flush, all in segments.
  uint64_t StoredEntries() { return db_->GetStats().entries; }

  ManualClock clock_;
  MemFileSystem fs_;
  std::unique_ptr<Storage> storage_;
  std::shared_ptr<DatabaseCore> db_;
};

TEST_F(ExpiryTest, AValueIsReadUntilItsDeadlineThenAbsentOnEveryReadPath) {
  Open();
  const int64_t deadline = NowMs() + 10'000;
  ASSERT_TRUE(PutExpiring("a", "1", deadline).ok());
  ASSERT_TRUE(Put("b", "2").ok());
  ASSERT_TRUE(PutExpiring("c", "", deadline + 5'000).ok());  // an empty value expires too
  EXPECT_EQ(Get("a"), "1@" + std::to_string(deadline));
  EXPECT_EQ(Get("b"), "2");
  EXPECT_EQ(Get("c"), "@" + std::to_string(deadline + 5'000));
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"c", ""}}));

  clock_.AdvanceMillis(9'999);  // one millisecond before: still there
  EXPECT_EQ(Get("a"), "1@" + std::to_string(deadline));
  clock_.AdvanceMillis(1);  // at the deadline: gone
  EXPECT_EQ(Get("a"), "NOT_FOUND");
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"b", "2"}, {"c", ""}}));

  // The same from a segment.
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(Get("a"), "NOT_FOUND");
  EXPECT_EQ(Get("c"), "@" + std::to_string(deadline + 5'000));
  clock_.AdvanceMillis(5'000);
  EXPECT_EQ(Get("c"), "NOT_FOUND");
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"b", "2"}}));
}

TEST_F(ExpiryTest, AnExpiredValueHidesOlderVersionsAndAPlainPutClearsTheExpiry) {
  Open();
  ASSERT_TRUE(Put("k", "old").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(PutExpiring("k", "new", NowMs() + 1'000).ok());
  EXPECT_EQ(Get("k"), "new@" + std::to_string(NowMs() + 1'000));
  clock_.AdvanceMillis(1'000);
  EXPECT_EQ(Get("k"), "NOT_FOUND") << "the expired version hides the older one";
  EXPECT_TRUE(Scan().empty());

  ASSERT_TRUE(PutExpiring("p", "1", NowMs() + 1'000).ok());
  ASSERT_TRUE(Put("p", "2").ok());
  clock_.AdvanceMillis(2'000);
  EXPECT_EQ(Get("p"), "2") << "a put without an expiry replaces one with";
}

TEST_F(ExpiryTest, DeadlinesSurviveReopenFromTheJournalAndFromSegments) {
  Open();
  const int64_t deadline = NowMs() + 60'000;
  ASSERT_TRUE(PutExpiring("journal", "j", deadline).ok());
  ASSERT_TRUE(PutExpiring("segment", "s", deadline).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(PutExpiring("journal", "j2", deadline + 1).ok());  // only in the journal
  Reopen();
  EXPECT_EQ(Get("journal"), "j2@" + std::to_string(deadline + 1));
  EXPECT_EQ(Get("segment"), "s@" + std::to_string(deadline));
  clock_.AdvanceMillis(60'001);
  Reopen();
  EXPECT_EQ(Get("journal"), "NOT_FOUND");
  EXPECT_EQ(Get("segment"), "NOT_FOUND");
}

TEST_F(ExpiryTest, CompactionDropsExpiredValuesAndTheirOlderVersions) {
  Open();
  for (int i = 0; i < 100; i++) ASSERT_TRUE(Put(fmt::format("k{:03}", i), "old").ok());
  ASSERT_TRUE(db_->Flush().ok());
  const int64_t deadline = NowMs() + 1'000;
  for (int i = 0; i < 50; i++) ASSERT_TRUE(PutExpiring(fmt::format("k{:03}", i), "new", deadline).ok());
  ASSERT_TRUE(PutExpiring("later", "x", deadline + 100'000).ok());
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(StoredEntries(), 151u);

  // Not yet due: a full compaction keeps every live value (the 50 older
  // versions go: they are shadowed).
  auto r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expired_entries, 0u);
  EXPECT_EQ(StoredEntries(), 101u);

  clock_.AdvanceMillis(1'000);
  ASSERT_TRUE(Put("z", "1").ok());  // a second segment, so the full compaction has work
  ASSERT_TRUE(db_->Flush().ok());
  r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expired_entries, 50u);
  EXPECT_EQ(StoredEntries(), 52u) << "50 never-expiring keys, 'later' and 'z'";
  for (int i = 0; i < 50; i++) EXPECT_EQ(Get(fmt::format("k{:03}", i)), "NOT_FOUND");
  EXPECT_EQ(Get("k050"), "old");
  EXPECT_EQ(Scan().size(), 52u);
}

// One segment, no tombstones, nothing shadowed: a full compaction would
// skip it as clean, but not once a value inside has expired. The segment's
// expiry summary (count, earliest deadline) survives reopen through the
// manifest.
TEST_F(ExpiryTest, ASingleSegmentIsCompactedOnceAValueInsideHasExpired) {
  Open();
  for (int i = 0; i < 20; i++) ASSERT_TRUE(Put(fmt::format("k{:02}", i), "v").ok());
  ASSERT_TRUE(PutExpiring("x1", "1", NowMs() + 2'000).ok());
  ASSERT_TRUE(PutExpiring("x2", "2", NowMs() + 1'000).ok());
  ASSERT_TRUE(db_->Flush().ok());
  auto r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input_segments, 0u) << "clean, and nothing due yet";
  Reopen();
  clock_.AdvanceMillis(1'000);
  r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->input_segments, 1u);
  EXPECT_EQ(r->expired_entries, 1u);
  EXPECT_EQ(StoredEntries(), 21u);
  EXPECT_EQ(Get("x1"), "1@" + std::to_string(NowMs() + 1'000));
  // The output's summary names the remaining value: due in a second.
  r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input_segments, 0u);
  clock_.AdvanceMillis(1'000);
  r = db_->Compact(CompactionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->expired_entries, 1u);
  EXPECT_EQ(StoredEntries(), 20u);
}

TEST_F(ExpiryTest, ANewestSegmentsCompactionKeepsExpiredValuesAsTombstones) {
  Open();
  ASSERT_TRUE(Put("k", "old").ok());
  ASSERT_TRUE(db_->Flush().ok());  // the oldest segment, left out below
  ASSERT_TRUE(PutExpiring("k", "new", NowMs() + 10).ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(Put("other", "1").ok());
  ASSERT_TRUE(db_->Flush().ok());
  clock_.AdvanceMillis(10);
  CompactionOptions o;
  o.full = false;
  o.newest_segments = 2;
  auto r = db_->Compact(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expired_entries, 1u);
  EXPECT_EQ(Get("k"), "NOT_FOUND") << "the tombstone still hides the old version in the oldest segment";
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"other", "1"}}));
}

TEST_F(ExpiryTest, AFlushWritesAValueAlreadyExpiredAsATombstone) {
  Open();
  ASSERT_TRUE(Put("k", "old").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(PutExpiring("k", std::string(1000, 'v'), NowMs() + 5).ok());
  clock_.AdvanceMillis(5);
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(db_->GetStats().tombstones, 1u) << "written as a tombstone";
  EXPECT_EQ(Get("k"), "NOT_FOUND");
}

TEST_F(ExpiryTest, BatchEncodingKeepsTheDeadlineAndRejectsAShortOne) {
  WriteBatch b;
  b.PutWithExpiry("k", "value", 1234);
  b.Put("p", "q");
  struct Recorder : WriteBatch::Handler {
    std::string log;
    void Put(std::string_view k, std::string_view v) override { log += fmt::format("put {}={};", k, v); }
    void Delete(std::string_view k) override { log += fmt::format("del {};", k); }
    void PutWithExpiry(std::string_view k, std::string_view v, int64_t at) override {
      log += fmt::format("putx {}={}@{};", k, v, at);
    }
  } rec;
  b.Iterate(&rec);
  EXPECT_EQ(rec.log, "putx k=value@1234;put p=q;");
  EXPECT_EQ(b.MaxValueBytes(), 5u) << "the deadline is not part of the value";
  WriteBatch copy;
  ASSERT_TRUE(copy.SetRep(b.rep()));
  EXPECT_EQ(copy.MaxValueBytes(), 5u);
  // A put with expiry whose value cannot hold a deadline is malformed.
  std::string bad;
  bad.push_back(2);   // put with expiry
  bad.push_back(1);   // key length
  bad.push_back('k');
  bad.push_back(3);   // value length: too short for a deadline
  bad += "abc";
  EXPECT_FALSE(copy.SetRep(bad));
}

}  // namespace
}  // namespace ebb
