#include "storage/memtable.h"

#include <algorithm>
#include <bit>
#include <atomic>
#include <cstring>

#include "base/coding.h"
#include "base/logging.h"
#include "storage/bloom.h"

namespace ebb {
namespace {

inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline std::string_view DecodeLengthPrefixed(const char* p) {
  return std::string_view(p + 4, DecodeFixed32(p));
}

// An entry's internal key, user key and sequence.
inline std::string_view EntryInternalKey(const char* entry) { return DecodeLengthPrefixed(entry); }
inline std::string_view EntryUserKey(const char* entry) { return ExtractUserKey(EntryInternalKey(entry)); }
inline SequenceNumber EntrySequence(const char* entry) { return ExtractTag(EntryInternalKey(entry)) >> 8; }

}  // namespace

// Open addressing with linear probing over a fixed power-of-two number of
// slots. A slot is 0 (empty) or the address of an entry in the arena with
// 16 bits of its key's hash above it (user-space addresses fit in 48 bits),
// so a probe that passes another key's slot rarely reads that entry.
// Writers claim an empty slot, or replace an older entry of their key, by
// compare-and-swap; slots never empty again. Readers never block.
//
// A key lives within kMaxProbes slots of its home slot. A write that finds
// no room there marks the index full, and from then on it answers nothing
// (the skip list does). Sized for at most 3/4 use, probes average about
// two and rarely pass a dozen; the bound is reached only when the table
// holds far more keys than it was sized for. (A count of used slots would
// be a counter every writer thread updates.) The write marks the index
// before it returns, so before its sequence can become visible: a read
// whose sequence covers a write the index lacks sees the mark. Writes after
// the mark still update keys already indexed; nobody reads them.
class MemTable::PointIndex {
 public:
  enum class Found { kAbsent, kEntry, kUnknown };

  explicit PointIndex(size_t slots) : mask_(slots - 1), slots_(new std::atomic<uint64_t>[slots]) {
    EBB_CHECK(std::has_single_bit(slots));
    for (size_t i = 0; i < slots; i++) slots_[i].store(0, std::memory_order_relaxed);
  }

  // Makes `entry` the indexed entry of its key unless a newer one is.
  void Add(const char* entry, uint64_t hash) {
    const uint64_t address = reinterpret_cast<uintptr_t>(entry);
    EBB_DCHECK((address & kTagMask) == 0);
    const uint64_t mine = (hash & kTagMask) | address;
    const std::string_view user_key = EntryUserKey(entry);
    const SequenceNumber seq = EntrySequence(entry);
    size_t i = hash & mask_;
    for (size_t probes = 0; probes < Probes(); probes++, i = (i + 1) & mask_) {
      uint64_t cur = slots_[i].load(std::memory_order_acquire);
      while (true) {
        if (cur == 0) {
          if (slots_[i].compare_exchange_strong(cur, mine, std::memory_order_acq_rel, std::memory_order_acquire)) {
            return;
          }
          continue;  // taken meanwhile: look at who took it
        }
        if ((cur & kTagMask) != (hash & kTagMask) || EntryUserKey(Entry(cur)) != user_key) break;
        if (EntrySequence(Entry(cur)) >= seq) return;  // a newer version is indexed
        if (slots_[i].compare_exchange_weak(cur, mine, std::memory_order_acq_rel, std::memory_order_acquire)) {
          return;
        }
      }
    }
    full_.store(true, std::memory_order_release);
  }

  // The newest entry of `user_key`: kEntry (in *entry), kAbsent, or
  // kUnknown once the index is full.
  Found Find(std::string_view user_key, uint64_t hash, const char** entry) const {
    if (full_.load(std::memory_order_acquire)) return Found::kUnknown;
    size_t i = hash & mask_;
    for (size_t probes = 0; probes < Probes(); probes++, i = (i + 1) & mask_) {
      const uint64_t cur = slots_[i].load(std::memory_order_acquire);
      if (cur == 0) return Found::kAbsent;
      if ((cur & kTagMask) == (hash & kTagMask) && EntryUserKey(Entry(cur)) == user_key) {
        *entry = Entry(cur);
        return Found::kEntry;
      }
    }
    return Found::kAbsent;  // every key is within Probes() of its home
  }

