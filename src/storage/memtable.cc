#include "storage/memtable.h"

#include <cstring>

#include "base/coding.h"

namespace ebb {
namespace {

std::string_view DecodeLengthPrefixed(const char* p) {
  uint32_t len = 0;
  const char* q = DecodeVarint32(p, p + 5, &len);
  return std::string_view(q, len);
}

}  // namespace

int MemTable::KeyComparator::operator()(const char* a, const char* b) const {
  return CompareInternalKeys(DecodeLengthPrefixed(a), DecodeLengthPrefixed(b));
}

MemTable::MemTable(uint64_t min_journal_file)
    : min_journal_file_(min_journal_file), list_(KeyComparator(), &arena_) {}

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view key, std::string_view value) {
  size_t ikey_len = key.size() + 8;
  size_t encoded = static_cast<size_t>(VarintLength(ikey_len)) + ikey_len +
                   static_cast<size_t>(VarintLength(value.size())) + value.size();
  char* buf = arena_.AllocateAligned(encoded);
  char* p = EncodeVarint32(buf, static_cast<uint32_t>(ikey_len));
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  EncodeFixed64(p, PackTag(seq, type));
  p += 8;
  p = EncodeVarint32(p, static_cast<uint32_t>(value.size()));
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  list_.Insert(buf);
  payload_bytes_.fetch_add(key.size() + value.size(), std::memory_order_relaxed);
  entries_.fetch_add(1, std::memory_order_relaxed);
  if (type == ValueType::kDeletion) tombstones_.fetch_add(1, std::memory_order_relaxed);
}

bool MemTable::Get(std::string_view key, SequenceNumber seq, std::string* value, ValueType* type) const {
  std::string lookup;
  lookup.reserve(key.size() + 13);
  PutVarint32(&lookup, static_cast<uint32_t>(key.size() + 8));
  AppendInternalKey(&lookup, key, seq, kValueTypeForSeek);
  SkipList<KeyComparator>::Iterator it(&list_);
  it.Seek(lookup.data());
  if (!it.Valid()) return false;
  std::string_view ikey = DecodeLengthPrefixed(it.key());
  if (ExtractUserKey(ikey) != key) return false;
  *type = static_cast<ValueType>(ExtractTag(ikey) & 0xff);
  if (*type == ValueType::kValue) {
    std::string_view v = DecodeLengthPrefixed(ikey.data() + ikey.size());
    value->assign(v.data(), v.size());
  }
  return true;
}

class MemTableIterator final : public InternalIterator {
 public:
  explicit MemTableIterator(const SkipList<MemTable::KeyComparator>* list) : it_(list) {}
  bool Valid() const override { return it_.Valid(); }
  void SeekToFirst() override { it_.SeekToFirst(); }
  void Seek(std::string_view target) override {
    scratch_.clear();
    PutVarint32(&scratch_, static_cast<uint32_t>(target.size()));
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
