// SnapshotLog: the persistent status of one persisted snapshot, an
// append-only file of checksummed event records: every interesting event
// in the history of that snapshot. SnapshotLogWriter appends and syncs;
// ParseSnapshotLog replays a file into the snapshot's current state, which
// is how the Persister recovers after a crash.
//
// Record framing (little-endian): fixed32 masked length of the body,
// fixed32 Checksum32(body), body. A record cut short at the end of the file
// (a torn write) or a bad checksum on the last record is ignored; a checksum
// error on any earlier record is Corruption naming the file and offset.
// A writer resuming a log cuts such a torn tail off first (SnapshotLogWriter::
// Open with the parsed valid_bytes), so the next record follows the last
// intact one instead of leaving damage in the middle of the log.
// Format in docs/archive_format.md ("Snapshot status log").
//
// Thread safety: a writer is used by one thread; ParseSnapshotLog and the
// epoch functions are thread-safe.

#ifndef EBB_TIERING_SNAPSHOT_LOG_H_
#define EBB_TIERING_SNAPSHOT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive.h"

namespace ebb {

class FileSystem;
class ObjectStore;
class WritableFile;

// States in the order a snapshot passes through them.
enum class SnapshotEvent : uint8_t {
  kStarted = 1,    // content chosen: segment ids and tombstones recorded
  kArchived = 2,   // archive complete and synced in the local staging dir
  kUploaded = 3,   // object store accepted the archive
  kVerified = 4,   // remote size and TOC read back and equal to the local one
  kIndexed = 5,    // the tier index (saved) contains the archive
  kPublished = 6,  // snapshot record written remotely under the live epoch
  kEvicting = 7,   // local copies of (some of) its segments are about to be
                   // removed (may follow done: eviction comes when space is
                   // needed; it is bookkeeping and never moves a state back)
  kDone = 8,       // staging copy removed; nothing left to do
  kAborted = 9,    // rolled back; its segments remain local and unpersisted
};

std::string_view SnapshotEventName(SnapshotEvent event);

struct SnapshotRecord {
  SnapshotEvent event = SnapshotEvent::kStarted;
  int64_t wall_micros = 0;
  uint64_t epoch = 0;
  std::string archive;        // kStarted and later
  uint64_t archive_bytes = 0; // kArchived, kUploaded
  std::vector<uint64_t> segment_ids;  // kStarted, kEvicting
  std::vector<DatabaseTombstone> tombstones;  // kStarted
  std::string detail;         // kAborted: why; otherwise free text
  friend bool operator==(const SnapshotRecord&, const SnapshotRecord&) = default;
};

class SnapshotLogWriter {
 public:
  // Opens `path` for appending (creating it). If the file is longer than
  // `valid_bytes` (a torn tail ParseSnapshotLog ignored), it is truncated
  // to `valid_bytes` first (and the truncation synced).
  static Result<std::unique_ptr<SnapshotLogWriter>> Open(FileSystem* fs, const std::string& path,
                                                         uint64_t valid_bytes = UINT64_MAX);
  ~SnapshotLogWriter();
  // Appends one record and syncs it.
  Status Append(const SnapshotRecord& record);
  const std::string& path() const { return path_; }

 private:
  SnapshotLogWriter(std::string path, std::unique_ptr<WritableFile> file);
  const std::string path_;
  std::unique_ptr<WritableFile> file_;
};

// The current state of a snapshot, from its log.
struct SnapshotState {
  std::string snapshot_id;  // the log's file name without ".log"
  SnapshotEvent state = SnapshotEvent::kStarted;
  uint64_t epoch = 0;
  std::string archive;
  uint64_t archive_bytes = 0;
  std::vector<uint64_t> segment_ids;
  std::vector<DatabaseTombstone> tombstones;
  std::vector<uint64_t> evicted_segment_ids;
  int64_t started_wall_micros = 0;
  int64_t updated_wall_micros = 0;
  std::string detail;      // of the last record (abort reason)
  size_t records = 0;
  bool torn_tail = false;  // a torn last record was ignored
  uint64_t valid_bytes = 0;  // bytes of intact records (where a writer resumes)
  // Times the snapshot went back to kArchived after a failed verification.
  int upload_attempts = 0;
  bool finished() const { return state == SnapshotEvent::kDone || state == SnapshotEvent::kAborted; }
};

// A log without one complete record (the process died while creating it) is
// NotFound: the snapshot never started.
Result<SnapshotState> ParseSnapshotLog(FileSystem* fs, const std::string& path);
// The same on bytes (for tests and tools); `name` appears in errors.
Result<SnapshotState> ParseSnapshotLogBytes(std::string_view data, const std::string& name);

}  // namespace ebb

#endif  // EBB_TIERING_SNAPSHOT_LOG_H_
