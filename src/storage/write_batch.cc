// WriteBatch encoding (docs/format.md, "Write batch"): a run of operations
//   u8 type (1 = put, 2 = put with expiry, 0 = delete) | varint key_len | key
//   | [varint value_len | value]
// where a put with expiry's value starts with its deadline (fixed64 Unix ms).

#include "ebb/write_batch.h"

#include <algorithm>
#include <functional>

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

void WriteBatch::PutWithExpiry(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  rep_.reserve(rep_.size() + key.size() + value.size() + kDeadlineBytes + 2 * kMaxVarint32Bytes + 1);
  rep_.push_back(static_cast<char>(ValueType::kValueWithDeadline));
  PutLengthPrefixed(&rep_, key);
  PutVarint32(&rep_, static_cast<uint32_t>(kDeadlineBytes + value.size()));
  PutFixed64(&rep_, static_cast<uint64_t>(expire_at_ms));
  rep_.append(value.data(), value.size());
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

bool ForEachBatchOp(std::string_view input,
                    const std::function<void(ValueType, std::string_view, std::string_view)>& op) {
  while (!input.empty()) {
    auto type = static_cast<ValueType>(input[0]);
    input.remove_prefix(1);
    std::string_view key, value;
    if (!GetLengthPrefixed(&input, &key)) return false;
    if (type == ValueType::kValue || type == ValueType::kValueWithDeadline) {
      if (!GetLengthPrefixed(&input, &value)) return false;
      if (type == ValueType::kValueWithDeadline && value.size() < kDeadlineBytes) return false;
      op(type, key, value);
    } else if (type == ValueType::kDeletion) {
      op(type, key, {});
    } else {
      return false;
    }
  }
  return true;
}

void WriteBatch::Iterate(Handler* handler) const {
  ForEachBatchOp(rep_, [&](ValueType type, std::string_view k, std::string_view stored) {
    int64_t deadline = 0;
    std::string_view v;
    switch (type) {
      case ValueType::kValue:
        handler->Put(k, stored);
        break;
      case ValueType::kValueWithDeadline:
        DecodeValueWithDeadline(stored, &deadline, &v);
        handler->PutWithExpiry(k, v, deadline);
        break;
      case ValueType::kDeletion:
        handler->Delete(k);
        break;
    }
  });
}

bool WriteBatch::SetRep(std::string rep) {
  uint32_t count = 0;
  size_t max_key = 0, max_value = 0;
  bool ok = ForEachBatchOp(rep, [&](ValueType type, std::string_view k, std::string_view stored) {
    count++;
    max_key = std::max(max_key, k.size());
    if (type != ValueType::kDeletion) {
      max_value = std::max(max_value, stored.size() - (type == ValueType::kValueWithDeadline ? kDeadlineBytes : 0));
    }
  });
  if (!ok) return false;
  rep_ = std::move(rep);
  count_ = count;
  max_key_bytes_ = max_key;
  max_value_bytes_ = max_value;
  return true;
}

}  // namespace ebb
