// MemberCache: local copies of evicted segments, fetched on demand. A read
// that needs an evicted segment calls Acquire(key): the cache looks the
// segment up in the tier index (by SegmentKey: database, number, checksum),
// fetches just its archive member with one ranged get, checks the
// ciphertext and plaintext checksums, and writes the plain segment file
// (without a sync: the cache does not outlive the process's use of it) to
// <dir>/<number>-<checksum>.seg, which the engine opens through the
// FileSystem like any segment file. TryAcquire never fetches: the engine's
// asynchronous reads use it to hand a fetch to the fetch pool instead of
// waiting on a read thread.
//
// - Bounded: at most capacity_bytes of files; the least recently used
//   unpinned ones are deleted to make room. A handle pins its file.
// - Single flight: concurrent Acquires of one segment share one fetch.
// - A checksum mismatch is fetched once more; a second mismatch is
//   Corruption naming the archive and member.
// - Files left from a previous run are removed at Open (cheap to refetch).
//
// Thread-safe. The cache must outlive its handles.

#ifndef EBB_TIERING_MEMBER_CACHE_H_
#define EBB_TIERING_MEMBER_CACHE_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "ebb/status.h"
#include "ebb/tiering_status.h"
#include "tiering/archive_key.h"
#include "tiering/tier_index.h"

namespace ebb {

class FileSystem;
class ObjectStore;

struct MemberCacheOptions {
  std::string dir;
  uint64_t capacity_bytes = uint64_t{1} << 30;
};



class MemberCache {
 public:
  // A pinned cached segment file.
  class Handle {
   public:
    ~Handle();
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    const SegmentKey& key() const { return key_; }
    const std::string& path() const { return path_; }
    uint64_t size_bytes() const { return size_bytes_; }

   private:
    friend class MemberCache;
    Handle(MemberCache* cache, SegmentKey key, std::string path, uint64_t size)
        : cache_(cache), key_(std::move(key)), path_(std::move(path)), size_bytes_(size) {}
    MemberCache* const cache_;
    const SegmentKey key_;
    const std::string path_;
    const uint64_t size_bytes_;
  };

  // `keys` must outlive the cache; SetKeys replaces it.
  static Result<std::unique_ptr<MemberCache>> Open(FileSystem* fs, ObjectStore* store, const KeyRing* keys,
                                                   const TierIndex* index, MemberCacheOptions options);
  ~MemberCache();

  // Returns the local file of segment `key`, fetching it if needed.
  // NotFound if the index has no such segment; Busy if pinned files fill
  // the cache; Corruption after a failed refetch; PermissionDenied if no
  // key of the ring opens its archive; object store errors as they come,
  // with the object store named.
  Result<std::unique_ptr<Handle>> Acquire(const SegmentKey& key);
  // The cached file of `key` if it is ready; nullptr if it would have to be
  // fetched (or a fetch is in flight). Never blocks on the object store.
  std::unique_ptr<Handle> TryAcquire(const SegmentKey& key);

  // Drops an unpinned cached file (e.g. the segment was compacted away).
  void Forget(const SegmentKey& key);
  void SetKeys(const KeyRing* keys);
  void SetCapacity(uint64_t capacity_bytes);
  MemberCacheStats stats() const;

 private:
  struct Slot {
    bool ready = false;  // false: a fetch is in flight
    uint64_t size_bytes = 0;
    int pins = 0;
    std::list<SegmentKey>::iterator lru;  // valid when ready
  };

  MemberCache(FileSystem* fs, ObjectStore* store, const KeyRing* keys, const TierIndex* index,
              MemberCacheOptions options);
  Result<std::string> Fetch(const IndexEntry& entry);
  std::string PathOf(const SegmentKey& key) const;
  SegmentKey Resolve(const SegmentKey& key) const;
  void Release(const SegmentKey& key);
  // Deletes unpinned LRU files until `incoming` more bytes fit.
  bool MakeRoomLocked(uint64_t incoming) REQUIRES(mu_);

  // Constant after construction.
  FileSystem* const fs_;
  ObjectStore* const store_;
  const TierIndex* const index_;
  const std::string dir_;
  std::atomic<const KeyRing*> keys_;

  // Protected by mu_.
  mutable Mutex mu_;
  CondVar fetched_cv_{&mu_};
  uint64_t capacity_bytes_ GUARDED_BY(mu_);
  std::map<SegmentKey, Slot> slots_ GUARDED_BY(mu_);
  std::list<SegmentKey> lru_ GUARDED_BY(mu_);  // front = most recently used
  MemberCacheStats stats_ GUARDED_BY(mu_);
  uint64_t reserved_bytes_ GUARDED_BY(mu_) = 0;  // of fetches in flight
};

}  // namespace ebb

#endif  // EBB_TIERING_MEMBER_CACHE_H_
