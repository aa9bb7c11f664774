// The tiering objects under meta/ in the object store (docs/archive_format.md):
//
//   meta/epoch  the agent epoch, a decimal number. Each agent that starts
//               takes max(local, remote) + 1 and writes it, with a
//               conditional write (create if absent, else replace only the
//               version it read) where the store enforces them, so two
//               agents starting at once get different epochs and the older
//               one is fenced at its next check. Where the store ignores
//               conditional writes (s3rver) the write is unconditional and
//               the fence is best effort: the status says so.
//   meta/keys   the fingerprints (key ids) of every archive key that wrote
//               archives, one line each: "<16 hex digits> <wall micros>".
//               A store whose key file is missing, or holds another key,
//               is refused with an error naming the key ids the archives
//               need; a new key is made only for a bucket with no archives
//               and no registered key. A rotated key is registered when the
//               ring still holds a registered key (the rotation's retired
//               key).
//
// Thread safety: the functions are thread-safe (the object store is).

#ifndef EBB_TIERING_BUCKET_META_H_
#define EBB_TIERING_BUCKET_META_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive_key.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

inline constexpr char kEpochObjectKey[] = "meta/epoch";
inline constexpr char kKeyRegistryObjectKey[] = "meta/keys";

struct EpochAdvance {
  uint64_t epoch = 0;
  // Whether the write was conditional (a real fence) or best effort.
  bool conditional = false;
};

// Reads the local file and the remote object, takes the larger, adds one,
// and writes both (local atomically first). Retries, a bounded number of
// times, when another agent advanced the remote epoch meanwhile.
Result<EpochAdvance> AdvanceEpoch(FileSystem* fs, const std::string& local_path, ObjectStore* store);
// Aborted ("fenced") if the remote epoch is newer than `mine`: another agent
// started on the same object store.
Status CheckEpoch(ObjectStore* store, uint64_t mine);

// The key ids the bucket says its archives need: the registry's, or (an
// older bucket without one) the key id in the newest archive's footer.
// Empty for a bucket with no archives and no registry.
Result<std::vector<uint64_t>> BucketKeyIds(ObjectStore* store);

// Checks that `ring` can read the bucket's archives (see above) and, when
// `may_register`, records the current key's id in meta/keys. An error says
// which key ids the archives need and which keys the store has.
Status CheckKeysAgainstBucket(ObjectStore* store, const KeyRing& ring, const Clock* clock, bool may_register);

// For a store whose key file `key_file` does not exist: creates a key if
// the bucket holds no archives and no registered key, and registers it;
// otherwise the error that says which key to restore. `local_evidence`
// names local signs of earlier archives (a tier index with archives, snapshot
// logs, an epoch file); with any, no key is made, whatever the bucket says.
Result<std::unique_ptr<KeyRing>> CreateKeyForEmptyBucket(FileSystem* fs, ObjectStore* store, const Clock* clock,
                                                         const std::string& key_file,
                                                         const std::string& local_evidence);

// The error for a missing key file whose archives exist.
Status MissingKeyError(const std::string& key_file, const std::string& where, const std::vector<uint64_t>& key_ids);

}  // namespace ebb

#endif  // EBB_TIERING_BUCKET_META_H_
