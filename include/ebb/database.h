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
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/export.h"
#include "ebb/iterator.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/write_batch.h"

namespace ebb {

// A consistent point-in-time view of one database. Reads with it see exactly
// the writes acknowledged before it was taken. Holding one keeps the versions
// it sees from being compacted away; release it when done.
class EBB_EXPORT Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual uint64_t sequence() const = 0;
};

struct DatabaseStats {
  std::string name;
  // Bytes of segment files (local and tiered) plus the journal bytes this
  // database's unflushed memtable holds.
  uint64_t disk_bytes = 0;
  // Of disk_bytes, the segments evicted to the object store (tiering).
  uint64_t tiered_bytes = 0;
  // Estimated bytes of live data: exact after a full compaction, estimated
  // between (bloom-filter probes of older segments at each flush).
  uint64_t live_bytes = 0;
  bool live_bytes_exact = true;
  // Bytes of keys and values in memtables not yet flushed.
  uint64_t memtable_bytes = 0;
  // Stored entries (all versions, including tombstones) and tombstones.
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  // Stored values with an expiry (every version, due or not: an estimate of
  // the keys that expire, as INFO keyspace's expires=), and the earliest
  // deadline among them (Unix ms; 0 when none).
  uint64_t expiring = 0;
  int64_t earliest_expiry_ms = 0;
  // Stored values already past their expiry that still take space (a lower
  // bound: counted in eighths of each segment's values with an expiry), and
  // the segment bytes estimated to hold them: what active expiry (the
  // `expiry` work class) reclaims.
  uint64_t expired = 0;
  uint64_t expired_bytes = 0;
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
  // The op-lock write path (docs/ARCHITECTURE.md, "A write"): ordered completion passes, the writes
  // they completed, and time spent waiting for the database lock.
  uint64_t completion_passes = 0;
  uint64_t completion_items = 0;
  uint64_t lock_wait_us = 0;
  // Times the database lock was taken by writes and their completion
  // (op_lock: once per write, to submit; db_lock: once per write, held to
  // completion).
  uint64_t lock_acquisitions = 0;
};

// A range read on the ReadPool: up to `limit` entries with start <= key < end
// (empty end: no bound), as of `snapshot` (or the latest state).
struct ScanRequest {
  std::string start;
  std::string end;
  size_t limit = 1000;
  // Also stop once the entries returned hold this many key (and value)
  // bytes; at least one entry is returned. 0: no bound but `limit`.
  size_t max_bytes = 0;
  // Return keys only (every value empty): no value is copied, for callers
  // that need only keys (SCAN, DBSIZE) over values of any size.
  bool keys_only = false;
  std::shared_ptr<const Snapshot> snapshot;
};

struct ScanBatch {
  std::vector<std::pair<std::string, std::string>> entries;
  // Where the next scan should start; empty when the range is exhausted.
  std::string next_start;
};

class EBB_EXPORT Database {
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

  // Reads key into *value. NotFound if absent (a key whose expiry has come
  // is absent: WriteBatch::PutWithExpiry).
  virtual Status Get(const ReadOptions& options, std::string_view key, std::string* value) = 0;
  // Get, and the key's expiry into *expire_at_ms: Unix time in
  // milliseconds, 0 when the key does not expire.
  virtual Status GetWithExpiry(const ReadOptions& options, std::string_view key, std::string* value,
                               int64_t* expire_at_ms) = 0;

  // An iterator over a consistent snapshot. It may outlive this handle and
  // the Store: it keeps alive what it reads (memtables, segment files, the
  // store's internals) and goes on returning the state it was created on;
  // the memory and open files are released when it is destroyed. Not
  // thread-safe: one thread uses an iterator at a time.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // The current state, for ReadOptions::snapshot: reads through it see
  // exactly the writes acknowledged before it was taken. Like an iterator
  // it may outlive this handle and the Store. Compaction keeps every
  // version a live snapshot can see, so release snapshots when done.
  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;

  virtual DatabaseStats GetStats() = 0;

  // Writes the memtable to a segment file and waits for it.
  virtual Status Flush() = 0;
  // Merges all segments into one, dropping overwritten versions and
  // tombstones no snapshot needs, and waits for it. Reads and writes continue
  // meanwhile. A background compaction of the database in progress is
  // waited for first.
  virtual Status Compact() = 0;

  // Asynchronous reads on the store's ReadPool (docs/configuration.md,
  // [readpool]). Each returns at once: Busy (whose message gives the
  // current queue, the limit and an estimated wait) if the pool for
  // `priority` is full, Aborted if the store is closing, else OK — and then
  // `done` runs exactly once on a ReadPool thread with the result, or with
  // Aborted if the store closes before the read ran. `done` must be cheap
  // and must not block (hand the result to another thread).
  using GetCallback = std::function<void(Result<std::string>)>;  // NotFound when absent
  using MultiGetCallback = std::function<void(std::vector<Result<std::string>>)>;
  using ScanCallback = std::function<void(Result<ScanBatch>)>;
  virtual Status GetAsync(std::string key, Priority priority, GetCallback done) = 0;
  virtual Status MultiGetAsync(std::vector<std::string> keys, Priority priority, MultiGetCallback done) = 0;
  // A scan that has run longer than readpool.demote_after_ms on a high or
  // normal thread stops there and continues on the low-priority pool (the
  // same snapshot; `done` gets the whole batch), so a long scan submitted
  // at the wrong priority cannot hold the threads of short reads.
  virtual Status ScanAsync(ScanRequest request, Priority priority, ScanCallback done) = 0;

  // GetAsync as a future (Busy and Aborted arrive through the future).
  std::future<Result<std::string>> GetAsync(std::string key, Priority priority) {
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    auto future = promise->get_future();
    Status s = GetAsync(std::move(key), priority, [promise](Result<std::string> r) { promise->set_value(std::move(r)); });
    if (!s.ok()) promise->set_value(std::move(s));
    return future;
  }

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
