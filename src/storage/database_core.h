// DatabaseCore: one named database inside the storage layer: its memtables,
// its segment set, the op-lock write path, reads, snapshots, and the flush and
// compaction primitives. The engine wraps it in the public ebb::Database.
//
// Write path (op-lock completion; docs/ARCHITECTURE.md): Write() takes the
// database lock only to assign sequence numbers, push a WriteItem on the
// in-flight queue and queue the record for the journal's group commit. Then,
// without the lock, the writer applies its batch to the memtable (the
// *apply* part) and leads or follows the group commit (the *commit* part,
// completed by the group's leader). Each part completes under the item's own
// lock; whoever completes the last part requests the ordered completion
// step, which pops the acknowledged items in submission order under the
// in-flight queue's own small lock, advances the visible sequence and the
// counters (atomics) and wakes the writers: it never takes the database
// lock, so that lock serves submission alone. A write returns once its item
// is completed, so every acknowledged write is visible to every later read
// (read-your-writes), and snapshots see exactly a prefix of acknowledged
// writes. Dropping the database cancels the writes still in flight (they
// return the drop's status). write.completion = db_lock instead holds the
// database lock from submit to completion (the classic design).
//
// Thread safety: all public methods are thread-safe.

#ifndef EBB_STORAGE_DATABASE_CORE_H_
#define EBB_STORAGE_DATABASE_CORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "ebb/database.h"
#include "runtime/ordered_completion.h"
#include "storage/manifest.h"
#include "storage/memtable.h"
#include "storage/segment_file.h"
#include "storage/storage_context.h"
#include "storage/storage_options.h"

namespace ebb {

class Journal;

// What a read needs, swapped atomically as memtables and segments change.
struct ReadView {
  std::shared_ptr<MemTable> mem;                  // may be null (nothing written yet)
  std::vector<std::shared_ptr<MemTable>> imms;    // newest first
  std::shared_ptr<const SegmentSet> segments;
  // Flushes and compactions drop versions hidden at every registered
  // snapshot and at the visible sequence when they started; this is the
  // largest such sequence behind this view. A plain read (no registered
  // snapshot) that loaded an older visible sequence reads at this one
  // instead: a newer, fully acknowledged state, never a dropped version.
  SequenceNumber min_read_seq = 0;
};

struct CompactionOptions {
  // Merge every segment (drops tombstones no snapshot needs). Otherwise merge
  // only the newest `newest_segments` (tombstones kept).
  bool full = true;
  size_t newest_segments = 0;
  // Polled as the compaction goes; when it returns true the compaction stops,
  // leaves the database unchanged and returns Aborted.
  std::function<bool()> should_stop;
  // A compaction already running: wait for it to end, then compact (a
  // user's request) instead of failing with Busy (the background's choice:
  // it has other work to pick).
  bool wait_for_running = false;
};

struct CompactionResult {
  uint64_t input_segments = 0;
  uint64_t input_bytes = 0;
  uint64_t output_segments = 0;
  uint64_t output_bytes = 0;
  uint64_t dropped_entries = 0;
  uint64_t expired_entries = 0;  // values past their expiry: dropped, or kept as tombstones
};

class DatabaseCore : public std::enable_shared_from_this<DatabaseCore> {
 public:
  DatabaseCore(const StorageContext* ctx, const DatabaseMeta& meta);
  ~DatabaseCore();

  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }

