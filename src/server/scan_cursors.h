// ScanCursors: SCAN cursors. Redis clients treat a cursor as an integer
// (redis-py parses it), but Ebb resumes a scan at a key; the table maps a
// random 63-bit cursor to (database, next key). A cursor is used up by the
// reply of the SCAN that presents it, which carries a new one for the next
// step; a SCAN answered with an error (-BUSY when the ReadPool is full)
// leaves it usable, so the client can retry. A scan that resumes at its
// next key returns every key that existed for the whole scan, as SCAN
// promises.
//
// Bounded by kMaxCursors entries and kMaxBytes of keys; beyond either, the
// least recently issued cursor is forgotten and a client presenting it gets
// an error telling it to start again from 0.
//
// Thread safety: thread-safe.

#ifndef EBB_SERVER_SCAN_CURSORS_H_
#define EBB_SERVER_SCAN_CURSORS_H_

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/mutex.h"
#include "base/random.h"

namespace ebb {

class ScanCursors {
 public:
  static constexpr size_t kMaxCursors = 16384;
  static constexpr size_t kMaxBytes = 64 << 20;

  explicit ScanCursors(uint64_t seed) : random_(seed) {}

  // A new cursor (never 0) resuming `database` at `next_key`.
  uint64_t Issue(std::string_view database, std::string_view next_key);
  // The key to resume at, leaving the cursor in place; nullopt if unknown,
  // evicted or issued for another database.
  std::optional<std::string> Find(uint64_t cursor, std::string_view database) const;
  // Forgets the cursor once its reply is produced. Idempotent.
  void Consume(uint64_t cursor);

  size_t size() const;

 private:
  struct Entry {
    std::string database;
    std::string next_key;
    std::list<uint64_t>::iterator order;
  };
  void EvictLocked() REQUIRES(mu_);

  mutable Mutex mu_;
  Random random_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
  std::list<uint64_t> order_ GUARDED_BY(mu_);  // oldest first
  size_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb

#endif  // EBB_SERVER_SCAN_CURSORS_H_