  // Starts loading the slot Find(hash) reads first.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }

  bool full() const { return full_.load(std::memory_order_acquire); }
  size_t bytes() const { return (mask_ + 1) * sizeof(uint64_t); }

 private:
  static constexpr uint64_t kTagMask = ~((uint64_t{1} << 48) - 1);
  static constexpr size_t kMaxProbes = 64;
  static const char* Entry(uint64_t slot) { return reinterpret_cast<const char*>(slot & ~kTagMask); }
  size_t Probes() const { return std::min(kMaxProbes, mask_ + 1); }

  const size_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::atomic<bool> full_{false};
};

int MemTable::KeyComparator::operator()(const char* a, const char* b) const {
  uint32_t la = DecodeFixed32(a), lb = DecodeFixed32(b);
  size_t ua = la - 8, ub = lb - 8;
  size_t common = std::min(ua, ub);
  // Compare 8 bytes at a time as big-endian words, without a call to
  // memcmp: keys that share a long prefix (zero-padded numbers, a common
  // path) are decided a word at a time, and the rest on the first word.
  const char* pa = a + 4;
  const char* pb = b + 4;
  size_t n = common;
  for (; n >= 8; n -= 8, pa += 8, pb += 8) {
    uint64_t wa = DecodeBigEndian64(pa), wb = DecodeBigEndian64(pb);
    if (wa != wb) return wa < wb ? -1 : 1;
  }
  int r = n == 0 ? 0 : std::memcmp(pa, pb, n);
  if (r == 0) {
    if (ua != ub) return ua < ub ? -1 : 1;
    uint64_t ta = DecodeFixed64(a + 4 + ua), tb = DecodeFixed64(b + 4 + ub);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  return r;
}

MemTable::MemTable(uint64_t min_journal_file, size_t live_filter_bytes)
    : min_journal_file_(min_journal_file), list_(KeyComparator(), &arena_), live_filter_bytes_(live_filter_bytes) {}

MemTable::~MemTable() = default;

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value) {
  Insert(seq, type, key, value);
  entries_.fetch_add(1, std::memory_order_relaxed);  // before CountPayload, which may size the index by it
  CountPayload(key.size() + value.size());
  if (type == ValueType::kDeletion) tombstones_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t MemTable::AddBatch(SequenceNumber first_seq, const WriteBatch& batch) {
  SequenceNumber seq = first_seq;
  uint64_t bytes = 0;
  uint64_t tombstones = 0;
  uint64_t expiring = 0;
  int64_t earliest = INT64_MAX;
  ForEachBatchOp(batch.rep(), [&](ValueType type, std::string_view key, std::string_view stored) {
    Insert(seq++, type, key, stored);
    bytes += key.size() + stored.size();
    if (type == ValueType::kDeletion) tombstones++;
    if (type == ValueType::kValueWithDeadline) {  // the batch checked the size
      expiring++;
      earliest = std::min(earliest, static_cast<int64_t>(DecodeFixed64(stored.data())));
    }
  });
  entries_.fetch_add(seq - first_seq, std::memory_order_relaxed);  // before CountPayload (see Add)
  CountPayload(bytes);
  if (tombstones) tombstones_.fetch_add(tombstones, std::memory_order_relaxed);
  if (expiring) {
    expiring_.fetch_add(expiring, std::memory_order_relaxed);
    int64_t seen = earliest_expiry_ms_.load(std::memory_order_relaxed);
    while (earliest < seen && !earliest_expiry_ms_.compare_exchange_weak(seen, earliest, std::memory_order_relaxed)) {
    }
  }
  return bytes;
}

void MemTable::Insert(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value) {
  size_t ikey_len = key.size() + 8;
  size_t encoded = 4 + ikey_len + 4 + value.size();
  char* buf = list_.AllocateKey(encoded);
  EncodeFixed32(buf, static_cast<uint32_t>(ikey_len));
  char* p = buf + 4;
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  EncodeFixed64(p, PackTag(seq, type));
  p += 8;
  EncodeFixed32(p, static_cast<uint32_t>(value.size()));
  p += 4;
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  list_.Insert(buf);
  if (live_filter_bytes_ == 0) return;
  // Acquire: the filter's construction happens before its use here.
  ConcurrentBloom* live = live_.load(std::memory_order_acquire);
  if (live == nullptr) {
    // Not published yet, as far as this thread has seen. MakeLiveFilter
    // does the same read-modify-write after publishing; the two are
    // ordered, so either this insert's list link happens before its scan
    // (which then finds the key) or the publication happens before the
    // load below (which then sees the filter).
    publish_order_.fetch_add(0, std::memory_order_acq_rel);
    live = live_.load(std::memory_order_acquire);
  }
  if (live != nullptr) {
    const uint64_t hash = BloomHash(key);
    live->Add(hash);
    index_->Add(buf, hash);  // made before live_ was published
  }
}

void MemTable::CountPayload(uint64_t bytes) {
  const uint64_t total = payload_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (live_filter_bytes_ == 0 || total < 4 * live_filter_bytes_) return;
  if (live_claimed_.load(std::memory_order_relaxed) || live_claimed_.exchange(true, std::memory_order_acq_rel)) return;
  MakeLiveFilter();
}

void MemTable::MakeLiveFilter() {
  // The table holds a sixteenth of the payload it will have when full (see
  // the constructor); the index gets 4/3 of the keys that makes, rounded
  // up to a power of two, so it stays below 3/4 use unless the table's
  // entries shrink or it overshoots its size.
  const uint64_t expected = std::max<uint64_t>(entries_.load(std::memory_order_relaxed), 1) * 16;
  index_ = std::make_unique<PointIndex>(std::bit_ceil(expected * 4 / 3 + 1));
  live_storage_ = std::make_unique<ConcurrentBloom>(live_filter_bytes_);
  live_.store(live_storage_.get(), std::memory_order_release);
  publish_order_.fetch_add(1, std::memory_order_acq_rel);  // see Insert
  SkipList<KeyComparator>::Iterator it(&list_);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    const uint64_t hash = BloomHash(EntryUserKey(it.key()));
    live_storage_->Add(hash);
    index_->Add(it.key(), hash);
  }
  live_complete_.store(true, std::memory_order_release);
}

const MemTable::PointIndex* MemTable::ServingIndex() const {
  if (!live_complete_.load(std::memory_order_acquire)) return nullptr;
  return index_.get();
}

size_t MemTable::IndexBytes() const {
  const PointIndex* index = ServingIndex();
  return index == nullptr ? 0 : index->bytes();
}

bool MemTable::IndexServes() const {
  const PointIndex* index = ServingIndex();
  return index != nullptr && !index->full();
}

bool MemTable::Get(std::string_view key, SequenceNumber seq, std::string* value, ValueType* type) const {
  return Get(key, BloomHash(key), seq, value, type);
}

bool MemTable::Get(std::string_view key, uint64_t bloom_hash, SequenceNumber seq, std::string* value,
                   ValueType* type) const {
  const char* entry = nullptr;
  if (const PointIndex* index = ServingIndex()) {
    switch (index->Find(key, bloom_hash, &entry)) {
      case PointIndex::Found::kAbsent:
        return false;
      case PointIndex::Found::kEntry:
        if (EntrySequence(entry) > seq) entry = nullptr;  // newer than the read: an older one from the list
        break;
      case PointIndex::Found::kUnknown:
        break;
    }
  }
  if (entry == nullptr) {
    entry = SeekNewest(key, seq);
    if (entry == nullptr) return false;
  }
  std::string_view ikey = EntryInternalKey(entry);
  *type = static_cast<ValueType>(ExtractTag(ikey) & 0xff);
  if (*type != ValueType::kDeletion) {
    std::string_view v = DecodeLengthPrefixed(ikey.data() + ikey.size());
    value->assign(v.data(), v.size());
  }
  return true;
}

const char* MemTable::SeekNewest(std::string_view key, SequenceNumber seq) const {
  // Small keys are looked up without touching the heap.
  char stack[256];
  std::string heap;
  char* lookup = stack;
  if (key.size() + 12 > sizeof(stack)) {
    heap.resize(key.size() + 12);
    lookup = heap.data();
  }
  EncodeFixed32(lookup, static_cast<uint32_t>(key.size() + 8));
  std::memcpy(lookup + 4, key.data(), key.size());
  EncodeFixed64(lookup + 4 + key.size(), PackTag(seq, kValueTypeForSeek));
  SkipList<KeyComparator>::Iterator it(&list_);
  it.Seek(lookup);
  if (!it.Valid() || EntryUserKey(it.key()) != key) return nullptr;
  return it.key();
}

void MemTable::BuildFilter(int bits_per_key) {
  if (filter_claimed_.exchange(true, std::memory_order_acq_rel)) return;
  BloomBuilder builder(bits_per_key);
  SkipList<KeyComparator>::Iterator it(&list_);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    builder.AddKey(ExtractUserKey(DecodeLengthPrefixed(it.key())));  // versions of a key are adjacent
  }
  filter_storage_ = std::make_unique<const std::string>(builder.Finish());
  filter_.store(filter_storage_.get(), std::memory_order_release);
}

