#include "storage/memtable.h"

#include <algorithm>
#include <bit>
#include <atomic>
#include <cstring>

#include "base/coding.h"
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

}  // namespace

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

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value) {
  Insert(seq, type, key, value);
  CountPayload(key.size() + value.size());
  entries_.fetch_add(1, std::memory_order_relaxed);
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
  CountPayload(bytes);
  entries_.fetch_add(seq - first_seq, std::memory_order_relaxed);
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
  if (live != nullptr) live->Add(BloomHash(key));
}

void MemTable::CountPayload(uint64_t bytes) {
  const uint64_t total = payload_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (live_filter_bytes_ == 0 || total < 4 * live_filter_bytes_) return;
  if (live_claimed_.load(std::memory_order_relaxed) || live_claimed_.exchange(true, std::memory_order_acq_rel)) return;
  MakeLiveFilter();
}

void MemTable::MakeLiveFilter() {
  live_storage_ = std::make_unique<ConcurrentBloom>(live_filter_bytes_);
  live_.store(live_storage_.get(), std::memory_order_release);
  publish_order_.fetch_add(1, std::memory_order_acq_rel);  // see Insert
  SkipList<KeyComparator>::Iterator it(&list_);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    live_storage_->Add(BloomHash(ExtractUserKey(DecodeLengthPrefixed(it.key()))));
  }
  live_complete_.store(true, std::memory_order_release);
}

bool MemTable::Get(std::string_view key, SequenceNumber seq, std::string* value, ValueType* type) const {
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
  if (!it.Valid()) return false;
  std::string_view ikey = DecodeLengthPrefixed(it.key());
  if (ExtractUserKey(ikey) != key) return false;
  *type = static_cast<ValueType>(ExtractTag(ikey) & 0xff);
  if (*type != ValueType::kDeletion) {
    std::string_view v = DecodeLengthPrefixed(ikey.data() + ikey.size());
    value->assign(v.data(), v.size());
  }
  return true;
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
