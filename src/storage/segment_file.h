// SegmentFile: one segment file of a database's segment set, local or
// evicted to the object store by the tiering agent: opening it (through the
// segment cache, or remotely once evicted), the local Bloom filter kept for
// an evicted segment, and deleting the file once it is obsolete and no set
// references it. DatabaseCore::EvictSegment (segment_file.cc) evicts one.
//
// Thread safety: all methods are thread-safe.

#ifndef EBB_STORAGE_SEGMENT_FILE_H_
#define EBB_STORAGE_SEGMENT_FILE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "storage/internal_iterator.h"
#include "storage/manifest.h"
#include "storage/segment.h"
#include "storage/storage_context.h"

namespace ebb {

// A live segment file shared by segment sets. Deletes its file when the last
// set referencing it goes away after it was made obsolete (compacted away or
// its database dropped).
class SegmentFile {
 public:
  // `database` is the tier name (name#id) of the segment's database.
  SegmentFile(const StorageContext* ctx, SegmentMeta meta, std::string database);
  ~SegmentFile();
  const SegmentMeta& meta() const { return meta_; }
  std::string path() const;
  // Opens the segment: the local file, or through the remote source once
  // evicted. Records the access (coldest-first eviction).
  Result<std::shared_ptr<Segment>> Open() const;
  void MarkObsolete() { obsolete_.store(true, std::memory_order_release); }
  bool evicted() const { return evicted_.load(std::memory_order_acquire); }
  // The local file is gone; later opens go remote. Returns false if it
  // already was.
  bool MarkEvicted();
  // The local file is back (recalled); later opens read it. Returns false
  // if it was not evicted.
  bool MarkLocal();
  const std::string& database() const { return database_; }
  // For an evicted segment: false if its local filter file says the user
  // key whose BloomHash is `bloom_hash` is certainly absent, so the read need not fetch the segment. True
  // otherwise (a local segment, or no readable filter file: the segment is
  // opened and its own filter consulted). The filter, once read, stays in
  // memory with this object (about 1.25 bytes per key).
  bool EvictedMayContain(uint64_t bloom_hash) const;  // BloomHash of the user key
  std::string filter_path() const;
  int64_t last_access_micros() const { return last_access_micros_.load(std::memory_order_relaxed); }
  // Shadowed-bytes estimate, updated by flushes.
  uint64_t dead_bytes() const { return dead_bytes_.load(std::memory_order_relaxed); }
  void set_dead_bytes(uint64_t v) { dead_bytes_.store(v, std::memory_order_relaxed); }

 private:
  const StorageContext* const ctx_;
  const SegmentMeta meta_;
  const std::string database_;
  std::atomic<bool> obsolete_{false};
  std::atomic<bool> evicted_;
  std::atomic<uint64_t> dead_bytes_;
  mutable std::atomic<int64_t> last_access_micros_;
  mutable Mutex filter_mu_;
  mutable bool filter_loaded_ GUARDED_BY(filter_mu_) = false;
  // Empty when the filter file was missing or damaged.
  mutable std::shared_ptr<const std::string> filter_ GUARDED_BY(filter_mu_);
};

using SegmentSet = std::vector<std::shared_ptr<SegmentFile>>;  // newest first

// Iterates an evicted segment, fetching it (through SegmentFile::Open) only
// when a positioning call can land inside its key range.
std::unique_ptr<InternalIterator> NewEvictedSegmentIterator(std::shared_ptr<SegmentFile> file);

}  // namespace ebb

#endif  // EBB_STORAGE_SEGMENT_FILE_H_
