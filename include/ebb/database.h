// Copyright Ebb authors. Public API.
//
// Database: one named key space inside a Store. Keys and values are arbitrary
// bytes; keys sort bytewise.
//
// Writes are durable per journal.sync (docs/configuration.md) once the call
// returns OK, and visible to every later read from any thread. A failed
// journal write or sync puts the store into a read-only error state: writes
// fail with ReadOnly until the store is reopened; reopening recovers every
// acknowledged write.
//
// Thread safety: all methods are thread-safe. A Database handle stays usable
// until the store closes or the database is dropped; after that, calls fail
// with Aborted or NotFound.

#ifndef EBB_DATABASE_H_
#define EBB_DATABASE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ebb/iterator.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/write_batch.h"

namespace ebb {

// A consistent point-in-time view of one database. Reads with it see exactly
// the writes acknowledged before it was taken. Holding one keeps the versions
// it sees from being compacted away; release it when done.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual uint64_t sequence() const = 0;
};

struct DatabaseStats {
  std::string name;
  // Bytes of segment files (local and tiered) plus the journal bytes this
  // database's unflushed memtable holds.
  uint64_t disk_bytes = 0;
  // Estimated bytes of live data: exact after a full compaction, estimated
  // between (bloom-filter probes of older segments at each flush).
  uint64_t live_bytes = 0;
  bool live_bytes_exact = true;
  // Bytes of keys and values in memtables not yet flushed.
  uint64_t memtable_bytes = 0;
  // Stored entries (all versions, including tombstones) and tombstones.
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t segments = 0;
  // Sequence number of the last acknowledged write.
  uint64_t update_seq = 0;
  // update_seq when the last full compaction started.
  uint64_t compacted_seq = 0;
  uint64_t changes_since_compaction = 0;
  // Bytes written by flushes and compactions of this database.
  uint64_t flush_bytes_written = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t compactions = 0;
};

class Database {
 public:
  virtual ~Database() = default;

  virtual const std::string& name() const = 0;

  // Sets key to value. Fails with InvalidArgument if the key or value exceed
  // store.max_key_bytes / store.max_value_bytes.
  virtual Status Put(const WriteOptions& options, std::string_view key, std::string_view value) = 0;
  // Removes key (a no-op if absent).
  virtual Status Delete(const WriteOptions& options, std::string_view key) = 0;
  // Applies every operation of batch atomically.
  virtual Status Write(const WriteOptions& options, const WriteBatch& batch) = 0;

  // Reads key into *value. NotFound if absent.
  virtual Status Get(const ReadOptions& options, std::string_view key, std::string* value) = 0;

  // An iterator over a consistent snapshot.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;

  virtual DatabaseStats GetStats() = 0;

  // Writes the memtable to a segment file and waits for it.
  virtual Status Flush() = 0;
  // Merges all segments into one, dropping overwritten versions and
  // tombstones no snapshot needs, and waits for it. Reads and writes continue
  // meanwhile.
  virtual Status Compact() = 0;

  // Conveniences with default options.
  Status Put(std::string_view key, std::string_view value) { return Put(WriteOptions(), key, value); }
  Status Delete(std::string_view key) { return Delete(WriteOptions(), key); }
  Result<std::string> Get(std::string_view key) {
    std::string value;
    Status s = Get(ReadOptions(), key, &value);
    if (!s.ok()) return s;
    return value;
  }
};

}  // namespace ebb

#endif  // EBB_DATABASE_H_
