// WriteBatch encoding (docs/format.md, "Write batch"): a run of operations
//   u8 type (1 = put, 0 = delete) | varint key_len | key | [varint value_len | value]

#include "ebb/write_batch.h"

#include <algorithm>

#include "base/coding.h"
#include "storage/format.h"

namespace ebb {

void WriteBatch::Put(std::string_view key, std::string_view value) {
  rep_.reserve(rep_.size() + key.size() + value.size() + 2 * kMaxVarint32Bytes + 1);
  rep_.push_back(static_cast<char>(ValueType::kValue));
  PutLengthPrefixed(&rep_, key);
  PutLengthPrefixed(&rep_, value);
  count_++;
  max_key_bytes_ = std::max(max_key_bytes_, key.size());
  max_value_bytes_ = std::max(max_value_bytes_, value.size());
}

void WriteBatch::Delete(std::string_view key) {
  rep_.push_back(static_cast<char>(ValueType::kDeletion));
  PutLengthPrefixed(&rep_, key);
  count_++;
  max_key_bytes_ = std::max(max_key_bytes_, key.size());
}

void WriteBatch::Clear() {
  rep_.clear();
  count_ = 0;
  max_key_bytes_ = 0;
  max_value_bytes_ = 0;
}

namespace {

// Calls put/del per operation; false if the encoding is malformed.
template <typename PutFn, typename DelFn>
bool ParseBatch(std::string_view input, PutFn put, DelFn del) {
  while (!input.empty()) {
    auto type = static_cast<ValueType>(input[0]);
    input.remove_prefix(1);
    std::string_view key, value;
    if (!GetLengthPrefixed(&input, &key)) return false;
    if (type == ValueType::kValue) {
      if (!GetLengthPrefixed(&input, &value)) return false;
      put(key, value);
    } else if (type == ValueType::kDeletion) {
      del(key);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

void WriteBatch::Iterate(Handler* handler) const {
  ParseBatch(
      rep_, [&](std::string_view k, std::string_view v) { handler->Put(k, v); },
      [&](std::string_view k) { handler->Delete(k); });
}

bool WriteBatch::SetRep(std::string rep) {
  uint32_t count = 0;
  size_t max_key = 0, max_value = 0;
  bool ok = ParseBatch(
      rep,
      [&](std::string_view k, std::string_view v) {
        count++;
        max_key = std::max(max_key, k.size());
        max_value = std::max(max_value, v.size());
      },
      [&](std::string_view k) {
        count++;
        max_key = std::max(max_key, k.size());
      });
  if (!ok) return false;
  rep_ = std::move(rep);
  count_ = count;
  max_key_bytes_ = max_key;
  max_value_bytes_ = max_value;
  return true;
}

}  // namespace ebb
