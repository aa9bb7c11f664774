// Storage: a data directory's storage engine: directory lock, manifest,
// journal, segment cache and every database; recovery on open; the
// primitives the background runtime drives (flush, compaction, journal
// reclaim). Knows nothing about when to run them.
//
// Directory layout (docs/format.md): LOCK, CURRENT, MANIFEST-NNNNNN,
// journal/NNNNNN.log, segments/NNNNNN.seg.
//
// Thread safety: all methods are thread-safe.

#ifndef EBB_STORAGE_STORAGE_H_
#define EBB_STORAGE_STORAGE_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "ebb/store_status.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/database_core.h"
#include "storage/journal.h"
#include "storage/manifest.h"
#include "storage/obsolete_files.h"
#include "storage/segment_cache.h"
#include "storage/storage_options.h"
#include "storage/store_errors.h"

namespace ebb {

struct RecoveryReport {
  uint64_t journal_files = 0;
  uint64_t batches_replayed = 0;
  uint64_t batches_skipped = 0;  // already in segments
  uint64_t torn_tail_bytes = 0;
  // Intact journal records dropped because they followed a power loss's
  // hole in the newest file (written after the last completed sync).
  uint64_t records_after_hole = 0;
  uint64_t reserved_bytes_trimmed = 0;  // a mapped journal's unused reservation
  uint64_t obsolete_files_removed = 0;
  // Segment files the recovered manifest did not name: moved to lost+found/
  // (never deleted), or adopted back because their data was in no journal
  // file any more (the manifest edit that named them was lost).
  uint64_t segments_quarantined = 0;
  uint64_t segments_adopted = 0;
};

class Storage {
 public:
  // Opens or creates the store in options.data_dir and recovers it. Errors
  // name the file (and offset) at fault.
  static Result<std::unique_ptr<Storage>> Open(FileSystem* fs, Clock* clock, StorageOptions options,
                                               StorageListener* listener);
  ~Storage();

  Result<std::shared_ptr<DatabaseCore>> OpenDatabase(std::string_view name, bool create_if_missing);
  Status DropDatabase(std::string_view name);
  std::vector<std::string> ListDatabases() const;
  // How many databases the store holds, without copying their names
  // (store.max_databases is checked on every creation).
  size_t DatabaseCount() const;
  std::vector<std::shared_ptr<DatabaseCore>> Databases() const;
  std::shared_ptr<DatabaseCore> FindDatabase(std::string_view name) const;

  // Flushes every memtable of `dbs`, many databases at a time: their
  // segments are written one by one, then the segment directory is synced
  // once and one manifest edit names them all, so flushing N small
  // databases costs N + 2 syncs instead of 3N. Returns the key and value
  // bytes flushed; the first error (the other databases still flush).
  Result<uint64_t> FlushDatabases(const std::vector<std::shared_ptr<DatabaseCore>>& dbs);

  // Journal reclaim primitive: deletes journal files that no memtable needs.
  // Returns bytes deleted.
  Result<uint64_t> ReclaimJournal();
  // Bytes of journal files older than the oldest one still needed.
  uint64_t ReclaimableJournalBytes() const;
  // Journal reclaim's pending work: every journal byte that flushing could
  // free — older files, and the current file's records once nothing needs it.
  uint64_t JournalReclaimPendingBytes() const;
  // Key and value bytes held in memtables across all databases.
  uint64_t DirtyBytes() const { return dirty_bytes_.load(std::memory_order_relaxed); }

