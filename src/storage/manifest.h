// Manifest: the durable catalogue of a store (docs/format.md, "Manifest"):
// which databases exist, which segment files each has (with their
// statistics), how far each database's data is flushed, and the next file
// number. It is a record log of edits; the first record of each manifest file
// is a snapshot of the whole state (a checkpoint). CURRENT names the live
// manifest file and is replaced atomically.
//
// Every open writes a fresh manifest (checkpoint of the recovered state), so
// a torn tail from a crash is never appended to. Every edit is synced before
// Apply returns (and so before the next edit is written, and before any
// file whose deletion depends on it is deleted). An edit whose write or sync
// failed may or may not have landed: Apply reports it to StoreErrors (the
// store turns read-only and deletes nothing until reopened) and refuses
// every later edit.
//
// Thread safety: all methods are thread-safe; Apply calls are serialized.

#ifndef EBB_STORAGE_MANIFEST_H_
#define EBB_STORAGE_MANIFEST_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "env/file_system.h"
#include "storage/store_errors.h"
#include "storage/format.h"
#include "storage/record_log.h"

namespace ebb {

inline constexpr uint64_t kManifestMagic = 0x4e414d4242450a00ULL;  // "\0\nEBBMAN"
// Version 2: record payloads start with durable_through (record_log.h).
inline constexpr uint32_t kManifestVersion = 2;

struct SegmentMeta {
  uint64_t number = 0;
  uint64_t db_id = 0;
  uint64_t file_size = 0;
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t key_bytes = 0;
  uint64_t value_bytes = 0;
  std::string smallest_key;
  std::string largest_key;
  SequenceNumber smallest_seq = 0;
  SequenceNumber largest_seq = 0;
  // Bytes of this segment estimated to be shadowed by newer writes (bloom
  // probes at flush time); exact (0) right after a full compaction.
  uint64_t dead_bytes = 0;
  int64_t created_unix_micros = 0;
  // The local file was removed after the tiering agent verified its archived
  // copy; reads fetch it through the tier's member cache.
  bool evicted = false;
  // Hash64 of the whole file (the content checksum tiering names segments
  // by); 0 for segments written before Ebb recorded it.
  uint64_t checksum = 0;
  // The deadlines of its values with an expiry, as in its properties.
  ExpiryProfile expiry;
};

struct DatabaseMeta {
  uint64_t id = 0;
  std::string name;
  // Newest first (largest_seq descending).
  std::vector<SegmentMeta> segments;
  // Journal files numbered below log_number hold nothing unflushed of this database.
  uint64_t log_number = 0;
  // Every entry with sequence <= flushed_seq is in a segment.
  SequenceNumber flushed_seq = 0;
  // update_seq when the last full compaction began; whether live bytes are exact.
  SequenceNumber compacted_seq = 0;
  bool live_exact = true;
  uint64_t flush_bytes_written = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t compactions = 0;
};

// A dropped database remembered for the tiering agent, which archives a
// tombstone for it (so an index rebuilt from archives drops its segments).
struct DroppedDatabase {
  std::string name;
  SequenceNumber last_seq = 0;
  friend bool operator<(const DroppedDatabase& a, const DroppedDatabase& b) {
    return a.name != b.name ? a.name < b.name : a.last_seq < b.last_seq;
  }
};

struct ManifestState {
  uint64_t next_file_number = 2;
  uint64_t next_db_id = 1;
  std::map<uint64_t, DatabaseMeta> databases;
  std::set<DroppedDatabase> dropped;
};

// One atomic change to the catalogue.
class ManifestEdit {
 public:
  void CreateDatabase(uint64_t id, std::string name);
  void DropDatabase(uint64_t id);
  void AddSegment(const SegmentMeta& meta);
  void RemoveSegment(uint64_t db_id, uint64_t number);
  void SetFlushed(uint64_t db_id, uint64_t log_number, SequenceNumber flushed_seq);
  void SetCompacted(uint64_t db_id, SequenceNumber compacted_seq, bool live_exact);
  void SetDeadBytes(uint64_t db_id, uint64_t number, uint64_t dead_bytes);
  void AddCounters(uint64_t db_id, uint64_t flush_bytes, uint64_t compaction_bytes, uint64_t compactions);
  void SetEvicted(uint64_t db_id, uint64_t number, bool evicted);
  void SetChecksum(uint64_t db_id, uint64_t number, uint64_t checksum);
  void SetExpiry(uint64_t db_id, uint64_t number, const ExpiryProfile& expiry);
  void RememberDropped(const DroppedDatabase& dropped);
  void ForgetDropped(const DroppedDatabase& dropped);
  bool empty() const { return ops_.empty(); }

