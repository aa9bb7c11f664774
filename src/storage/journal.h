// Journal: Ebb's segmented write-ahead log, shared by every database of a
// store (docs/format.md, "Journal"). Each group commit writes one record
// holding the write batches of many databases; files rotate at
// journal.segment_bytes.
//
// Group commit is leader/follower: requests are queued by Submit (under the
// submitting database's lock, so each database's records keep sequence
// order); the first thread to call AwaitCommit while no leader is active
// becomes the leader, writes every queued request as one record, syncs per
// the mode, tells each request's listener that it committed, and wakes the
// followers. A single writer never waits for another thread.
//
// Sync modes (journal.sync):
//   always  every group commit is fdatasync'ed before its writes are acknowledged;
//   batch   written to the OS before acknowledgement (survives a process
//           crash) and fdatasync'ed at most journal.sync_interval_ms later
//           (Redis's appendfsync everysec): at most one sync per interval,
//           at once when the last one is older than that. A background
//           syncer makes it, except for a lone write whose writer answers
//           first (caller_syncs): the writer makes that one (SyncOwed).
//           Either starts the sync without waiting for the disk where the
//           file system can (WritableFile::StartSyncFlushed: the kernel
//           runs it) and the next write, sync, rotation or close settles
//           it; otherwise it waits for the sync. The syncer sleeps while
//           there is nothing unsynced;
//   none    written to the OS, synced only when a file is rotated or closed.
// A WriteOptions::sync request is synced before acknowledgement in any mode.
//
// Errors are sticky: after a failed write or sync every queued and later
// request fails; the store becomes read-only until reopened.
//
// Thread safety: all methods are thread-safe.

#ifndef EBB_STORAGE_JOURNAL_H_
#define EBB_STORAGE_JOURNAL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/format.h"
#include "storage/record_log.h"

namespace ebb {

inline constexpr uint64_t kJournalMagic = 0x4c4e524a42424500ULL;  // "\0EBBJRNL" little-endian
// Version 2: record payloads start with durable_through (record_log.h).
inline constexpr uint32_t kJournalVersion = 2;
inline constexpr uint8_t kJournalRecordGroup = 1;

enum class SyncMode { kAlways, kBatch, kNone };
Result<SyncMode> ParseSyncMode(std::string_view text);
std::string_view SyncModeName(SyncMode mode);

struct JournalRequest;

// Told, on the leader's thread, when a request's group commit finished.
class JournalCommitListener {
 public:
  virtual ~JournalCommitListener() = default;
  // Called for every request of a group, in order.
  virtual void OnJournalCommitted(JournalRequest* request, const Status& status) = 0;
  // Then called again for every request of the group, in order, once all
  // of them were told: work that benefits from seeing the whole group done
  // (the ordered completion step drains the group's items in one pass).
  virtual void AfterGroupCommitted(JournalRequest* request) {}
};

// One database write batch on its way into the journal. Owned by the caller,
// which must keep it alive until AwaitCommit returns.
struct JournalRequest {
  uint64_t db_id = 0;
  SequenceNumber first_seq = 0;
  std::string_view batch_rep;
  bool sync = false;
  // Batch mode: the writer will call Journal::SyncOwed once it has answered
  // (see WriteOptions::caller_syncs).
  bool caller_syncs = false;
  JournalCommitListener* listener = nullptr;

