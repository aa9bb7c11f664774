// CompactionTarget: what the smoosh daemon needs to know about the databases
// it schedules. The engine implements it over storage; the compaction layer
// never includes storage headers (docs/ARCHITECTURE.md: a layer uses only those below it), so this
// interface is the whole contract between them.
//
// Thread safety: implementations must be thread-safe. The daemon calls them
// from whichever thread called into the daemon (Tick, TakeNextJob, Enqueue,
// EnqueueAll), and never while holding its own lock, so an implementation
// may take storage locks. The daemon never calls the target from
// OnDatabaseChanged, so storage may notify while holding a database lock.

#ifndef EBB_COMPACTION_COMPACTION_TARGET_H_
#define EBB_COMPACTION_COMPACTION_TARGET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"

namespace ebb {

// Sizes and sequence numbers of one database, as smoosh's priority
// computation sees them (CouchDB's sizes.file / sizes.active / update_seq /
// compacted_seq).
struct CompactionInfo {
  // Bytes the database occupies: its segment files plus its share of the
  // journal (the unflushed memtable's records). CouchDB's "file" size.
  uint64_t disk_bytes = 0;
  // Estimated bytes of live data: what a full compaction would write.
  // CouchDB's "active" size.
  uint64_t live_bytes = 0;
  // Sorted runs of segment files a read may have to merge (read
  // amplification): files with disjoint key ranges, as a compaction's split
  // output, are one run.
  uint64_t segments = 0;
  // Sequence number of the last acknowledged write.
  uint64_t update_seq = 0;
  // update_seq when the last full compaction started (0: never compacted).
  uint64_t compacted_seq = 0;
};

class CompactionTarget {
 public:
  virtual ~CompactionTarget() = default;

  // Current sizes of `database`, or nullopt when it does not exist (dropped,
  // never created, or being dropped). May be moderately expensive (the live
  // estimate); the daemon's staleness cache keeps calls rare.
  virtual std::optional<CompactionInfo> GetCompactionInfo(std::string_view database) = 0;

  // Names of every database in the store, for EnqueueAll.
  virtual std::vector<std::string> ListDatabases() = 0;

  // Bytes free for new files on the file system holding the databases.
  // An error means "unknown": the daemon then starts jobs without the check.
  virtual Result<uint64_t> FreeDiskBytes() = 0;
};

}  // namespace ebb

#endif  // EBB_COMPACTION_COMPACTION_TARGET_H_