  // Encoded operations (docs/format.md).
  const std::string& ops() const { return ops_; }
  // Applies encoded operations to `state`; Corruption if malformed or
  // inconsistent (e.g. a segment for a database that does not exist).
  static Status ApplyTo(std::string_view ops, ManifestState* state);
  // Operations that rebuild `state` from nothing.
  static std::string Snapshot(const ManifestState& state);

 private:
  std::string ops_;
};

class Manifest {
 public:
  struct Options {
    // Start a new manifest file (checkpoint) once the edits appended since
    // the last checkpoint exceed this.
    uint64_t checkpoint_bytes = 4 << 20;
    // Told when a write's outcome is unknown (may be null in tests).
    StoreErrors* errors = nullptr;
  };

  // Recovers the state from CURRENT, then writes a fresh manifest file.
  // NotFound if there is no store and !create_if_missing.
  static Result<std::unique_ptr<Manifest>> Open(FileSystem* fs, std::string data_dir, bool create_if_missing,
                                                Options options);

  // Appends and syncs the edit, then applies it to the state. The next file
  // number is recorded with every edit. On failure the edit may have landed
  // (see above); ReadOnly if an earlier failure stopped the manifest, in
  // which case it certainly did not.
  Status Apply(const ManifestEdit& edit);

  // Writes the manifest of a new store holding `state` (a restore from the
  // tier): a manifest file with one checkpoint, synced, then CURRENT.
  // AlreadyExists if `data_dir` has a CURRENT.
  static Status CreateStore(FileSystem* fs, const std::string& data_dir, const ManifestState& state);

  // A copy of the current state.
  ManifestState state() const;
  // Reads one database's metadata under the lock.
  bool GetDatabase(uint64_t id, DatabaseMeta* out) const;

  // File numbers are shared by journal files, segments and manifests.
  uint64_t NewFileNumber() { return next_file_number_.fetch_add(1, std::memory_order_relaxed); }
  // Makes sure future numbers are above `number` (files found on disk).
  void MarkFileNumberUsed(uint64_t number);
  uint64_t NewDatabaseId();

  // Writes a checkpoint into a new file and switches CURRENT to it.
  Status Checkpoint();
  uint64_t current_file_number() const;
  uint64_t file_bytes() const;
  // Bytes of edits appended since the last checkpoint.
  uint64_t bytes_since_checkpoint() const;

 private:
  Manifest(FileSystem* fs, std::string data_dir, Options options);
  Status Recover(bool create_if_missing, bool* created);
  Status CheckpointLocked() REQUIRES(mu_);
  // A write whose outcome is unknown: no more edits, and the store is told.
  Status Failed(std::string_view what, const Status& s) REQUIRES(mu_);

  FileSystem* const fs_;
  const std::string data_dir_;
  const Options options_;
  std::atomic<uint64_t> next_file_number_{2};

  mutable Mutex mu_;
  ManifestState state_ GUARDED_BY(mu_);
  std::unique_ptr<RecordLogWriter> writer_ GUARDED_BY(mu_);
  uint64_t file_number_ GUARDED_BY(mu_) = 0;
  uint64_t checkpoint_bytes_ GUARDED_BY(mu_) = 0;  // file size right after the checkpoint
};

}  // namespace ebb

#endif  // EBB_STORAGE_MANIFEST_H_
