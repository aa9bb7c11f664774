// The memtable and its skip list: ordering of internal keys (user key
// ascending, newest sequence first), lookups at a sequence, and concurrent
// inserts from several threads.

#include "storage/memtable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/random.h"
#include "storage/bloom.h"
#include "storage/format.h"

namespace ebb {
namespace {

std::string KeyOf(uint64_t i, size_t width) {
  std::string k = std::to_string(i);
  return std::string(width > k.size() ? width - k.size() : 0, '0') + k;
}

// Every entry of the memtable in iteration order, as (user key, sequence).
std::vector<std::pair<std::string, SequenceNumber>> Entries(const MemTable& mem) {
  std::vector<std::pair<std::string, SequenceNumber>> out;
  auto it = mem.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(std::string(ExtractUserKey(it->key())), ExtractTag(it->key()) >> 8);
  }
  return out;
}

TEST(MemTableTest, IteratesByUserKeyThenNewestSequenceFirst) {
  MemTable mem(1);
  // Keys share long prefixes and differ in length, in the first, second or
  // third 8-byte word, or in a tail shorter than a word (bytes above 0x7f
  // too), so every comparator path (word loop, then memcmp of the rest)
  // decides some pairs.
  const std::vector<std::string> keys = {"a", "ab", "abcdefgh", "abcdefghi", "abcdefgi", "abcdefgh\x01",
                                         "b", "abcdefg", "zzzzzzzzzzzzzzzz", "\xff\xfe", "",
                                         "0000000000123456", "0000000000123457", "0000000001123456",
                                         "00000000001234560", "000000000012345", "0000000000123456\x80",
                                         "abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwy",
                                         "abcdefghijklmnoqrstuvwx", "abcdefghijklmnopqrstuvwxyz\xff",
                                         "abcdefghijklmnopqrstuvwxyz\x7f",
                                         // Bytes above 0x7f inside compared words: an unsigned compare.
                                         "\x90" "bcdefgh", "\x10" "bcdefgh", "abcdefgh\x90" "bcdefgh", "abcdefgh\x10" "bcdefgh",
                                         "abcdefg\xff", "abcdefg\x01"};
  SequenceNumber seq = 1;
  std::map<std::string, std::vector<SequenceNumber>> model;
  for (int round = 0; round < 3; round++) {
    for (const auto& k : keys) {
      mem.Add(seq, ValueType::kValue, k, "v" + std::to_string(seq));
      model[k].push_back(seq++);
    }
  }
  std::vector<std::pair<std::string, SequenceNumber>> expected;
  for (auto& [k, seqs] : model) {
    for (auto s = seqs.rbegin(); s != seqs.rend(); ++s) expected.emplace_back(k, *s);
  }
  EXPECT_EQ(Entries(mem), expected);

  std::string value;
  ValueType type;
  ASSERT_TRUE(mem.Get("abcdefgh", seq, &value, &type));
  EXPECT_EQ(type, ValueType::kValue);
  EXPECT_EQ(value, "v" + std::to_string(model["abcdefgh"].back()));
  ASSERT_TRUE(mem.Get("abcdefgh", model["abcdefgh"][0], &value, &type));
  EXPECT_EQ(value, "v" + std::to_string(model["abcdefgh"][0]));
  EXPECT_FALSE(mem.Get("abcdefgh", model["abcdefgh"][0] - 1, &value, &type));
  EXPECT_FALSE(mem.Get("abcdefghh", seq, &value, &type));
}

TEST(MemTableTest, DeletionHidesOlderValue) {
  MemTable mem(1);
  mem.Add(1, ValueType::kValue, "key", "old");
  mem.Add(2, ValueType::kDeletion, "key", "");
  std::string value;
  ValueType type;
  ASSERT_TRUE(mem.Get("key", 2, &value, &type));
  EXPECT_EQ(type, ValueType::kDeletion);
  ASSERT_TRUE(mem.Get("key", 1, &value, &type));
  EXPECT_EQ(value, "old");
  EXPECT_EQ(mem.entries(), 2u);
  EXPECT_EQ(mem.tombstones(), 1u);
}

TEST(MemTableTest, FilterKeepsEveryKeyAndSkipsMostAbsentOnes) {
  MemTable mem(1);
  SequenceNumber seq = 1;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 5000; i++) mem.Add(seq++, ValueType::kValue, KeyOf(i, 10), "v");
  }
  mem.Add(seq++, ValueType::kDeletion, "deleted", "");
  EXPECT_TRUE(mem.MayContain(BloomHash("anything"))) << "no filter yet: everything may be there";
  EXPECT_FALSE(mem.has_filter());
  mem.BuildFilter(10);
  ASSERT_TRUE(mem.has_filter());
  mem.BuildFilter(10);  // a second call changes nothing
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(mem.MayContain(BloomHash(KeyOf(i, 10)))) << i;
  EXPECT_TRUE(mem.MayContain(BloomHash("deleted"))) << "tombstones must be found";
  int false_positives = 0;
  for (int i = 5000; i < 15000; i++) false_positives += mem.MayContain(BloomHash(KeyOf(i, 10))) ? 1 : 0;
  EXPECT_LT(false_positives, 300) << "about 1% expected at 10 bits per key";
}

