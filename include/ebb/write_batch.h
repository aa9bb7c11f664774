// Copyright Ebb authors. Public API.
//
// WriteBatch: puts and deletes applied to one database atomically: after a
// crash either all of a batch is visible or none of it, and readers never see
// part of a batch.
//
// Thread safety: not thread-safe; build a batch on one thread, then hand it
// to Database::Write.

#ifndef EBB_WRITE_BATCH_H_
#define EBB_WRITE_BATCH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ebb/export.h"

namespace ebb {

class EBB_EXPORT WriteBatch {
 public:
  WriteBatch() = default;

  void Put(std::string_view key, std::string_view value);
  // A put whose value expires at `expire_at_ms` (Unix time in milliseconds,
  // UTC): from that moment reads find the key absent, iterators skip it,
  // and compaction drops it with its older versions. A later Put without an
  // expiry replaces it with a value that does not expire.
  void PutWithExpiry(std::string_view key, std::string_view value, int64_t expire_at_ms);
  void Delete(std::string_view key);
  void Clear();

  // Number of operations.
  uint32_t Count() const { return count_; }
  bool Empty() const { return count_ == 0; }
  // Bytes of keys and values held.
  size_t PayloadBytes() const { return rep_.size(); }
  // The longest key and the longest value in the batch (checked against the
  // store's limits without walking the batch).
  size_t MaxKeyBytes() const { return max_key_bytes_; }
  size_t MaxValueBytes() const { return max_value_bytes_; }

  // Calls handler for each operation in insertion order.
  class EBB_EXPORT Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(std::string_view key, std::string_view value) = 0;
    virtual void Delete(std::string_view key) = 0;
    // A put with an expiry; handlers that do not override it see a Put.
    virtual void PutWithExpiry(std::string_view key, std::string_view value, int64_t expire_at_ms) {
      (void)expire_at_ms;
      Put(key, value);
    }
  };
  void Iterate(Handler* handler) const;

  // Encoded operations (docs/format.md, "Write batch"). For the engine.
  const std::string& rep() const { return rep_; }
  // Replaces the contents with an encoded representation; false if malformed.
  bool SetRep(std::string rep);

 private:
  std::string rep_;
  uint32_t count_ = 0;
  size_t max_key_bytes_ = 0;
  size_t max_value_bytes_ = 0;
};

}  // namespace ebb

#endif  // EBB_WRITE_BATCH_H_
