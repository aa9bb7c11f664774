// Persister (the snapshot persister; mechanism, not policy): turns a
// snapshot — a list of segment files plus dropped-database tombstones — into
// one archive in the object store, recorded in the tier index:
//
//   started -> archived (local staging file, synced) -> uploaded -> verified
//   (remote size and TOC read back equal the local ones; optionally every
//   member's checksum) -> indexed (tier index saved) -> published (snapshot
//   record written remotely, epoch checked) -> done (staging file removed)
//
// Every step is appended to the snapshot's status log (snapshot_log.h)
// before the next begins, so Open recovers after a crash: snapshots that
// crashed before their archive was complete are rolled back (aborted: their
// segments are still local and not in the index, so the agent persists them
// again), the others resume where they stopped. The persister never deletes
// a segment file, and a segment enters the index only after its remote copy
// was verified, so no step can lose data.
//
// StartSnapshot runs synchronously up to "archived" (snapshot N+1 does not
// start before N is at least in local archives); Step advances the
// oldest unfinished snapshot by one step so the caller paces the uploads.
// Failed uploads and reads are retried on later Steps; a verification that
// finds a bad remote copy uploads again, at most max_upload_attempts times.
// A newer epoch in the object store fences this persister: it aborts its
// snapshots and refuses new ones (Aborted). Until the agent has an epoch
// (SetEpoch, once the object store answered) nothing is started or
// advanced: recovery of the logs is local and works without the store.
//
// A snapshot's archive carries the store catalog of its request (catalog.h).
// Finished status logs are kept by retention (the newest retain_snapshots,
// and those that finished within retain_s), like the snapshots themselves.
//
// Files under tier_dir: staging/<id>.tar, snapshots/<id>.log, tier.index.
//
// Thread safety: not thread-safe; one owner (the TieringAgent) calls it.

#ifndef EBB_TIERING_PERSISTER_H_
#define EBB_TIERING_PERSISTER_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive.h"
#include "tiering/catalog.h"
#include "tiering/snapshot_log.h"
#include "tiering/tier_index.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

struct PersistSegment {
  TieredSegmentMeta meta;
  std::string path;  // the local segment file, read through the FileSystem
};

struct SnapshotRequest {
  std::vector<PersistSegment> segments;
  std::vector<DatabaseTombstone> tombstones;
  // The store as of this snapshot. Segments whose archive is empty are in
  // this snapshot's own archive (its name is chosen by StartSnapshot).
  std::optional<StoreCatalog> catalog;
};

struct PersisterOptions {
  std::string tier_dir;
  int zstd_level = 3;
  // Download the whole archive after upload and check every member's
  // ciphertext checksum (doubles the transfer; S3 already checks the
  // upload's SHA-256).
  bool verify_full = false;
  int max_upload_attempts = 3;
  // Unfinished snapshots (each holds a staging archive on local disk).
  size_t max_unfinished_snapshots = 2;
  // Finished status logs kept: the newest retain_snapshots, and every one
  // that finished less than retain_s ago; older ones are deleted.
  size_t retain_snapshots = 4;
  int64_t retain_s = 86400;
};

std::string TierIndexPath(const std::string& tier_dir);

class Persister {
 public:
  // Recovers unfinished snapshots from their logs (see above). `index` is the
  // loaded tier index, shared with readers; it must outlive the persister.
  // `keys` writes with its current key and reads with any of its keys.
  // The epoch is set later (SetEpoch).
  static Result<std::unique_ptr<Persister>> Open(FileSystem* fs, ObjectStore* store, const KeyRing* keys,
                                                 TierIndex* index, const Clock* clock, PersisterOptions options);
  ~Persister();

  // Logs the snapshot, writes its archive to the staging dir and returns the
  // snapshot id (= archive name). Busy if max_unfinished_snapshots are
  // pending; Aborted when fenced; on a failure while archiving the snapshot
  // is aborted and the error returned.
  Result<std::string> StartSnapshot(const SnapshotRequest& request);

  // Advances the oldest unfinished snapshot by one step. Returns false when
  // nothing is pending. `bytes_transferred`, if given, is increased by the
  // bytes uploaded or downloaded. An error leaves the snapshot where it was
  // (retry with a later Step), except that verification failures beyond the
  // attempt limit and fencing abort it.
  Result<bool> Step(uint64_t* bytes_transferred = nullptr);
  // Steps until idle or an error (tools and tests).
  Status RunToCompletion();

  // Rolls every unfinished snapshot back (tiering turned off): their
  // segments are still local. With `delete_remote` false an uploaded,
  // unindexed archive is left in the object store (garbage collection
  // removes it once tiering runs again).
  Status AbortUnfinished(const std::string& reason, bool delete_remote);

  // The agent epoch, once it is known (AdvanceEpoch). Until then
  // StartSnapshot is Unavailable and Step does nothing.
  void SetEpoch(uint64_t epoch) { epoch_ = epoch; }
  // The key ring changed (a key was created once the bucket answered).
  void SetKeys(const KeyRing* keys) { keys_ = keys; }

  // Applies to snapshots started later.
  void Tune(int zstd_level, bool verify_full, size_t retain_snapshots, int64_t retain_s) {
    options_.zstd_level = zstd_level;
    options_.verify_full = verify_full;
    options_.retain_snapshots = std::max<size_t>(1, retain_snapshots);
    options_.retain_s = retain_s;
  }

  // Appends an `evicting` record naming `segment_ids` to the status log of
  // the snapshot that wrote `archive`, if that log is still kept. Called
  // before the local copies are removed.
  Status RecordEvicting(const std::string& archive, const std::vector<uint64_t>& segment_ids);

  bool idle() const { return flights_.empty(); }
  bool fenced() const { return fenced_; }
  uint64_t epoch() const { return epoch_; }
  size_t unfinished() const { return flights_.size(); }
  // Bytes of archives waiting in the staging dir.
  uint64_t staged_bytes() const;
  // The unfinished snapshots, oldest first, then nothing else.
  std::vector<SnapshotState> unfinished_snapshots() const;
  // The most recent snapshot to finish (done or aborted), if any.
  const std::optional<SnapshotState>& last_finished() const { return last_finished_; }

 private:
  struct Flight {
    SnapshotState state;
    std::unique_ptr<SnapshotLogWriter> log;
    std::optional<ArchiveToc> local_toc;
  };

  Persister(FileSystem* fs, ObjectStore* store, const KeyRing* keys, TierIndex* index, const Clock* clock,
            PersisterOptions options);
  Status Recover();
  Status RecoverOne(const std::string& log_path);
  Status Record(Flight* f, SnapshotEvent event, std::string detail = "");
  Status Abort(Flight* f, std::string reason, bool delete_remote = true);
  void Finish(Flight* f);
  Status Verify(Flight* f, uint64_t* bytes_transferred);
  Status Fence();
  void TrimFinishedLogs();
  std::string StagingPath(const std::string& id) const;
  std::string LogPath(const std::string& id) const;

  // Constant after construction.
  FileSystem* const fs_;
  ObjectStore* const store_;
  TierIndex* const index_;
  const Clock* const clock_;

  // Owned by the calling thread.
  const KeyRing* keys_;
  uint64_t epoch_ = 0;
  PersisterOptions options_;
  std::deque<Flight> flights_;
  std::optional<SnapshotState> last_finished_;
  bool fenced_ = false;
};

}  // namespace ebb

#endif  // EBB_TIERING_PERSISTER_H_
