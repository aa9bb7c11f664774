// Garbage collection of the bucket: deletes archives no retained snapshot
// and no live segment needs, and the records of snapshots past retention.
//
//   retained snapshots  the newest `retain_snapshots` published snapshots
//                       (at least one), and every one published less than
//                       `retain_s` ago (a snapshot's time is in its name)
//   needed archives     those a retained snapshot's catalog names (and the
//                       snapshot's own archive), those holding a live
//                       segment or one still open by a reader, those of
//                       snapshots in flight, and every archive newer than
//                       the newest published snapshot (verified, not yet
//                       published)
//   deleted             every other archive: first the records of expired
//                       snapshots (so no restore picks one whose archives
//                       are going), then the archives, each after an epoch
//                       check (a fenced agent deletes nothing)
//
// An archive whose members are only partly live stays whole: its dead
// members are garbage the report counts (garbage_bytes), as is what the
// retained snapshots alone keep. Version 1 archives carry no catalog; a
// retained one needs only itself.
//
// Thread safety: one call at a time per bucket (the agent's work thread or
// the offline tool holding the store's lock).

#ifndef EBB_TIERING_BUCKET_GC_H_
#define EBB_TIERING_BUCKET_GC_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive.h"
#include "tiering/tier_index.h"

namespace ebb {

class Clock;
class ObjectStore;

struct GcOptions {
  size_t retain_snapshots = 4;
  int64_t retain_s = 86400;
  bool dry_run = false;  // report what would be deleted, delete nothing
};

struct GcInputs {
  // Segments live in the store now.
  std::set<SegmentKey> live;
  // Segment numbers a reader still has open (obsolete but referenced).
  std::set<uint64_t> in_use_numbers;
  // Archives of snapshots not finished yet.
  std::set<std::string> in_flight;
  // Checked before deleting anything (the epoch fence); OK to go on.
  std::function<Status()> may_delete;
};

struct GcReport {
  uint64_t snapshots = 0;           // published snapshot records found
  uint64_t snapshots_retained = 0;
  uint64_t snapshots_deleted = 0;
  uint64_t archives = 0;            // archives found
  uint64_t archives_deleted = 0;
  uint64_t bytes_reclaimed = 0;     // of the archives deleted
  uint64_t bytes_kept = 0;          // of the archives kept
  uint64_t garbage_bytes = 0;       // payload bytes in kept archives of segments not live
  std::vector<std::string> deleted;  // archive names
  std::vector<std::string> problems;
};

// Runs one pass. `index` loses the deleted archives (the caller saves it).
Result<GcReport> CollectGarbage(ObjectStore* store, const KeyRing& keys, TierIndex* index, const GcInputs& inputs,
                                const GcOptions& options, const Clock* clock);

// The published snapshot ids (names of the snapshots/ records), oldest first.
Result<std::vector<std::string>> ListPublishedSnapshots(ObjectStore* store);

}  // namespace ebb

#endif  // EBB_TIERING_BUCKET_GC_H_
