// EngineTiering: the engine's side of the tiering-out agent (docs/ARCHITECTURE.md). It
// implements the agent's TieringHost (consistent snapshots of the live
// segments, eviction of local copies through storage) and storage's
// RemoteSegmentSource (reads of evicted segments through the agent's member
// cache), and is the tiering work class's WorkSource.

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

class EngineTiering final : public TieringHost, public RemoteSegmentSource, public WorkSource {
 public:
  // Opens the object store named by [tiering] and the agent (which loads
  // the key and the tier index, recovering unfinished snapshots), and points
  // storage's evicted-segment reads at it.
  static Result<std::unique_ptr<EngineTiering>> Open(Storage* storage, const Config& config, FileSystem* fs,
                                                     Clock* clock, const std::string& data_dir);
  ~EngineTiering() override;

  // TieringHost
  Result<SegmentSnapshot> AcquireSnapshot() override;
  uint64_t LocalSegmentBytes() const override;
  uint64_t IncomingBytes() const override;
  Status EvictLocalCopy(uint64_t segment_id) override;

  // RemoteSegmentSource
  Result<std::shared_ptr<Segment>> OpenEvicted(uint64_t number) override;

  // WorkSource (the tiering work class). Pending work: local bytes over
  // target, plus local segments old enough to persist and not yet archived,
  // plus a byte per dropped database whose tombstone is not archived, plus
  // a byte while a snapshot is in flight.
  uint64_t PendingBytes() override;
  Result<uint64_t> DoWork(uint64_t budget_bytes) override;

  // When (Clock::NowMicros) the next local segment becomes old enough to
  // persist, if one will; the engine wakes the tiering class then.
  std::optional<int64_t> NextEligibleMicros(Clock* clock) const;

  TieringAgent* agent() { return agent_.get(); }
  TieringStatus GetStatus() const { return agent_->GetStatus(); }

 private:
  EngineTiering(Storage* storage, FileSystem* fs, Clock* clock) : storage_(storage), fs_(fs), clock_(clock) {}

  Storage* const storage_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::unique_ptr<ObjectStore> object_store_;
  std::unique_ptr<TieringAgent> agent_;
};

}  // namespace ebb

#endif  // EBB_ENGINE_TIERING_HOST_H_
