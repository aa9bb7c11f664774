// Copyright Ebb authors. Public API.
//
// Status of the tiering-out agent (archives of cold segments in object
// storage) and of its local cache of fetched segments. Plain structs; member
// names are the JSON names of /status.

#ifndef EBB_TIERING_STATUS_H_
#define EBB_TIERING_STATUS_H_

#include <cstdint>
#include <string>

namespace ebb {

struct MemberCacheStats {
  uint64_t hits = 0;
  uint64_t fetches = 0;        // ranged gets, including refetches
  uint64_t fetched_bytes = 0;
  uint64_t refetches = 0;      // after a checksum mismatch
  uint64_t evictions = 0;
  uint64_t cached_bytes = 0;
  uint64_t cached_members = 0;
};

// Status for `ebb status` / the admin page; field names are JSON-friendly.
struct TieringStatus {
  bool enabled = false;
  uint64_t epoch = 0;
  bool fenced = false;
  uint64_t archives = 0;
  uint64_t segments_remote = 0;
  uint64_t bytes_remote = 0;          // archive bytes in the object store
  uint64_t bytes_local = 0;           // local segment bytes
  uint64_t local_target_bytes = 0;
  uint64_t pending_bytes = 0;         // local + unflushed bytes over target
  uint64_t staged_bytes = 0;          // archives waiting to be uploaded
  uint64_t snapshots_in_flight = 0;
  std::string last_snapshot_id;
  std::string last_snapshot_state;    // "started" ... "done", "aborted"
  std::string last_snapshot_detail;
  uint64_t snapshots_done = 0;
  uint64_t snapshots_aborted = 0;
  uint64_t segments_evicted = 0;
  uint64_t bytes_evicted = 0;
  uint64_t evictions_refused = 0;     // candidates without a verified remote copy
  uint64_t errors = 0;
  std::string last_error;
  MemberCacheStats cache;
};

}  // namespace ebb

#endif  // EBB_TIERING_STATUS_H_
