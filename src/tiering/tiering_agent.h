// TieringAgent (seed 003's tiering agent: policy and orchestration). It
// decides WHAT to persist — segments of a consistent snapshot that are older
// than min_age, still local and not yet in the tier index, up to
// archive_target_bytes per archive, plus tombstones of dropped databases,
// with the store catalog that makes the bucket a complete copy — WHEN to
// evict (local segment bytes, plus unflushed memtable bytes, over
// local_target_bytes), WHEN to recall (room under kRecallFillFraction of
// the target, or tiering turned off) and WHEN to collect the bucket's
// garbage (after each snapshot). HOW is the Persister's, the Evicter's and
// CollectGarbage's business.
//
// Modes:
//   kTiering  everything above.
//   kRecall   tiering is off but segments are still evicted: only recall
//             them (all of them, as disk space allows); never writes to
//             the object store, never advances the epoch.
//
// The object store may be down. Open does only local work (key file, tier
// index, snapshot logs, member cache) and then one bounded attempt
// (open_timeout_ms) to reach the store:
//
//   state        what works                          next
//   connected    everything                          -
//   unreachable  local data; evicted reads fail with  DoWork retries when due:
//                Unavailable naming the store; no     backoff 1 s doubling to
//                snapshots, eviction or recall        5 min (status says when)
//   refused      as unreachable                      a setting must change
//                                                    (reopen)
//
// Connecting: check (or, for an empty bucket with no local sign of earlier
// archives, create) the archive key against the key ids recorded in the
// bucket (bucket_meta.h), rebuild a missing or damaged tier index from the
// archives, and advance the epoch with a conditional write where the store
// enforces them. A wrong or missing key, or refused credentials, found by
// Open's attempt fail Open (they need a setting, not patience).
//
// The agent has no thread. The engine's background runtime reads the
// tiering class's gauge (EngineTiering) and calls DoWork(budget); each call
// does a bounded amount: a connection attempt when due, persister steps,
// starting at most one new snapshot, one eviction pass, one recall pass and,
// after a finished snapshot, one garbage collection.
//
// Thread safety: DoWork is called by one thread at a time; PendingBytes,
// GetStatus, ApplyConfig, connected(), index() and member_cache() may be
// called from any thread.

#ifndef EBB_TIERING_TIERING_AGENT_H_
#define EBB_TIERING_TIERING_AGENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/mutex.h"
#include "ebb/status.h"
#include "ebb/tiering_status.h"
#include "tiering/archive.h"
#include "tiering/bucket_gc.h"
#include "tiering/catalog.h"
#include "tiering/evicter.h"
#include "tiering/member_cache.h"
#include "tiering/persister.h"
#include "tiering/tier_index.h"
#include "tiering/tier_tools.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

enum class TieringMode { kTiering, kRecall };

struct TieringOptions {
  bool enabled = false;
  TieringMode mode = TieringMode::kTiering;
  std::string tier_dir;   // staging/, snapshots/, cache/, tier.index, EPOCH
  std::string key_file;   // default <tier_dir>/archive.key
  uint64_t local_target_bytes = UINT64_MAX;
  int64_t min_age_s = 3600;
  uint64_t archive_target_bytes = 256 << 20;
  uint64_t cache_bytes = uint64_t{1} << 30;
  int zstd_level = 3;
  bool verify_full = false;
  // Recall evicted segments when local bytes are under the target.
  bool recall = true;
  size_t retain_snapshots = 4;
  int64_t retain_s = 86400;
  // Bound on Open's attempt to reach the object store.
  int64_t open_timeout_ms = 5000;
};

// Recall fills local disk only up to this fraction of local_target_bytes,
// eviction starts above the target: the gap keeps the two from alternating.
inline constexpr double kRecallFillFraction = 0.9;
// Free space a recall leaves on the data directory's file system at least.
inline constexpr uint64_t kRecallFreeSpaceReserveBytes = uint64_t{64} << 20;
// Reconnection backoff while the object store is unreachable.
inline constexpr int64_t kReconnectMinMicros = 1'000'000;
inline constexpr int64_t kReconnectMaxMicros = 300'000'000;

// A consistent view of the live segments. The engine keeps every listed
// local segment file in place (no compaction deletes it) until `pin` is
// released (the snapshot is destroyed).
struct SegmentSnapshot {
  std::vector<LiveSegment> segments;
  std::vector<LiveDatabase> databases;
  // Dropped databases the engine still remembers; the agent archives a
  // tombstone for each one the tier index does not have yet.
  std::vector<DatabaseTombstone> dropped_databases;
  uint64_t next_file_number = 0;
  uint64_t next_db_id = 0;
  std::shared_ptr<void> pin;
};

// Implemented by the engine.
class TieringHost : public EvictionTarget {
 public:
  virtual Result<SegmentSnapshot> AcquireSnapshot() = 0;
  // Bytes of segment files on local disk now; cheap, called often.
  virtual uint64_t LocalSegmentBytes() const = 0;
  // Bytes on their way to local segments (unflushed memtables); the target
  // covers them too, so that flushes land within it. Cheap, called often.
  virtual uint64_t IncomingBytes() const { return 0; }
  // Makes evicted segment `key` local again from `contents`, its file as
  // fetched (and checked) from the archive. An error leaves it evicted.
  virtual Status RecallLocalCopy(const SegmentKey& key, std::string_view contents) = 0;
  // Free bytes on the file system holding the segments.
  virtual Result<uint64_t> FreeSpaceBytes() const { return UINT64_MAX; }
  // Numbers of segments a reader still has open, live or not (garbage
  // collection keeps their archives).
  virtual std::set<uint64_t> InUseSegmentNumbers() const { return {}; }
};

