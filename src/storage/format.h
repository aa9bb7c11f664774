// Internal keys, value types, file names and hard limits shared by the
// storage layer. On-disk formats are described in docs/format.md.

#ifndef EBB_STORAGE_FORMAT_H_
#define EBB_STORAGE_FORMAT_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "ebb/status.h"

namespace ebb {

// Per-database sequence numbers: every write batch takes Count() numbers.
using SequenceNumber = uint64_t;
inline constexpr SequenceNumber kMaxSequenceNumber = (uint64_t{1} << 56) - 1;

enum class ValueType : uint8_t {
  kDeletion = 0,
  kValue = 1,
  // A value with an expiry: the stored value is the deadline (Unix time in
  // milliseconds, fixed64) followed by the user's value.
  kValueWithDeadline = 2,
};
// Seeks use the highest type so that (key, seq) finds every entry <= seq.
inline constexpr ValueType kValueTypeForSeek = ValueType::kValueWithDeadline;
inline constexpr uint8_t kMaxValueType = static_cast<uint8_t>(ValueType::kValueWithDeadline);
inline constexpr size_t kDeadlineBytes = 8;

// The stored value of a kValueWithDeadline entry.
inline std::string EncodeValueWithDeadline(int64_t expire_at_ms, std::string_view value) {
  std::string s;
  s.reserve(kDeadlineBytes + value.size());
  PutFixed64(&s, static_cast<uint64_t>(expire_at_ms));
  s.append(value.data(), value.size());
  return s;
}

// Splits a kValueWithDeadline entry's stored value; false if it is too
// short to hold a deadline.
inline bool DecodeValueWithDeadline(std::string_view stored, int64_t* expire_at_ms, std::string_view* value) {
  if (stored.size() < kDeadlineBytes) return false;
  *expire_at_ms = static_cast<int64_t>(DecodeFixed64(stored.data()));
  *value = stored.substr(kDeadlineBytes);
  return true;
}

// The deadlines of a segment's values with an expiry, in summary: how many,
// and nine points of their sorted order (Unix ms): the earliest, each eighth,
// the latest. From it, active expiry estimates what share of those values
// is due (at least j/8 once the j-th point has passed) without reading a
// key, and when that share next grows.
inline constexpr int kExpiryPoints = 9;
struct ExpiryProfile {
  uint64_t count = 0;
  std::array<int64_t, kExpiryPoints> points{};  // ascending; meaningless when count == 0

  bool empty() const { return count == 0; }
  int64_t earliest_ms() const { return points[0]; }
  // Builds the profile of `deadlines` (sorted in place).
  static ExpiryProfile Of(std::vector<int64_t>* deadlines);
  // Eighths of the values surely due at `now_ms` (0..8).
  int DueEighths(int64_t now_ms) const {
    int due = 0;
    for (int j = 1; j < kExpiryPoints; j++) due += count != 0 && points[j] <= now_ms ? 1 : 0;
    return due;
  }
  // When DueEighths next grows (Unix ms), INT64_MAX if it cannot. Eighths
  // that come due within `coalesce_ms` of the one before join it: the time
  // returned is then the last of them (values written together with one
  // TTL are one batch, not eight a few milliseconds apart).
  int64_t NextDueMs(int64_t now_ms, int64_t coalesce_ms = 0) const {
    for (int j = 1; j < kExpiryPoints; j++) {
      if (count == 0 || points[j] <= now_ms) continue;
      while (j + 1 < kExpiryPoints && points[j + 1] - points[j] <= coalesce_ms) j++;
      return points[j];
    }
    return INT64_MAX;
  }
  // varint count, then (when count > 0) kExpiryPoints fixed64.
  void EncodeTo(std::string* dst) const;
  bool DecodeFrom(std::string_view* in);
  bool operator==(const ExpiryProfile&) const = default;
};

// Calls `op` with each operation of an encoded write batch (docs/format.md,
// "Write batch"): its type, key and stored value (a put with expiry's value
// starts with its deadline). False if the encoding is malformed.
bool ForEachBatchOp(std::string_view rep,
                    const std::function<void(ValueType, std::string_view, std::string_view)>& op);

// Whether an entry reads as absent at `now_ms`: a tombstone, or a value
// whose deadline has come (a deadline that cannot be decoded counts as
// come: the entry is damaged, and absent is what it can be read as).
inline bool ReadsAsAbsent(ValueType type, std::string_view stored, int64_t now_ms) {
  if (type == ValueType::kDeletion) return true;
  if (type != ValueType::kValueWithDeadline) return false;
  int64_t deadline;
  std::string_view value;
  return !DecodeValueWithDeadline(stored, &deadline, &value) || deadline <= now_ms;
}

// An internal key is the user key followed by an 8-byte tag:
// (sequence << 8) | type, little-endian. Internal keys sort by user key
// ascending, then sequence descending, so the newest version comes first.
inline uint64_t PackTag(SequenceNumber seq, ValueType type) { return (seq << 8) | static_cast<uint8_t>(type); }

struct ParsedInternalKey {
  std::string_view user_key;
  SequenceNumber sequence = 0;
  ValueType type = ValueType::kValue;
};

inline void AppendInternalKey(std::string* dst, std::string_view user_key, SequenceNumber seq, ValueType type) {
  dst->append(user_key.data(), user_key.size());
  PutFixed64(dst, PackTag(seq, type));
}

inline std::string MakeInternalKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
  std::string s;
  s.reserve(user_key.size() + 8);
  AppendInternalKey(&s, user_key, seq, type);
  return s;
}

