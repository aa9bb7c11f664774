// Restore: a store rebuilt from its bucket alone (tiering in, on an empty
// directory). Used by `ebb tier restore --to DIR` and by Store::Open on an
// empty data directory with tiering.restore = true.
//
// What it restores: the newest published snapshot (or the one named), whose
// archive's catalog describes every live database at a consistent point
// (archive_format.md, "Catalog"): each database's segments, sequence and id;
// dropped databases are absent. Steps:
//
//   1. DIR must be empty or missing, or hold the RESTORING marker of a
//      restore that stopped (then it starts over); DIR/LOCK is held.
//   2. Every archive's TOC is read (the tier index of the new store).
//   3. Each segment's member is fetched (one ranged read), decrypted and
//      checked (ciphertext, plaintext and the catalog's content checksum).
//      While the local bytes stay within `local_bytes`, it is written to
//      DIR/segments/; past that only its Bloom filter is kept and it is
//      recorded evicted (reads fetch it through the member cache, as after
//      an eviction).
//   4. The manifest holding the catalog's state is written (MANIFEST, then
//      CURRENT), with the tier index, and the key file when asked.
//   5. The marker goes; the directory opens as a store.
//
// A store does not open while DIR/RESTORING exists (the error says to run
// the restore again). Nothing is written to the object store, so restoring
// elsewhere never fences the running store; opening the restored store with
// tiering enabled on the same bucket does (it takes the bucket over).
//
// Thread safety: one restore per directory (the lock).

#ifndef EBB_ENGINE_RESTORE_H_
#define EBB_ENGINE_RESTORE_H_

#include <cstdint>
#include <string>

#include "ebb/status.h"
#include "tiering/archive_key.h"
#include "tiering/tier_tools.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

// The marker of a restore in progress, in the data directory.
std::string RestoringMarkerPath(const std::string& data_dir);

struct RestoreOptions {
  std::string to_dir;
  std::string snapshot;  // empty: the newest published one
  // Local segment bytes to keep at most; the rest stays remote (evicted).
  uint64_t local_bytes = UINT64_MAX;
  // Where the restored store's key file goes (empty: not written; the
  // store's configuration names the key file).
  std::string key_file_out;
  ProgressFn progress;
  // Members fetched at once.
  int parallelism = kTierToolParallelism;
};

struct RestoreReport {
  std::string snapshot;
  uint64_t databases = 0;
  uint64_t segments = 0;
  uint64_t segments_local = 0;
  uint64_t segments_evicted = 0;
  uint64_t bytes_fetched = 0;    // sealed member bytes read from the object store
  uint64_t bytes_restored = 0;   // segment file bytes (local and evicted)
  uint64_t archives = 0;         // in the bucket
  double seconds = 0;
};

Result<RestoreReport> RestoreStore(FileSystem* fs, ObjectStore* store, const KeyRing& keys,
                                   const RestoreOptions& options, const Clock* clock);

}  // namespace ebb

#endif  // EBB_ENGINE_RESTORE_H_