bool MemTable::MayContain(uint64_t bloom_hash) const {
  if (const std::string* filter = filter_.load(std::memory_order_acquire)) {
    return BloomMayContainHash(*filter, bloom_hash);
  }
  if (!live_complete_.load(std::memory_order_acquire)) return true;
  return live_.load(std::memory_order_relaxed)->MayContain(bloom_hash);
}

void MemTable::PrefetchFilter(uint64_t bloom_hash) const {
  if (const std::string* filter = filter_.load(std::memory_order_acquire)) {
    BloomPrefetch(*filter, bloom_hash);
  } else if (live_complete_.load(std::memory_order_acquire)) {
    live_.load(std::memory_order_relaxed)->Prefetch(bloom_hash);
  }
}

void MemTable::PrefetchIndex(uint64_t bloom_hash) const {
  if (const PointIndex* index = ServingIndex()) index->Prefetch(bloom_hash);
}

class MemTableIterator final : public InternalIterator {
 public:
  explicit MemTableIterator(const SkipList<MemTable::KeyComparator>* list) : it_(list) {}
  bool Valid() const override { return it_.Valid(); }
  void SeekToFirst() override { it_.SeekToFirst(); }
  void Seek(std::string_view target) override {
    scratch_.clear();
    PutFixed32(&scratch_, static_cast<uint32_t>(target.size()));
    scratch_.append(target.data(), target.size());
    it_.Seek(scratch_.data());
  }
  void Next() override { it_.Next(); }
  std::string_view key() const override { return DecodeLengthPrefixed(it_.key()); }
  std::string_view value() const override {
    std::string_view k = key();
    return DecodeLengthPrefixed(k.data() + k.size());
  }
  Status status() const override { return Status::OK(); }

 private:
  SkipList<MemTable::KeyComparator>::Iterator it_;
  std::string scratch_;
};

std::unique_ptr<InternalIterator> MemTable::NewIterator() const {
  return std::make_unique<MemTableIterator>(&list_);
}

}  // namespace ebb