  // Set by the journal: status and file_number under its mutex, then done
  // (release), so a waiter may poll `done` without the lock.
  std::atomic<bool> done{false};
  Status status;
  uint64_t file_number = 0;
};

// One decoded entry of a journal group record.
struct JournalEntry {
  uint64_t db_id;
  SequenceNumber first_seq;
  std::string_view batch_rep;
};
// Decodes a group record payload; false if malformed.
bool DecodeJournalGroup(std::string_view payload, std::vector<JournalEntry>* entries);

struct JournalOptions {
  SyncMode sync = SyncMode::kBatch;
  uint64_t segment_bytes = 64 << 20;
  int64_t sync_interval_ms = 100;
  // A group commit stops adding requests past this many payload bytes
  // (always at least one request).
  uint64_t max_group_bytes = 4 << 20;
  // Write files through FileSystem::NewMappedLogFile (no system call per
  // group commit) rather than write(2).
  bool mmap_writes = true;
};

struct JournalFileInfo {
  uint64_t number;
  uint64_t bytes;
};

struct JournalStats {
  uint64_t records = 0;  // write batches
  uint64_t groups = 0;   // group commits
  uint64_t syncs = 0;
  uint64_t bytes_written = 0;
};

class Journal {
 public:
  // Starts a new journal file numbered `first_file_number`. `next_file_number`
  // allocates numbers for later files (shared with segments and manifests).
  static Result<std::unique_ptr<Journal>> Open(FileSystem* fs, Clock* clock, std::string data_dir,
                                               JournalOptions options, uint64_t first_file_number,
                                               std::function<uint64_t()> next_file_number);
  ~Journal();

  // Queues a request. Fails at once (without queueing) after an error or
  // once closed; never blocks on I/O.
  Status Submit(JournalRequest* request);

  // Returns once `request` is written (and synced as required), leading the
  // group commit if no other thread is. Returns the request's status.
  Status AwaitCommit(JournalRequest* request);

  // Writes everything queued and fdatasyncs the current file.
  Status SyncNow();

  // Batch mode: takes the sync a caller_syncs write left to its writer. A
  // write that would have woken the syncer to sync at once (the first
  // unsynced one, the last sync older than sync_interval_ms) and whose
  // group holds only caller_syncs requests does not wake it: the sync is
  // owed, and this call starts it, covering every byte written before it,
  // without waiting for the disk where the file can (StartSyncFlushed; the
  // outcome is settled by the next write, sync, rotation or close, and a
  // failure then makes the store read-only like any sync failure), else
  // syncs on the caller's thread. If someone synced meanwhile, the syncer
  // is woken to sync one interval after that instead. Nothing to do when
  // nothing is owed. The caller must call it promptly after such a write
  // (the batch promise: synced within sync_interval_ms).
  Status SyncOwed();

  // Starts a new file (syncing the old one) if the current one holds any
  // record, so that a file whose data is all flushed can be reclaimed.
  Status Rotate();
  // Bytes of records in the current file.
  uint64_t CurrentFileRecordBytes() const;

  // The number of the file new requests go to. Records submitted after this
  // call land in this file or a later one.
  uint64_t CurrentFileNumber() const;

  // Files that exist, oldest first.
  std::vector<JournalFileInfo> Files() const;
  uint64_t TotalBytes() const;

  // Deletes files numbered below `number` (never the current file).
  // Returns bytes deleted.
  Result<uint64_t> DeleteFilesBefore(uint64_t number);

  // Adopts files left by a previous run (replayed at open) so that
  // DeleteFilesBefore can remove them once their data is flushed.
  void AdoptOldFiles(std::vector<JournalFileInfo> files);

  // The sticky error, OK if healthy.
  Status error() const;
  JournalStats stats() const;
  SyncMode sync_mode() const { return options_.sync; }

  // Writes what is queued, syncs, stops the syncer. Later Submits fail
  // with Aborted. Idempotent.
  Status Close();

 private:
  Journal(FileSystem* fs, Clock* clock, std::string data_dir, JournalOptions options,
          std::function<uint64_t()> next_file_number);

