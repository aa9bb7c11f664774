// SegmentCache: bounds how many segment files are open (and mmap'd) at once.
// Sharded LRU keyed by file number; a reader holding the returned
// shared_ptr keeps its segment open even after eviction.
//
// Thread-safe.

#ifndef EBB_STORAGE_SEGMENT_CACHE_H_
#define EBB_STORAGE_SEGMENT_CACHE_H_

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/mutex.h"
#include "env/file_system.h"
#include "storage/segment.h"

namespace ebb {

class SegmentCache {
 public:
  SegmentCache(FileSystem* fs, size_t capacity);

  // The open segment `number` at `path`, opening it if needed.
  Result<std::shared_ptr<Segment>> Get(uint64_t number, const std::string& path);
  // The open segment `number`, opened with `open` if not cached. `remote`
  // marks segments opened from the tier's member cache (see EvictRemote).
  Result<std::shared_ptr<Segment>> GetOrOpen(uint64_t number,
                                             const std::function<Result<std::shared_ptr<Segment>>()>& open,
                                             bool remote = false);
  // Closes every cached remote segment not in use by a reader, releasing its
  // pin on the member cache (which asks for room when it is full of pinned
  // files).
  void EvictRemote();
  void Evict(uint64_t number);
  size_t size() const;

 private:
  static constexpr int kShards = 16;
  struct Shard {
    mutable Mutex mu;
    // Most recently used at the front.
    struct Entry {
      uint64_t number;
      std::shared_ptr<Segment> segment;
      bool remote;
    };
    std::list<Entry> lru GUARDED_BY(mu);
    std::unordered_map<uint64_t, decltype(lru)::iterator> index GUARDED_BY(mu);
  };
  Shard& ShardFor(uint64_t number) { return shards_[number % kShards]; }

  FileSystem* const fs_;
  const size_t per_shard_capacity_;
  Shard shards_[kShards];
};

}  // namespace ebb

#endif  // EBB_STORAGE_SEGMENT_CACHE_H_
