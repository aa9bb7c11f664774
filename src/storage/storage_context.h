// StorageContext: what every database of a store shares (the file system,
// clock, options, journal, manifest, segment cache, listener and gauges),
// and the interfaces through which storage tells the layers above it about
// events (StorageListener) and reads evicted segments (RemoteSegmentSource).
// Owned by Storage; a DatabaseCore and its SegmentFiles point at it.

#ifndef EBB_STORAGE_STORAGE_CONTEXT_H_
#define EBB_STORAGE_STORAGE_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "ebb/status.h"
#include "storage/storage_options.h"

namespace ebb {

class Clock;
class DatabaseCore;
class FileSystem;
class Journal;
class Manifest;
class ObsoleteFiles;
class Segment;
class SegmentCache;
class StoreErrors;
struct SegmentMeta;

// Told about events a database cannot act on itself (the engine schedules
// flushes and compactions, the compaction daemon re-evaluates priorities).
// Called without any database lock held; implementations must be cheap.
class StorageListener {
 public:
  virtual ~StorageListener() = default;
  // A batch of writes completed (after the ordered completion step).
  virtual void OnWritesCompleted(DatabaseCore* db, uint64_t writes, uint64_t bytes) {}
  // A memtable became immutable and waits to be flushed.
  virtual void OnMemtableSwitched(DatabaseCore* db) {}
  // A flush or compaction changed the segment set.
  virtual void OnSegmentsChanged(DatabaseCore* db) {}
};

// Opens segments whose local file was evicted to the object store
// (implemented by the engine over the tiering agent's member cache). The
// segment returned keeps what it reads from alive (Segment::SetPin).
// `database` is the tier name (name#id) of the segment's database.
class RemoteSegmentSource {
 public:
  virtual ~RemoteSegmentSource() = default;
  virtual Result<std::shared_ptr<Segment>> OpenEvicted(const std::string& database, const SegmentMeta& meta) = 0;
};

// Which segment files are referenced by a segment set right now (live, or
// obsolete but still read through an older view): garbage collection of
// the tier keeps their archives. Thread-safe.
class OpenSegments {
 public:
  void Add(uint64_t number);
  void Remove(uint64_t number);
  std::set<uint64_t> Numbers() const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, int> counts_;
};

// What every database of a store shares. Owned by Storage.
struct StorageContext {
  FileSystem* fs = nullptr;
  Clock* clock = nullptr;
  StorageOptions options;
  Journal* journal = nullptr;
  Manifest* manifest = nullptr;
  SegmentCache* segment_cache = nullptr;
  StorageListener* listener = nullptr;
  // Key and value bytes in every database's memtables (the writeback gauge).
  std::atomic<uint64_t>* dirty_bytes = nullptr;
  // Bytes of segment files on local disk (the tiering gauge's input).
  std::atomic<uint64_t>* local_segment_bytes = nullptr;
  // Set once tiering is running; reads of evicted segments need it.
  std::atomic<RemoteSegmentSource*>* remote = nullptr;
  // The store-wide sticky error (a metadata write whose outcome is unknown).
  StoreErrors* errors = nullptr;
  // Segment files referenced by any segment set.
  OpenSegments* open_segments = nullptr;
  // Deletes obsolete segment files off the thread that dropped them.
  ObsoleteFiles* obsolete_files = nullptr;
};

}  // namespace ebb

#endif  // EBB_STORAGE_STORAGE_CONTEXT_H_
