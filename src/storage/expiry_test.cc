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
  // "value@deadline", "value" when it does not expire, or NOT_FOUND; with
  // expiry judged as of `as_of_ms` when given.
  std::string Get(std::string_view k, int64_t as_of_ms = 0) {
    std::string v;
    int64_t expire_at = -1;
    ReadOptions options;
    options.expiry_as_of_ms = as_of_ms;
    Status s = db_->Get(options, k, &v, &expire_at);
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
  // Judged as of an earlier time (a WATCH's question: alive then?).
  EXPECT_EQ(Get("a", deadline - 1), "1@" + std::to_string(deadline));
  EXPECT_EQ(Get("a", deadline), "NOT_FOUND");
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"b", "2"}, {"c", ""}}));

  // The same from a segment.
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(Get("a"), "NOT_FOUND");
  EXPECT_EQ(Get("c"), "@" + std::to_string(deadline + 5'000));
  clock_.AdvanceMillis(5'000);
  EXPECT_EQ(Get("c"), "NOT_FOUND");
  EXPECT_EQ(Scan(), (std::map<std::string, std::string>{{"b", "2"}}));
}

TEST_F(ExpiryTest, MultiGetHidesExpiredValuesAndStripsDeadlinesLikeGet) {
  Open();
  const int64_t deadline = NowMs() + 10'000;
  ASSERT_TRUE(PutExpiring("a", "1", deadline).ok());
  ASSERT_TRUE(Put("b", "2").ok());
  ASSERT_TRUE(db_->Flush().ok());  // a and b in a segment
  ASSERT_TRUE(PutExpiring("c", "3", deadline + 5'000).ok());  // c in the memtable
  const std::vector<std::string> keys = {"a", "b", "c", "absent"};
  auto multi = [&](int64_t as_of_ms) {
    std::vector<std::string> values;
    std::vector<Status> statuses;
    ReadOptions options;
    options.expiry_as_of_ms = as_of_ms;
    db_->MultiGet(options, keys, &values, &statuses);
    std::string out;
    for (size_t i = 0; i < keys.size(); i++) {
      out += keys[i] + "=" + (statuses[i].ok() ? values[i] : statuses[i].IsNotFound() ? "-" : statuses[i].ToString()) + " ";
    }
    return out;
  };
  EXPECT_EQ(multi(0), "a=1 b=2 c=3 absent=- ");
  clock_.AdvanceMillis(10'000);
  EXPECT_EQ(multi(0), "a=- b=2 c=3 absent=- ");
  EXPECT_EQ(multi(deadline - 1), "a=1 b=2 c=3 absent=- ");
  clock_.AdvanceMillis(5'000);
  EXPECT_EQ(multi(0), "a=- b=2 c=- absent=- ");
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

TEST(ExpiryProfileTest, NinePointsOfTheSortedDeadlinesAndTheirEncoding) {
  std::vector<int64_t> deadlines;
  for (int64_t d = 800; d >= 1; d--) deadlines.push_back(1000 + d);  // 1001..1800, unsorted
  ExpiryProfile p = ExpiryProfile::Of(&deadlines);
  EXPECT_EQ(p.count, 800u);
  EXPECT_EQ(p.earliest_ms(), 1001);
  EXPECT_EQ(p.points[8], 1800);
  EXPECT_EQ(p.points[1], 1000 + 1 + 799 / 8);  // the 100th deadline
  EXPECT_EQ(p.DueEighths(1050), 0) << "fewer than an eighth due: nothing surely due";
  EXPECT_EQ(p.NextDueMs(1050), p.points[1]);
  EXPECT_EQ(p.DueEighths(p.points[1]), 1);
  EXPECT_EQ(p.DueEighths(1800), 8);
  EXPECT_EQ(p.NextDueMs(1800), INT64_MAX);
  // Eighths close together are one batch: the last of them.
  ExpiryProfile q;
  q.count = 80;
  q.points = {1000, 1010, 1020, 1030, 5000, 5001, 5002, 9000, 9000};
  EXPECT_EQ(q.NextDueMs(0), 1010);
  EXPECT_EQ(q.NextDueMs(0, 50), 1030);
  EXPECT_EQ(q.NextDueMs(1030, 50), 5002);
  EXPECT_EQ(q.NextDueMs(5002, 50), 9000);
  EXPECT_EQ(q.NextDueMs(9000, 50), INT64_MAX);
  std::string enc;
  p.EncodeTo(&enc);
  std::string_view in = enc;
  ExpiryProfile back;
  ASSERT_TRUE(back.DecodeFrom(&in));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(back, p);
  // One value: every point is its deadline; all due at once.
  std::vector<int64_t> one = {5};
  ExpiryProfile single = ExpiryProfile::Of(&one);
  EXPECT_EQ(single.DueEighths(4), 0);
  EXPECT_EQ(single.DueEighths(5), 8);
  // Damaged: cut short, or points out of order.
  std::string_view cut = std::string_view(enc).substr(0, enc.size() - 1);
  EXPECT_FALSE(back.DecodeFrom(&cut));
  std::string disordered;
  PutVarint64(&disordered, 2);
  for (int j = 0; j < kExpiryPoints; j++) PutFixed64(&disordered, static_cast<uint64_t>(kExpiryPoints - j));
  in = disordered;
  EXPECT_FALSE(back.DecodeFrom(&in));
}

// Deadlines spread over time: the due estimate grows by eighths, so active
// expiry compacts a database once an eighth of its values with an expiry
// are due, not at every deadline.
TEST_F(ExpiryTest, TheDueEstimateGrowsByEighthsOfTheValuesThatExpire) {
  Open();
  const int64_t start = NowMs();
  for (int i = 1; i <= 800; i++) ASSERT_TRUE(PutExpiring(fmt::format("k{:03}", i), "v", start + i * 1000).ok());
  for (int i = 0; i < 800; i++) ASSERT_TRUE(Put(fmt::format("p{:03}", i), "v").ok());
  ASSERT_TRUE(db_->Flush().ok());
  auto summary = db_->Expiry(start + 50'000);
  EXPECT_EQ(summary.due_bytes, 0u) << "50 of 800 due: under an eighth";
  EXPECT_EQ(summary.next_due_ms, start + 100 * 1000);
  // What the eighths miss: from the earliest deadline on, at least one
  // value is due; the bytes of one, and of the whole database.
  EXPECT_EQ(summary.first_deadline_ms, start + 1000);
  EXPECT_GT(summary.value_bytes, 0u);
  EXPECT_GT(summary.local_bytes, 800u * summary.value_bytes);
  EXPECT_EQ(db_->GetStats().expired, 0u) << "a lower bound: no eighth is due";
  summary = db_->Expiry(start + 100'000);
  EXPECT_GT(summary.due_bytes, 0u);
  EXPECT_EQ(summary.first_deadline_ms, INT64_MAX) << "an eighth is due: the eighths see the segment";
  const uint64_t eighth = summary.due_bytes;
  summary = db_->Expiry(start + 800'000);
  EXPECT_NEAR(static_cast<double>(summary.due_bytes), 8.0 * static_cast<double>(eighth), 8.0);
  EXPECT_EQ(summary.next_due_ms, INT64_MAX);
  // What GetStats shows: every value with an expiry, the earliest, and the
  // space surely due now (none yet).
  DatabaseStats st = db_->GetStats();
  EXPECT_EQ(st.expiring, 800u);
  EXPECT_EQ(st.earliest_expiry_ms, start + 1000);
  EXPECT_EQ(st.expired, 0u);
  EXPECT_EQ(st.expired_bytes, 0u);
  // Three eighths due (300 of 800): counted as 300, with their space.
  clock_.AdvanceMillis(300'000);
  st = db_->GetStats();
  EXPECT_EQ(st.expired, 300u);
  EXPECT_NEAR(static_cast<double>(st.expired_bytes), 3.0 * static_cast<double>(eighth), 3.0);
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
