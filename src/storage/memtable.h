// MemTable: the in-memory, sorted buffer of a database's recent writes. Many
// writers insert concurrently (each write applies its own batch, without the
// database lock); readers never block. Entries are never removed; the whole
// table is flushed to a segment and dropped.
//
// Entry encoding, inside its skip-list node in the arena (fixed-width lengths: the comparator runs
// ~20 times per insert and must not decode varints):
//   u32 internal_key_len | internal_key | u32 value_len | value
//
// A table large enough to get a live filter (below) also gets a point
// index: a hash table from each user key to its newest entry, beside the
// skip list, so a point read of a key the table holds costs a probe or two
// instead of a skip-list search (about twenty key comparisons, each a cache
// miss in a large table).

#ifndef EBB_STORAGE_MEMTABLE_H_
#define EBB_STORAGE_MEMTABLE_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "ebb/write_batch.h"
#include "storage/arena.h"
#include "storage/bloom.h"
#include "storage/format.h"
#include "storage/internal_iterator.h"
#include "storage/skiplist.h"

namespace ebb {

class MemTable {
 public:
  // `min_journal_file`: the journal file that was current when the table was
  // created; every record in the table is in that file or a later one.
  // `live_filter_bytes` (0: none): once the table holds four times that in
  // keys and values, it gets a filter of that size that every later write
  // adds to, so reads of absent keys skip the active table too (a small
  // table is searched faster than a filter pays for, and a store of many
  // small databases spends nothing on them).
  // The point index is made with the live filter, sized for the entries
  // the table will hold when its payload reaches 16 times the threshold
  // (what DatabaseCore's sizes give: memtable_bytes / 64 of filter).
  explicit MemTable(uint64_t min_journal_file, size_t live_filter_bytes = 0);
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Thread-safe. Each (key, seq) must be unique.
  void Add(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value);
  // Adds every operation of `batch` with sequences first_seq, first_seq+1,
  // ... (counters updated once for the batch). Returns the key and value
  // bytes added, as payload_bytes counts them. Thread-safe.
  uint64_t AddBatch(SequenceNumber first_seq, const WriteBatch& batch);

  // The newest entry for key with sequence <= seq. Returns false if none;
  // else sets *type and, for values, *value.
  bool Get(std::string_view key, SequenceNumber seq, std::string* value, ValueType* type) const;
  // The same with the key's BloomHash computed by the caller (once for all
  // the tables and segments a read looks at).
  bool Get(std::string_view key, uint64_t bloom_hash, SequenceNumber seq, std::string* value,
           ValueType* type) const;

  // Iterates every entry (all versions). The memtable must outlive it.
  std::unique_ptr<InternalIterator> NewIterator() const;

  // A Bloom filter over the table's user keys, for a table no write can
  // reach any more (DatabaseCore builds it once the table's last write has
  // completed): reads of absent keys then skip the table. Builds and
  // installs it; the first caller does the work, later calls return at
  // once. Until installed, MayContain answers true.
  void BuildFilter(int bits_per_key);
  // False only if the key is certainly absent: by the filter above, or by
  // the live filter once it is complete.
  bool MayContain(uint64_t bloom_hash) const;  // BloomHash of the user key
  // Start loading what MayContain(bloom_hash), and what Get of that key,
  // read first: a caller with many keys prefetches them all before probing
  // any, so their cache misses overlap.
  void PrefetchFilter(uint64_t bloom_hash) const;
  void PrefetchIndex(uint64_t bloom_hash) const;
  bool has_filter() const { return filter_.load(std::memory_order_acquire) != nullptr; }

  // The arena's blocks (the filter, about bits_per_key / 8 bytes per key,
  // is not counted).
  size_t MemoryUsage() const { return arena_.MemoryUsage(); }
  // Bytes of the point index (0 until it is made): 8 per slot, 1.3 to 2.7
  // slots per key at the size it was made for.
  size_t IndexBytes() const;
  // Whether point reads are answered by the index (made, filled with every
  // entry, and not full). For tests.
  bool IndexServes() const;
  // Bytes of keys and values added.
  uint64_t payload_bytes() const { return payload_bytes_.load(std::memory_order_relaxed); }
  uint64_t entries() const { return entries_.load(std::memory_order_relaxed); }
  uint64_t tombstones() const { return tombstones_.load(std::memory_order_relaxed); }
  // Values with an expiry written here, and the earliest deadline (Unix ms;
  // INT64_MAX when none).
  uint64_t expiring() const { return expiring_.load(std::memory_order_relaxed); }
  int64_t earliest_expiry_ms() const { return earliest_expiry_ms_.load(std::memory_order_relaxed); }
  bool empty() const { return entries() == 0; }
  uint64_t min_journal_file() const { return min_journal_file_; }

 private:
  // Inserts one entry; the caller updates the counters.
  void Insert(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value);
  // Adds `bytes` to payload_bytes_, making the live filter when the table
  // has grown to its threshold.
  void CountPayload(uint64_t bytes);
  // Makes the live filter: published first (writes from then on add their
  // keys), then every key already in the list added, then marked complete.
  // An insert that raced the publication is in one or the other (Insert).
  void MakeLiveFilter();

  struct KeyComparator {
    int operator()(const char* a, const char* b) const;
  };
  friend class MemTableIterator;
  class PointIndex;
  // The index once filled with every entry, else nullptr.
  const PointIndex* ServingIndex() const;
  // The newest entry of key with sequence <= seq, from the skip list.
  const char* SeekNewest(std::string_view key, SequenceNumber seq) const;

  const uint64_t min_journal_file_;
  Arena arena_;
  SkipList<KeyComparator> list_;
  std::atomic<uint64_t> payload_bytes_{0};
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> tombstones_{0};
  std::atomic<uint64_t> expiring_{0};
  std::atomic<int64_t> earliest_expiry_ms_{INT64_MAX};
  std::atomic<bool> filter_claimed_{false};
  std::unique_ptr<const std::string> filter_storage_;  // written once, before filter_
  std::atomic<const std::string*> filter_{nullptr};
  const size_t live_filter_bytes_;
  std::atomic<bool> live_claimed_{false};
  std::unique_ptr<ConcurrentBloom> live_storage_;  // written once, before live_
  std::atomic<ConcurrentBloom*> live_{nullptr};
  // Written once, before live_ (so a writer that sees the filter sees it).
  std::unique_ptr<PointIndex> index_;
  std::atomic<bool> live_complete_{false};
  // Orders an insert that saw no live filter against its publication.
  std::atomic<uint64_t> publish_order_{0};
};

}  // namespace ebb

#endif  // EBB_STORAGE_MEMTABLE_H_