inline std::string_view ExtractUserKey(std::string_view internal_key) {
  return internal_key.substr(0, internal_key.size() - 8);
}

inline uint64_t ExtractTag(std::string_view internal_key) {
  return DecodeFixed64(internal_key.data() + internal_key.size() - 8);
}

// False if the key is too short or has an unknown type.
inline bool ParseInternalKey(std::string_view internal_key, ParsedInternalKey* out) {
  if (internal_key.size() < 8) return false;
  uint64_t tag = ExtractTag(internal_key);
  uint8_t type = static_cast<uint8_t>(tag & 0xff);
  if (type > kMaxValueType) return false;
  out->user_key = ExtractUserKey(internal_key);
  out->sequence = tag >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

// Orders internal keys: user key ascending (bytewise), then tag descending.
inline int CompareInternalKeys(std::string_view a, std::string_view b) {
  int r = ExtractUserKey(a).compare(ExtractUserKey(b));
  if (r != 0) return r;
  uint64_t ta = ExtractTag(a), tb = ExtractTag(b);
  if (ta > tb) return -1;
  if (ta < tb) return 1;
  return 0;
}

// Hard limits (configurable limits live in [store], docs/configuration.md,
// and cannot exceed these).
inline constexpr size_t kHardMaxKeyBytes = 1 << 20;             // 1 MiB
inline constexpr size_t kHardMaxValueBytes = size_t{256} << 20;  // 256 MiB
// One write batch, encoded (a journal record must stay under 1 GiB).
inline constexpr size_t kHardMaxBatchBytes = size_t{512} << 20;  // 512 MiB
// A segment block's contents: a block closes once past block_bytes, so it
// holds at most one maximal entry on top of that.
inline constexpr size_t kMaxBlockContentsBytes = kHardMaxKeyBytes + kHardMaxValueBytes + (size_t{1} << 20);
inline constexpr size_t kMaxDatabaseNameBytes = 128;

// Names: 1-128 bytes of [A-Za-z0-9_.-], not starting with '.'.
Status ValidateDatabaseName(std::string_view name);

// File names inside a data directory (docs/format.md, "Directory layout").
std::string JournalDir(std::string_view data_dir);
std::string SegmentDir(std::string_view data_dir);
std::string JournalFileName(std::string_view data_dir, uint64_t number);      // journal/000012.log
std::string SegmentFileName(std::string_view data_dir, uint64_t number);      // segments/000042.seg
// The Bloom filter of an evicted segment, kept locally (segments/000042.filter).
std::string SegmentFilterFileName(std::string_view data_dir, uint64_t number);
std::string ManifestFileName(std::string_view data_dir, uint64_t number);     // MANIFEST-000007
std::string CurrentFileName(std::string_view data_dir);                       // CURRENT
std::string LockFileName(std::string_view data_dir);                          // LOCK
std::string LostFoundDir(std::string_view data_dir);                          // lost+found
// Parses "000012.log" / "000042.seg" / "MANIFEST-000007"; false otherwise.
bool ParseNumberedName(std::string_view name, std::string_view prefix, std::string_view suffix, uint64_t* number);

}  // namespace ebb

#endif  // EBB_STORAGE_FORMAT_H_