  // ebb::Database semantics (include/ebb/database.h). Runs WriteOpLock or
  // WriteDbLock per store.write.completion.
  Status Write(const WriteOptions& options, const WriteBatch& batch);
  // *expire_at_ms (when given) gets the value's expiry, 0 for none.
  Status Get(const ReadOptions& options, std::string_view key, std::string* value, int64_t* expire_at_ms = nullptr);
  // Get for every key, at one sequence and one view: (*statuses)[i] and
  // (*values)[i] are what Get would give for keys[i] (OK, NotFound, or the
  // error that key met). Searches each segment once for all the keys still
  // missing, prefetching their filter lines together.
  void MultiGet(const ReadOptions& options, const std::vector<std::string>& keys, std::vector<std::string>* values,
                std::vector<Status>* statuses);
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options);
  std::shared_ptr<const Snapshot> GetSnapshot();
  DatabaseStats GetStats();

  // What active expiry (the engine's `expiry` work class) can reclaim here
  // by a compaction, over the local segments a compaction reaches (newest
  // first, up to the first evicted one): the bytes of stored values surely
  // past their expiry at `now_ms` (each segment's share of values with an
  // expiry, in eighths of them: ExpiryProfile), and when that estimate next
  // grows (Unix ms; INT64_MAX: never). The eighths miss a group of values
  // due together that is under an eighth of its segment's: for the segments
  // none of whose eighths is due, the summary gives their earliest deadline
  // (from then on at least one value is due there) and the mean bytes of
  // one such value; and the bytes a full compaction would rewrite.
  struct ExpirySummary {
    uint64_t due_bytes = 0;
    int64_t next_due_ms = INT64_MAX;
    int64_t first_deadline_ms = INT64_MAX;
    uint64_t value_bytes = 0;
    uint64_t local_bytes = 0;
  };
  // `coalesce_ms`: see ExpiryProfile::NextDueMs.
  ExpirySummary Expiry(int64_t now_ms, int64_t coalesce_ms = 0);

  // Recovery: applies a replayed journal entry (before the database is used).
  Status ReplayBatch(SequenceNumber first_seq, std::string_view batch_rep, uint64_t journal_file);

  // Flush primitive. Makes the memtable immutable (if non-empty) and writes
  // every immutable memtable to a segment, oldest first. Waits.
  Status Flush();
  // Writes the oldest immutable memtable, if any. Returns the key and value
  // bytes it held (the writeback gauge's unit), 0 if there was none — or if
  // another thread is flushing this database, unless `wait_if_busy`, which
  // waits for that flush and then flushes the next oldest, if any.
  Result<uint64_t> FlushOldestImmutable(bool wait_if_busy = false);

  // The same in phases, so a store-level flush of many databases
  // (Storage::FlushDatabases) syncs the segment directory and writes the
  // manifest once for all of them. PrepareFlush writes the oldest immutable
  // memtable's segment (nullopt if there is none, or another thread is
  // flushing); after the segment directory is synced, AddFlushToEdit adds
  // what the manifest must record; once the edit is applied, InstallFlush
  // swaps the segment in and returns the bytes flushed. AbortFlush gives up
  // after a failed directory sync or edit, keeping the segment file.
  struct PreparedFlush {
    std::shared_ptr<MemTable> imm;
    SequenceNumber needed = 0;
    SequenceNumber oldest_snapshot = 0;
    bool drop_tombstones = false;
    std::shared_ptr<const SegmentSet> older;
    SegmentMeta meta;
    std::vector<std::pair<uint64_t, uint64_t>> dead_updates;
    uint64_t written = 0;
  };
  Result<std::optional<PreparedFlush>> PrepareFlush(bool wait_if_busy);
  void AddFlushToEdit(const PreparedFlush& flush, ManifestEdit* edit);
  uint64_t InstallFlush(PreparedFlush flush);
  void AbortFlush(PreparedFlush* flush, const Status& why);
  // Makes the current memtable immutable if it holds anything; true if so.
  bool SwitchMemtable();
  // Builds the Bloom filter of every immutable memtable whose last write
  // has completed and that has none yet (reads then skip it for keys it
  // does not hold). Returns how many were built. Called by writeback for
  // the memtables it leaves in memory.
  size_t BuildImmutableFilters();

  // Compaction primitive: merges segments and swaps the result in atomically
  // while reads and writes continue. Busy if one is already running. Only
  // the newest run of local segments takes part: evicted (tiered) segments
  // stay as they are.
  Result<CompactionResult> Compact(const CompactionOptions& options);

  // The current segment set (newest first), for the tiering agent.
  std::shared_ptr<const SegmentSet> segment_set() const;
  // Marks segment `number` evicted (manifest first), drops its cached open
  // file and deletes the local file. NotFound if it is not one of this
  // database's live segments.
  Status EvictSegment(uint64_t number);
  // The inverse, for tiering's recall: writes `contents` (the segment's
  // file, fetched from its archive; its Hash64 must equal the segment's
  // checksum when that is known) as the segment's local file, checks every
  // block, records it local in the manifest, and removes the filter file.
  // NotFound if `number` is not a live segment of this database; OK if it
  // is already local.
  Status RecallSegment(uint64_t number, std::string_view contents);
  // "name#id": how tiering names this database (a database re-created
  // with the same name has another id).
  std::string tier_name() const;
  SequenceNumber visible_sequence() const { return visible_seq_.load(std::memory_order_acquire); }

  // Gauges for the background runtime.
  uint64_t DirtyBytes() const;           // key+value bytes in memtables
  uint64_t ImmutableBytes() const;       // ... in memtables waiting for flush
  size_t ImmutableCount() const;
  size_t SegmentCount() const;
  uint64_t DiskBytes() const;
  uint64_t LiveBytes() const;
  // What compaction can work on: the newest run of local segments (see
  // Compact) — its bytes, estimated live bytes and count.
  struct CompactableSizes {
    uint64_t disk_bytes = 0;
    uint64_t live_bytes = 0;
    uint64_t segments = 0;
  };
  CompactableSizes Compactable() const;
  // Oldest journal file holding unflushed data of this database
  // (UINT64_MAX if none).
  uint64_t MinJournalFileNeeded() const;

  // Close/drop: new writes fail with `reason`; writers waiting for room wake.
  void BeginClose(Status reason);
  // Waits until every submitted write has completed.
  void WaitForWrites();
  // Waits until no flush or compaction of this database is running. After
  // BeginClose none can start, so this makes the database's manifest edits
  // final (DropDatabase relies on it).
  void WaitForBackgroundWork();
  // Marks every segment file obsolete (deleted when no longer read).
  void MarkDropped();
  // The sticky error that made this database read-only (OK if none).
  Status error() const EXCLUDES(error_mu_);
  // Completes every write still in flight with `status` without waiting
  // for it (a drop: their results no longer matter), then waits until the
  // in-flight queue is empty. Call after BeginClose.
  void CancelWrites(const Status& status);

  // A word the StorageListener may keep per database, so that it need not
  // look the database up on every write (storage never reads it; 0 at open).
  std::atomic<uint64_t>* listener_memo() { return &listener_memo_; }

 private:
  friend class SnapshotImpl;
  friend class WriteItem;
  class WriteItem;

  Status ValidateBatch(const WriteBatch& batch) const;
  // The two completion modes (database_write.cc): op_lock acknowledges
  // without the database lock and completes metadata in order afterwards;
  // db_lock holds the lock from submit to completion.
  Status WriteOpLock(const WriteOptions& options, const WriteBatch& batch) EXCLUDES(mu_);
  Status WriteDbLock(const WriteOptions& options, const WriteBatch& batch) EXCLUDES(mu_);
  // Makes room, assigns sequence numbers, queues the record for the journal
  // and the item for ordered completion.
  Status SubmitLocked(const WriteOptions& options, const WriteBatch& batch, WriteItem* item,
                      std::shared_ptr<MemTable>* mem, bool* switched) REQUIRES(mu_);
  // REQUIRES mu_. Switches the memtable if full; waits while too many are
  // waiting for flush.
  // no_slowdown: Busy instead of waiting for a flush to make room.
  Status MakeRoomForWrite(bool no_slowdown) REQUIRES(mu_);
  void SwitchMemtableLocked() REQUIRES(mu_);
  void ApplyToMemtable(MemTable* mem, SequenceNumber first_seq, const WriteBatch& batch);
  // A new active memtable, its live filter sized from store.memtable_bytes.
  std::shared_ptr<MemTable> NewMemTable(uint64_t journal_file) const;
  void RequestCompletion();
  // One pass of the ordered completion step (OrderedCompletionQueue::DrainPass).
  bool DrainPass(bool may_hand_off) EXCLUDES(mu_);
  // The ordered completion step: pops acknowledged items in order and
  // applies their metadata. REQUIRES mu_. The caller wakes the writers with
  // WakeCompleted after releasing mu_.
  struct Completed {
    CompletionItem* item;
    Status status;
  };
  // Pops the acknowledged items (every item once cancelled) in order and
  // publishes their visibility; the database lock is not needed.
  void DrainCompletions(std::vector<Completed>* done, uint64_t* writes, uint64_t* bytes);
  // Wakes threads waiting under mu_ for visibility or an empty queue, if any.
  void WakeCompletionWaiters() EXCLUDES(mu_);
  void SetError(const Status& s) EXCLUDES(error_mu_);
  static void WakeCompleted(std::vector<Completed>* done);
  void InstallViewLocked() REQUIRES(mu_);
  std::shared_ptr<const ReadView> CurrentView() const;
  // Where a read with `options` reads: the sequence, the view it searches
  // and the time expiry is judged at.
  struct ReadPoint {
    SequenceNumber seq = 0;
    std::shared_ptr<const ReadView> view;
    int64_t now_ms = 0;
  };
  ReadPoint BeginRead(const ReadOptions& options) const;
  SequenceNumber OldestSnapshotLocked() const REQUIRES(mu_);
  void ReleaseSnapshot(SequenceNumber seq);
  // NoSpace if the file system holding the store has less room than a
  // flush of `payload_bytes` needs.
  Status CheckRoomForFlush(uint64_t payload_bytes) const;
  void NotFlushing() EXCLUDES(mu_);
  static constexpr uint64_t kFlushSpaceMarginBytes = 1 << 20;
  Result<uint64_t> WriteFlushSegment(const std::shared_ptr<MemTable>& imm, SequenceNumber oldest_snapshot,
                                     bool drop_tombstones, std::shared_ptr<const SegmentSet> older,
                                     SegmentMeta* meta, std::vector<std::pair<uint64_t, uint64_t>>* dead_updates);

  // Constant after construction.
  const StorageContext* const ctx_;
  const uint64_t id_;
  const std::string name_;

  // Serializes EvictSegment and RecallSegment (held across their file
  // and manifest work, never with mu_ waiting on it).
  Mutex tier_mu_ ACQUIRED_BEFORE(mu_);

  // The database lock (the seed's "PG lock").
  mutable Mutex mu_;
  CondVar cv_{&mu_};  // flush progress, completion progress, close
  SequenceNumber last_seq_ GUARDED_BY(mu_) = 0;  // assigned
  OrderedCompletionQueue inflight_;  // its own lock; pushed under mu_ (in sequence order)
  std::shared_ptr<MemTable> mem_ GUARDED_BY(mu_);
  // Immutable memtables, newest first, with the last sequence each holds.
  std::vector<std::pair<std::shared_ptr<MemTable>, SequenceNumber>> imms_ GUARDED_BY(mu_);
  std::shared_ptr<const SegmentSet> segments_ GUARDED_BY(mu_);
  std::multiset<SequenceNumber> snapshots_ GUARDED_BY(mu_);
  Status closed_ GUARDED_BY(mu_);  // non-OK once closing or dropped
  int writers_in_flight_ GUARDED_BY(mu_) = 0;
  bool flushing_ GUARDED_BY(mu_) = false;
  bool compacting_ GUARDED_BY(mu_) = false;
  SequenceNumber flushed_seq_ GUARDED_BY(mu_) = 0;
  SequenceNumber min_read_seq_ GUARDED_BY(mu_) = 0;  // see ReadView
  SequenceNumber compacted_seq_ GUARDED_BY(mu_) = 0;
  bool live_exact_ GUARDED_BY(mu_) = true;

  uint64_t flush_bytes_written_ GUARDED_BY(mu_) = 0;
  uint64_t compaction_bytes_written_ GUARDED_BY(mu_) = 0;
  uint64_t compactions_ GUARDED_BY(mu_) = 0;

  // Readers take the view without the database lock.
  mutable Mutex view_mu_ ACQUIRED_AFTER(mu_);
  std::shared_ptr<const ReadView> view_ GUARDED_BY(view_mu_);

  // Time writers and the completion step spent waiting for mu_ (ns).
  std::atomic<uint64_t> lock_wait_ns_{0};
  // Takes mu_, counting the time spent waiting for it when contended.
  void LockCounted() ACQUIRE(mu_);

  // Everything with sequence <= visible_seq_ is acknowledged and readable.
  std::atomic<SequenceNumber> visible_seq_{0};
  std::atomic<uint64_t> changes_{0};
  // Threads waiting on cv_ for visible_seq_ or an empty in-flight queue
  // (the completion step takes mu_ to wake them only if there are any).
  std::atomic<int> completion_waiters_{0};
  // Database-lock acquisitions (a metric: op_lock takes it to submit only).
  std::atomic<uint64_t> lock_acquisitions_{0};

  // The sticky error (a leaf lock: the completion step sets it without mu_).
  mutable Mutex error_mu_ ACQUIRED_AFTER(mu_);
  Status error_ GUARDED_BY(error_mu_);
  Status cancel_status_ GUARDED_BY(error_mu_);  // what cancelled writes return
  std::atomic<bool> has_error_{false};
  std::atomic<uint64_t> listener_memo_{0};
  // False once closing or dropped: reads fail fast without the lock.
  std::atomic<bool> open_{true};
};

}  // namespace ebb

#endif  // EBB_STORAGE_DATABASE_CORE_H_