TEST(MemTableTest, ConcurrentInsertsAllLandInOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  MemTable mem(1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&mem, t] {
      Random rnd(1000 + t);
      for (int i = 0; i < kPerThread; i++) {
        // Sequences are unique per entry; keys collide across threads.
        SequenceNumber seq = static_cast<SequenceNumber>(i) * kThreads + t + 1;
        mem.Add(seq, ValueType::kValue, KeyOf(rnd.Uniform(5000), 12), "x");
      }
    });
  }
  for (auto& th : threads) th.join();
  auto entries = Entries(mem);
  ASSERT_EQ(entries.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  }));
  std::set<SequenceNumber> seqs;
  for (const auto& e : entries) seqs.insert(e.second);
  EXPECT_EQ(seqs.size(), entries.size());
}

TEST(MemTableTest, LiveFilterIsMadeAtItsThresholdAndKeepsEveryLaterKey) {
  // 4 KiB filter: made once keys and values reach 16 KiB.
  MemTable mem(1, 4096);
  SequenceNumber seq = 1;
  int i = 0;
  for (; mem.payload_bytes() < 4 * 4096 - 64; i++) mem.Add(seq++, ValueType::kValue, KeyOf(i, 12), "value-value");
  EXPECT_TRUE(mem.MayContain(BloomHash("absent"))) << "below the threshold there is no filter";
  for (int j = 0; j < 200; j++, i++) mem.Add(seq++, ValueType::kValue, KeyOf(i, 12), "value-value");
  mem.Add(seq++, ValueType::kDeletion, "deleted", "");
  EXPECT_FALSE(mem.has_filter()) << "the complete filter is not built by the live one";
  for (int j = 0; j < i; j++) ASSERT_TRUE(mem.MayContain(BloomHash(KeyOf(j, 12)))) << j;
  EXPECT_TRUE(mem.MayContain(BloomHash("deleted"))) << "tombstones must be found";
  int false_positives = 0;
  for (int j = 100000; j < 110000; j++) false_positives += mem.MayContain(BloomHash(KeyOf(j, 12))) ? 1 : 0;
  EXPECT_LT(false_positives, 1000) << "about 32 bits per key here";
}

