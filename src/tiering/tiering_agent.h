// TieringAgent (the tiering-out agent: policy and orchestration). It
// decides WHAT to persist — segments of a consistent snapshot that are older
// than min_age, still local and not yet in the tier index, up to
// archive_target_bytes per archive, plus tombstones of dropped databases —
// and WHEN to evict: while local segment bytes (plus unflushed memtable bytes,
// which will become segments) exceed local_target_bytes.
// HOW is the Persister's and the Evicter's business.
//
// The agent has no thread. The engine's background runtime reads
// PendingBytes() (the tiering work class's gauge: local + incoming bytes over target)
// and calls DoWork(budget) to advance it; each call does a bounded amount:
// persister steps (an upload, a verification, an index update ...), starting
// at most one new snapshot, and at most one eviction pass.
//
// The engine implements TieringHost (segment source and eviction callback)
// and reads evicted segments through member_cache().
//
// Thread safety: DoWork is called by one thread at a time; PendingBytes,
// GetStatus, ApplyConfig, index() and member_cache() may be called from any
// thread.

#ifndef EBB_TIERING_TIERING_AGENT_H_
#define EBB_TIERING_TIERING_AGENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/mutex.h"
#include "ebb/status.h"
#include "ebb/tiering_status.h"
#include "tiering/archive.h"
#include "tiering/evicter.h"
#include "tiering/member_cache.h"
#include "tiering/persister.h"
#include "tiering/tier_index.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

struct TieringOptions {
  bool enabled = false;
  std::string tier_dir;   // staging/, snapshots/, cache/, tier.index, EPOCH
  std::string key_file;   // default <tier_dir>/archive.key
  uint64_t local_target_bytes = UINT64_MAX;
  int64_t min_age_s = 3600;
  uint64_t archive_target_bytes = 256 << 20;
  uint64_t cache_bytes = uint64_t{1} << 30;
  int zstd_level = 3;
  bool verify_full = false;
};

// One live segment as the engine sees it.
struct LiveSegment {
  TieredSegmentMeta meta;
  std::string path;               // local file (meaningful when `local`)
  uint64_t size_bytes = 0;
  int64_t created_wall_micros = 0;  // when the segment file was written
  int64_t last_access_micros = 0;   // for coldest-first eviction
  bool local = true;              // false once evicted
};

// A consistent view of the live segments. The engine keeps every listed
// local segment file in place (no compaction deletes it) until `pin` is
// released (the snapshot is destroyed).
struct SegmentSnapshot {
  std::vector<LiveSegment> segments;
  // Dropped databases the engine still remembers; the agent archives a
  // tombstone for each one the tier index does not have yet.
  std::vector<DatabaseTombstone> dropped_databases;
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
};

struct TieringWorkResult {
  uint64_t bytes = 0;        // uploaded, downloaded, archived and evicted bytes
  bool more_work = false;    // call again soon
  Status status;             // first error of this call (also in GetStatus)
};



class TieringAgent {
 public:
  // Loads (or creates) the archive key, loads the tier index (rebuilding it
  // from the object store if it is missing or damaged), advances the epoch,
  // recovers unfinished snapshots and opens the member cache. `fs`, `store`,
  // `host` and `clock` must outlive the agent.
  static Result<std::unique_ptr<TieringAgent>> Open(FileSystem* fs, ObjectStore* store, TieringHost* host,
                                                    const Clock* clock, TieringOptions options);
  ~TieringAgent();

  // The tiering work class's gauge: local segment + incoming bytes over target.
  uint64_t PendingBytes() const;
  // Advances persisting and eviction by about `budget_bytes` of work.
  TieringWorkResult DoWork(uint64_t budget_bytes);
  TieringStatus GetStatus() const;
  // The settings in force (ApplyConfig may change them).
  TieringOptions options() const;
  // True while a snapshot is being archived, uploaded or verified.
  bool busy() const;
  // Runtime settings: local_target_bytes, min_age_s, archive_target_bytes,
  // cache_bytes, zstd_level (next snapshot), verify_full (next snapshot).
  void ApplyConfig(const Config& config);

  const TierIndex& index() const { return index_; }
  MemberCache* member_cache() { return cache_.get(); }
  const ArchiveKey& key() const { return *key_; }

 private:
  TieringAgent(FileSystem* fs, ObjectStore* store, TieringHost* host, const Clock* clock, TieringOptions options);
  // Chooses and starts a snapshot; false if there was nothing to persist.
  Result<bool> MaybeStartSnapshot(uint64_t* bytes);
  void Evict(uint64_t bytes_to_free, TieringWorkResult* result);
  void NoteError(const Status& s, TieringWorkResult* result);
  void RefreshSnapshotStatus();

  // Constant after Open.
  FileSystem* const fs_;
  ObjectStore* const store_;
  TieringHost* const host_;
  const Clock* const clock_;
  std::unique_ptr<ArchiveKey> key_;
  TierIndex index_;  // thread-safe itself
  std::unique_ptr<MemberCache> cache_;
  std::unique_ptr<Evicter> evicter_;

  // Owned by the thread in DoWork (one at a time); work_mu_ enforces it.
  Mutex work_mu_;
  std::unique_ptr<Persister> persister_ GUARDED_BY(work_mu_);

  // Protected by mu_.
  mutable Mutex mu_;
  TieringOptions options_ GUARDED_BY(mu_);
  // Whether the persister had work in flight at the end of the last DoWork
  // (or after recovery); read without work_mu_, which DoWork holds for long.
  std::atomic<bool> busy_{false};
  TieringStatus status_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_TIERING_TIERING_AGENT_H_
