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

// Cold reads handed to the fetch pool instead of waiting on a read thread.
struct FetchPoolStats {
  uint64_t threads = 0;
  uint64_t queue_limit = 0;
  uint64_t queued = 0;          // fetches waiting or running now
  uint64_t fetches = 0;         // handed to the pool so far
  uint64_t rejected = 0;        // the queue was full: the read got Busy
  uint64_t timeouts = 0;        // gave up after tiering.fetch_timeout_ms
  uint64_t failures = 0;        // other errors (the object store unreachable, ...)
};

// Status for `ebb status` / the admin page; field names are JSON-friendly.
struct TieringStatus {
  bool enabled = false;
  // "tiering" (persist, evict, recall, collect garbage) or "recall"
  // (tiering turned off while segments were evicted: bring them back).
  std::string mode;
  // "connected", "unreachable" (retried with backoff; local data is
  // served, evicted reads answer Unavailable) or "refused" (a setting must
  // change: wrong key, credentials).
  std::string object_store;
  std::string object_store_error;     // why not connected
  int64_t next_connect_in_ms = 0;     // when unreachable: the next attempt
  bool index_rebuild_pending = false; // the tier index waits for the object store
  uint64_t epoch = 0;
  bool fenced = false;
  // "conditional writes" (a real fence: the epoch object is replaced only
  // if unchanged) or "best effort: ..." (the store ignores them).
  std::string fencing;
  std::string key_id;                 // of the key new archives are written with
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
  uint64_t bytes_evicted_now = 0;     // bytes of segments evicted at present
  uint64_t segments_recalled = 0;
  uint64_t bytes_recalled = 0;
  // Garbage collection of the bucket.
  uint64_t gc_runs = 0;
  uint64_t gc_archives_deleted = 0;
  uint64_t gc_snapshots_deleted = 0;
  uint64_t gc_bytes_reclaimed = 0;
  // Garbage the bucket still holds: payload bytes of segments no longer
  // live, in archives kept for a live neighbour or a retained snapshot (as
  // of the last collection).
  uint64_t garbage_bytes = 0;
  // Estimated bytes shadowed by newer writes inside evicted segments:
  // compaction works on local segments only, so this stays until the
  // segments are recalled.
  uint64_t evicted_dead_bytes = 0;
  uint64_t errors = 0;
  std::string last_error;
  MemberCacheStats cache;
  FetchPoolStats fetch;
};

}  // namespace ebb

#endif  // EBB_TIERING_STATUS_H_