// kRaceThreads writers each make kRaceWrites calls write(t, i) into a table
// made with an 8 KiB live filter (so it crosses its threshold part-way),
// while a reader calls missed(t, n, rnd) with n >= 1 writes of thread t
// finished; returns how many times that said a finished write was missing.
constexpr int kRaceThreads = 3;
constexpr int kRaceWrites = 20000;
int RaceWritersAndReader(MemTable* mem, uint64_t seed, const std::function<void(int t, int i)>& write,
                         const std::function<bool(int t, int n, Random* rnd)>& missed) {
  std::vector<std::atomic<int>> done(kRaceThreads);
  for (auto& d : done) d.store(0);
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::thread reader([&] {
    Random rnd(seed);
    while (!stop.load()) {
      const int t = static_cast<int>(rnd.Uniform(kRaceThreads));
      const int n = done[t].load(std::memory_order_acquire);
      if (n > 0 && missed(t, n, &rnd)) misses.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kRaceThreads; t++) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kRaceWrites; i++) {
        write(t, i);
        done[t].store(i + 1, std::memory_order_release);
      }
    });
  }
  for (auto& th : writers) th.join();
  stop.store(true);
  reader.join();
  return misses.load();
}

TEST(MemTableTest, LiveFilterMadeDuringConcurrentInsertsMissesNoKey) {
  // Writers insert while one of them crosses the threshold and scans the
  // list: a key inserted at that moment is either added by its writer or
  // found by the scan. Readers probe meanwhile: once the filter is
  // complete, no key whose insert finished before the probe may be missing.
  for (int round = 0; round < 5; round++) {
    MemTable mem(1, 8192);
    const int misses = RaceWritersAndReader(
        &mem, 7 + round,
        [&](int t, int i) {
          mem.Add(static_cast<SequenceNumber>(i) * kRaceThreads + t + 1, ValueType::kValue,
                  KeyOf(i * kRaceThreads + t, 12), "v");
        },
        [&](int t, int n, Random* rnd) {
          const int i = static_cast<int>(rnd->Uniform(n));
          return !mem.MayContain(BloomHash(KeyOf(i * kRaceThreads + t, 12)));
        });
    EXPECT_EQ(misses, 0);
    for (int k = 0; k < kRaceThreads * kRaceWrites; k++) ASSERT_TRUE(mem.MayContain(BloomHash(KeyOf(k, 12)))) << k;
  }
}

// What Get must answer: the newest entry of key at or below seq, from a
// model of every (key, seq, type, value) added.
struct ModelEntry {
  SequenceNumber seq;
  ValueType type;
  std::string value;
};
using Model = std::map<std::string, std::vector<ModelEntry>>;  // per key, ascending seq

void ExpectGetMatchesModel(const MemTable& mem, const Model& model, SequenceNumber seq) {
  for (const auto& [key, versions] : model) {
    const ModelEntry* want = nullptr;
    for (const auto& v : versions) {
      if (v.seq <= seq) want = &v;
    }
    std::string value;
    ValueType type;
    const bool found = mem.Get(key, seq, &value, &type);
    ASSERT_EQ(found, want != nullptr) << key << " at " << seq;
    if (!found) continue;
    ASSERT_EQ(type, want->type) << key << " at " << seq;
    if (type != ValueType::kDeletion) ASSERT_EQ(value, want->value) << key << " at " << seq;
  }
}

TEST(MemTableTest, PointIndexAnswersEveryVersionAndSnapshot) {
  // 4 KiB of live filter: the index is made with it at 16 KiB of payload.
  MemTable mem(1, 4096);
  Model model;
  Random rnd(11);
  SequenceNumber seq = 1;
  while (mem.payload_bytes() < 12 * 4096) {
    const std::string key = KeyOf(rnd.Uniform(3000), 10);  // overwrites of a third of the keys or so
    const ValueType type = rnd.OneIn(10) ? ValueType::kDeletion : ValueType::kValue;
    const std::string value = type == ValueType::kDeletion ? "" : "v" + std::to_string(seq);
    mem.Add(seq, type, key, value);
    model[key].push_back({seq, type, value});
    seq++;
  }
  ASSERT_TRUE(mem.IndexServes());
  EXPECT_GT(mem.IndexBytes(), 0u);
  // The newest view, an older snapshot (the indexed entry is then too new
  // and the skip list answers), one before any write, and absent keys.
  ExpectGetMatchesModel(mem, model, kMaxSequenceNumber);
  ExpectGetMatchesModel(mem, model, seq / 2);
  ExpectGetMatchesModel(mem, model, 0);
  std::string value;
  ValueType type;
  for (int i = 3000; i < 4000; i++) EXPECT_FALSE(mem.Get(KeyOf(i, 10), kMaxSequenceNumber, &value, &type));
  EXPECT_FALSE(mem.Get("", kMaxSequenceNumber, &value, &type));
  EXPECT_FALSE(mem.Get(KeyOf(5, 9), kMaxSequenceNumber, &value, &type)) << "a prefix of an indexed key";
}

