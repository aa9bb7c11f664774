// EngineTiering: the engine's side of the tiering agent (docs/ARCHITECTURE.md). It
// implements the agent's TieringHost (consistent snapshots of the live
// segments with what the store catalog needs, eviction and recall of local
// copies through storage) and storage's RemoteSegmentSource (reads of
// evicted segments through the agent's member cache), and is the tiering
// work class's WorkSource.
//
// It runs in one of two modes (TieringMode): tiering (tiering.enabled), or
// recall (tiering turned off on a store that still has evicted segments:
// they are brought back, then nothing is left to do).
//
// Reads of evicted segments: a blocking read (Database::Get, iterators)
// fetches on its own thread. An asynchronous read (GetAsync, MultiGetAsync,
// ScanAsync: the ReadPool) runs inside a ColdFetchScope: a segment not in
// the member cache is not fetched there; the read stops, the engine hands
// the fetch to its fetch pool and runs the read again once the segment is
// local (engine.cc), so read threads never wait on the object store. While
// the object store is unreachable a read of an evicted segment not cached
// fails at once with Unavailable naming the store.

#ifndef EBB_ENGINE_TIERING_HOST_H_
#define EBB_ENGINE_TIERING_HOST_H_

#include <memory>
#include <optional>
#include <string>

#include "base/config.h"
#include "env/object_store.h"
#include "runtime/work_source.h"
#include "storage/storage.h"
#include "tiering/tiering_agent.h"

namespace ebb {

// See the comment at the top. Not nested; one per thread at a time.
class ColdFetchScope {
 public:
  ColdFetchScope();
  ~ColdFetchScope();
  ColdFetchScope(const ColdFetchScope&) = delete;
  ColdFetchScope& operator=(const ColdFetchScope&) = delete;
  static ColdFetchScope* Current();

  // The segment a read stopped at (set by OpenEvicted).
  std::optional<SegmentKey> needed;
};

class EngineTiering final : public TieringHost, public RemoteSegmentSource, public WorkSource {
 public:
  // Opens the object store named by [tiering] and the agent (which loads
  // the key and the tier index, recovers unfinished snapshots and tries the
  // object store once), and points storage's evicted-segment reads at it.
  // `store`, if given, is used instead of the one [tiering] names (tests).
  static Result<std::unique_ptr<EngineTiering>> Open(Storage* storage, const Config& config, FileSystem* fs,
                                                     Clock* clock, const std::string& data_dir, TieringMode mode,
                                                     ObjectStore* store = nullptr);
  ~EngineTiering() override;

  // TieringHost
  Result<SegmentSnapshot> AcquireSnapshot() override;
  uint64_t LocalSegmentBytes() const override;
  uint64_t IncomingBytes() const override;
  Status EvictLocalCopy(const SegmentKey& key) override;
  Status RecallLocalCopy(const SegmentKey& key, std::string_view contents) override;
  Result<uint64_t> FreeSpaceBytes() const override;
  std::set<uint64_t> InUseSegmentNumbers() const override;

  // RemoteSegmentSource
  Result<std::shared_ptr<Segment>> OpenEvicted(const std::string& database, const SegmentMeta& meta) override;

  // WorkSource (the tiering work class). Pending work: local bytes over
  // target, plus local segments old enough to persist and not yet archived,
  // plus a byte per dropped database whose tombstone is not archived, plus
  // a byte while a snapshot is in flight, plus evicted bytes recall has
  // room for; while the object store is unreachable, a byte when the next
  // attempt is due and nothing otherwise.
  uint64_t PendingBytes() override;
  Result<uint64_t> DoWork(uint64_t budget_bytes) override;
  bool PassesWaitOnNetwork() override { return true; }  // uploads, fetches, reconnects

  // When (Clock::NowMicros) the next local segment becomes old enough to
  // persist, or the next attempt to reach the object store is due; the
  // engine wakes the tiering class then.
  std::optional<int64_t> NextEligibleMicros(Clock* clock) const;

  // For the fetch pool: fetches `key` into the member cache (blocking) and
  // returns the pinned file.
  Result<std::shared_ptr<MemberCache::Handle>> FetchForRead(const SegmentKey& key);

  TieringAgent* agent() { return agent_.get(); }
  ObjectStore* object_store() { return object_store_; }
  // The agent's status, with what storage knows of the evicted segments.
  TieringStatus GetStatus() const;

 private:
  EngineTiering(Storage* storage, FileSystem* fs, Clock* clock, std::string data_dir)
      : storage_(storage), fs_(fs), clock_(clock), data_dir_(std::move(data_dir)) {}
  // Bytes recall could bring back now.
  uint64_t RecallPendingBytes(uint64_t local) const;

  Storage* const storage_;
  FileSystem* const fs_;
  Clock* const clock_;
  const std::string data_dir_;
  std::unique_ptr<ObjectStore> owned_store_;
  ObjectStore* object_store_ = nullptr;
  std::unique_ptr<TieringAgent> agent_;
};

// Whether the store has evicted segments (tiering must run, at least to
// recall them).
bool HasEvictedSegments(Storage* storage);

}  // namespace ebb

#endif  // EBB_ENGINE_TIERING_HOST_H_