  // Creates file `number` and makes it current (not under mu_).
  Status OpenNewFile(uint64_t number) REQUIRES(write_mu_);
  // The leader's work: takes a group from the queue, writes it, tells the
  // listeners, wakes followers. Called and returns with mu_ held; releases
  // it while writing.
  void LeadOneGroup() REQUIRES(mu_);
  Status WriteGroup(const std::vector<JournalRequest*>& group, bool sync, uint64_t* file_number) REQUIRES(write_mu_);
  // Frames the group's record into group_buffer_.
  void BuildGroupRecord(const std::vector<JournalRequest*>& group, uint64_t durable_through) REQUIRES(write_mu_);
  uint64_t DurableOffset() const EXCLUDES(mu_);
  void SyncerLoop();
  // Syncs the current file, covering every byte written before it, and
  // settles unsynced_bytes_/durable_offset_. Releases mu_ while syncing.
  Status SyncUnsyncedLocked() REQUIRES(mu_);
  // Starts that sync without waiting (StartSyncFlushed); false if the file
  // cannot.
  bool StartSyncLocked() REQUIRES(mu_);
  // Settles the started sync if it has finished, or (`wait`) once it has,
  // releasing mu_ while it waits; every other sync waits for it first, so
  // syncs never overlap it (a failed fdatasync's error is reported to one
  // caller only). Without `wait`, a sync still running stays started.
  void SettleStartedSyncLocked(bool wait) REQUIRES(mu_);
  // The same, taking mu_ and waiting; returns the journal's error.
  Status SettleStartedSync() EXCLUDES(mu_);
  // Records a finished sync of `file` that covered `covered` unsynced bytes,
  // up to `covered_offset`.
  void FinishSyncLocked(const std::shared_ptr<WritableFile>& file, const Status& s, uint64_t covered,
                        uint64_t covered_offset) REQUIRES(mu_);
  // Unsynced bytes of the current file that no started sync covers.
  uint64_t UncoveredLocked() const REQUIRES(mu_);
  void SetError(const Status& s) REQUIRES(mu_);

  FileSystem* const fs_;
  Clock* const clock_;
  const std::string data_dir_;
  const JournalOptions options_;
  const std::function<uint64_t()> next_file_number_;

  // Held by the leader while it writes or rotates: the file has one writer.
  // Lock order: write_mu_ before mu_.
  Mutex write_mu_;
  std::string group_buffer_ GUARDED_BY(write_mu_);

  // Protects the queue, the leader role, errors, the current file pointer,
  // the file list and stats.
  mutable Mutex mu_ ACQUIRED_AFTER(write_mu_);
  CondVar cv_{&mu_};
  std::deque<JournalRequest*> queue_ GUARDED_BY(mu_);
  bool leader_active_ GUARDED_BY(mu_) = false;
  // leader_active_, readable without mu_: AwaitCommit spins only while a
  // leader is writing (someone else may finish its request any moment);
  // with no leader it takes the role at once instead of waiting for nobody.
  std::atomic<bool> leader_busy_{false};
  bool closed_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  // Replaced only under write_mu_ and mu_; the syncer copies it under mu_.
  std::shared_ptr<WritableFile> file_ GUARDED_BY(mu_);
  std::string file_path_ GUARDED_BY(mu_);
  uint64_t current_number_ GUARDED_BY(mu_) = 0;
  std::vector<JournalFileInfo> files_ GUARDED_BY(mu_);
  uint64_t unsynced_bytes_ GUARDED_BY(mu_) = 0;
  // A caller_syncs writer will sync (SyncOwed); the syncer stays asleep.
  bool sync_owed_ GUARDED_BY(mu_) = false;
  // Offset of the current file known durable (synced), written into every
  // record so recovery can tell a power loss's hole from damage.
  uint64_t durable_offset_ GUARDED_BY(mu_) = 0;
  // The sync SyncOwed started, until settled: its file, the unsynced bytes
  // it covers and the offset they end at.
  std::unique_ptr<SyncTicket> started_sync_ GUARDED_BY(mu_);
  std::shared_ptr<WritableFile> started_sync_file_ GUARDED_BY(mu_);
  uint64_t started_sync_covered_ GUARDED_BY(mu_) = 0;
  uint64_t started_sync_offset_ GUARDED_BY(mu_) = 0;
  // A thread waits (without mu_) for the started sync; others wait for it.
  bool settling_ GUARDED_BY(mu_) = false;
  CondVar settled_cv_{&mu_};
  // When the last sync started ("long ago" before the first).
  int64_t last_sync_micros_ GUARDED_BY(mu_) = INT64_MIN / 4;
  JournalStats stats_ GUARDED_BY(mu_);

  // Batch-mode syncer: sleeps with no deadline while nothing is unsynced.
  CondVar syncer_cv_{&mu_};
  bool stop_syncer_ GUARDED_BY(mu_) = false;
  std::thread syncer_;
};

}  // namespace ebb

#endif  // EBB_STORAGE_JOURNAL_H_