TEST(MemTableTest, FullPointIndexHandsReadsToTheSkipList) {
  // The index is sized from the entries the table held when it was made;
  // a table whose entries then shrink (big values first, tiny ones later)
  // outgrows it, and reads go to the skip list from then on.
  MemTable mem(1, 4096);
  Model model;
  SequenceNumber seq = 1;
  int i = 0;
  const std::string big(1000, 'b');
  for (; mem.payload_bytes() < 4 * 4096; i++, seq++) {
    mem.Add(seq, ValueType::kValue, KeyOf(i, 10), big);
    model[KeyOf(i, 10)].push_back({seq, ValueType::kValue, big});
  }
  ASSERT_TRUE(mem.IndexServes());
  for (int j = 0; j < 2000; j++, i++, seq++) {
    mem.Add(seq, ValueType::kValue, KeyOf(i, 10), "s");
    model[KeyOf(i, 10)].push_back({seq, ValueType::kValue, "s"});
  }
  EXPECT_FALSE(mem.IndexServes()) << "the index should have filled up (" << mem.IndexBytes() << " bytes)";
  ExpectGetMatchesModel(mem, model, kMaxSequenceNumber);
  ExpectGetMatchesModel(mem, model, seq / 2);
}

TEST(MemTableTest, PointIndexMadeDuringConcurrentWritesKeepsTheNewestVersion) {
  // Writers overwrite a shared set of keys with interleaved sequences while
  // one of them crosses the threshold and fills the index from the list;
  // readers look keys up meanwhile. Afterwards every key's newest entry is
  // what the index returns, and no read ever missed a key written before it.
  constexpr int kKeys = 4000;
  for (int round = 0; round < 3; round++) {
    MemTable mem(1, 8192);
    std::string value;
    ValueType type;
    const int misses = RaceWritersAndReader(
        &mem, 17 + round,
        [&](int t, int i) {
          const SequenceNumber seq = static_cast<SequenceNumber>(i) * kRaceThreads + t + 1;
          mem.Add(seq, ValueType::kValue, KeyOf(i % kKeys, 12), std::to_string(seq));
        },
        [&](int t, int n, Random* rnd) {
          // Thread t's first write of key k is its write k (k < kKeys).
          const int i = static_cast<int>(rnd->Uniform(std::min(n, kKeys)));
          return !mem.Get(KeyOf(i, 12), kMaxSequenceNumber, &value, &type);
        });
    EXPECT_EQ(misses, 0);
    ASSERT_TRUE(mem.IndexServes());
    // Key k's newest write: the largest i with i % kKeys == k, by the last thread.
    for (int k = 0; k < kKeys; k++) {
      const int last_i = (kRaceWrites - 1 - k) / kKeys * kKeys + k;
      const SequenceNumber newest = static_cast<SequenceNumber>(last_i) * kRaceThreads + kRaceThreads;
      ASSERT_TRUE(mem.Get(KeyOf(k, 12), kMaxSequenceNumber, &value, &type)) << k;
      ASSERT_EQ(value, std::to_string(newest)) << k;
    }
  }
}

}  // namespace
}  // namespace ebb