struct RecallReport {
  uint64_t segments = 0;  // recalled now
  uint64_t bytes = 0;
  uint64_t segments_left = 0;  // evicted segments `which` selected that are still remote
};

struct TieringWorkResult {
  uint64_t bytes = 0;        // uploaded, downloaded, archived, evicted and recalled bytes
  bool more_work = false;    // call again soon
  Status status;             // first error of this call (also in GetStatus)
};

class TieringAgent {
 public:
  // See the comment at the top. `fs`, `store`, `host` and `clock` must
  // outlive the agent.
  static Result<std::unique_ptr<TieringAgent>> Open(FileSystem* fs, ObjectStore* store, TieringHost* host,
                                                    const Clock* clock, TieringOptions options);
  ~TieringAgent();

  // The tiering work class's gauge: local segment + incoming bytes over
  // target (0 while the object store is not connected).
  uint64_t PendingBytes() const;
  // Advances the work by about `budget_bytes`.
  TieringWorkResult DoWork(uint64_t budget_bytes);
  TieringStatus GetStatus() const;
  // The settings in force (ApplyConfig may change them).
  TieringOptions options() const;
  // True while a snapshot is being archived, uploaded or verified.
  bool busy() const;
  bool connected() const { return connected_.load(std::memory_order_acquire); }
  // When not connected and not refused: the Clock::NowMicros time of the
  // next attempt.
  std::optional<int64_t> NextConnectMicros() const;
  // Whether recall is held back (no free space) until something changes.
  bool recall_stalled() const { return recall_stalled_.load(std::memory_order_acquire); }
  // Runtime settings: local_target_bytes, min_age_s, archive_target_bytes,
  // cache_bytes, zstd_level, verify_full, recall, retain_snapshots, retain_s.
  void ApplyConfig(const Config& config);

  // Recalls, on the calling thread, every evicted segment `which` selects,
  // whatever the local target (`ebb tier recall`), as long as the disk has
  // room. Stops at the first error (the object store down, no room).
  Result<RecallReport> RecallNow(const std::function<bool(const LiveSegment&)>& which, const ProgressFn& progress);
  // One garbage collection pass now (`ebb tier gc`).
  Result<GcReport> CollectGarbageNow(bool dry_run);

  const TierIndex& index() const { return index_; }
  MemberCache* member_cache() { return cache_.get(); }

 private:
  TieringAgent(FileSystem* fs, ObjectStore* store, TieringHost* host, const Clock* clock, TieringOptions options);
  // One attempt to reach the object store (see the top).
  Status Connect() REQUIRES(work_mu_);
  void NoteConnectFailure(const Status& s, bool refused) REQUIRES(work_mu_);
  // Local signs that this store archived before ("" if none).
  std::string LocalEvidenceOfArchives() const;
  // Chooses and starts a snapshot; false if there was nothing to persist.
  Result<bool> MaybeStartSnapshot(uint64_t* bytes);
  void Evict(uint64_t bytes_to_free, TieringWorkResult* result);
  void Recall(uint64_t budget_bytes, TieringWorkResult* result);
  // Fetches one evicted segment (from the member cache if it is there) and
  // makes it local. NoSpace when the disk lacks room for it.
  Status RecallOne(const LiveSegment& segment);
  Result<GcReport> RunGc(bool dry_run);
  void CollectBucketGarbage(TieringWorkResult* result);
  void NoteError(const Status& s, TieringWorkResult* result);
  void RefreshSnapshotStatus();

  // Constant after Open.
  FileSystem* const fs_;
  ObjectStore* const store_;
  TieringHost* const host_;
  const Clock* const clock_;
  TierIndex index_;  // thread-safe itself
  std::unique_ptr<MemberCache> cache_;
  std::unique_ptr<Evicter> evicter_;

  // Owned by the thread in DoWork (one at a time); work_mu_ enforces it.
  Mutex work_mu_;
  std::unique_ptr<KeyRing> keys_ GUARDED_BY(work_mu_);
  std::unique_ptr<Persister> persister_ GUARDED_BY(work_mu_);
  bool index_needs_rebuild_ GUARDED_BY(work_mu_) = false;
  bool gc_due_ GUARDED_BY(work_mu_) = false;
  int connect_failures_ GUARDED_BY(work_mu_) = 0;

  std::atomic<bool> connected_{false};
  std::atomic<bool> recall_stalled_{false};
  // Whether the persister had work in flight at the end of the last DoWork
  // (or after recovery); read without work_mu_, which DoWork holds for long.
  std::atomic<bool> busy_{false};

  // Protected by mu_.
  mutable Mutex mu_;
  TieringOptions options_ GUARDED_BY(mu_);
  TieringStatus status_ GUARDED_BY(mu_);
  bool refused_ GUARDED_BY(mu_) = false;
  int64_t next_connect_micros_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb

#endif  // EBB_TIERING_TIERING_AGENT_H_