  // Tiering support.
  // Bytes of segment files on local disk.
  uint64_t LocalSegmentBytes() const { return local_segment_bytes_.load(std::memory_order_relaxed); }
  // Where reads of evicted segments go (nullptr: tiering off).
  void SetRemoteSegmentSource(RemoteSegmentSource* source) { remote_.store(source, std::memory_order_release); }
  // Evicts segment `number` of whichever database holds it (see
  // DatabaseCore::EvictSegment). NotFound if no live segment has that number.
  Status EvictSegment(uint64_t number);
  // Recalls segment `number` of whichever database holds it (see
  // DatabaseCore::RecallSegment).
  Status RecallSegment(uint64_t number, std::string_view contents);
  // Numbers of the segment files some segment set references now.
  std::set<uint64_t> OpenSegmentNumbers() const { return open_segments_.Numbers(); }
  // Dropped databases not yet forgotten (remember_dropped_databases), and
  // forgetting one once its tombstone is archived.
  std::vector<DroppedDatabase> DroppedDatabases() const;
  Status ForgetDroppedDatabase(const DroppedDatabase& dropped);
  // The name under which tiering archives a database's segments: its name
  // and id, so a database re-created with the same name is a different one.
  static std::string TierName(const DatabaseCore& db);
  // The oldest journal file any database still needs (UINT64_MAX if none).
  uint64_t OldestJournalFileNeeded() const;
  // Databases whose unflushed data is in journal file `number` or older.
  std::vector<std::shared_ptr<DatabaseCore>> DatabasesPinning(uint64_t number) const;

  JournalStatus GetJournalStatus() const;
  const RecoveryReport& recovery_report() const { return recovery_; }
  const StorageOptions& options() const { return ctx_.options; }
  Journal* journal() { return journal_.get(); }
  Manifest* manifest() { return manifest_.get(); }
  FileSystem* fs() { return ctx_.fs; }
  SegmentCache* segment_cache() { return segment_cache_.get(); }
  Clock* clock() { return ctx_.clock; }
  // Why the store is read-only (OK if it is not): a metadata write whose
  // outcome is unknown, or the journal's sticky error.
  Status background_error() const;

  // Returns once every segment file dropped so far is deleted: obsolete
  // files are deleted on a thread of their own (obsolete_files.h).
  void WaitForObsoleteFiles();
  uint64_t obsolete_files_deleted() const;
  const StoreErrors& errors() const { return errors_; }

  // Rejects new writes, writes what the journal has queued (those writers
  // get their real result), waits for in-flight writes, syncs and closes.
  Status Close();

 private:
  explicit Storage(StorageContext ctx);
  Status Recover();
  Status ReplayJournal(std::vector<JournalFileInfo>* old_files);
  // Numbers of the journal files on disk, ascending.
  Result<std::vector<uint64_t>> JournalFileNumbers();
  // Open databases and those being dropped: whose journal data counts.
  std::vector<std::shared_ptr<DatabaseCore>> DatabasesHoldingJournalData() const;
  // Journal files numbered below this may be deleted.
  uint64_t FirstJournalFileToKeep() const;
  void RemoveObsoleteFiles();
  // Segment files on disk that the manifest does not name (storage_recovery.cc).
  Status RecoverUnnamedSegments();
  // Per database, the first and last sequence its journal entries above
  // its flushed sequence hold.
  struct JournalCoverage {
    SequenceNumber first = 0;
    SequenceNumber last = 0;
  };
  Result<std::map<uint64_t, JournalCoverage>> ScanJournalCoverage(const ManifestState& state);
  Status Quarantine(const std::string& name);

  std::atomic<uint64_t> dirty_bytes_{0};
  std::atomic<uint64_t> local_segment_bytes_{0};
  std::atomic<RemoteSegmentSource*> remote_{nullptr};
  OpenSegments open_segments_;
  StoreErrors errors_;
  StorageContext ctx_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Manifest> manifest_;
  std::unique_ptr<SegmentCache> segment_cache_;
  // After segment_cache_: destroyed (its queue emptied) before it.
  std::unique_ptr<ObsoleteFiles> obsolete_files_;
  std::unique_ptr<Journal> journal_;
  RecoveryReport recovery_;

  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<DatabaseCore>, std::less<>> databases_ GUARDED_BY(mu_);
  // Databases being dropped, until the drop edit is durable.
  std::vector<std::shared_ptr<DatabaseCore>> dropping_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace ebb

#endif  // EBB_STORAGE_STORAGE_H_
