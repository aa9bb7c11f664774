// SegmentFile: one segment file of a database's segment set, local or
// evicted to the object store by the tiering agent: opening it (through the
// segment cache, or remotely once evicted), the local Bloom filter kept for
// an evicted segment, and handing the file to the store's deleter
// (obsolete_files.h) once it is obsolete and no set references it.
// DatabaseCore::EvictSegment (segment_file.cc) evicts one.
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

// A live segment file shared by segment sets. Its file is deleted (by the
// store's deleter, or at once inside an ObsoleteFiles::InlineScope) when the
// last set referencing it goes away after it was made obsolete (compacted
// away or its database dropped).
class SegmentFile {
 public:
  // `database` is the tier name (name#id) of the segment's database.
  SegmentFile(const StorageContext* ctx, SegmentMeta meta, std::string database);
  ~SegmentFile();
  const SegmentMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }
  // Opens the segment: the local file, or through the remote source once
  // evicted. Records the access while tiering runs (coldest-first
  // eviction). The first open keeps the segment's Bloom filter in memory
  // with this object (about 1.25 bytes per key), for MayContain.
  // `touch`: counts as an access for eviction (reads); internal probes (a
  // flush's estimate of shadowed bytes) pass false, so they do not make the
  // oldest segments look hot to the tiering agent's LRU.
  Result<std::shared_ptr<Segment>> Open(bool touch = true) const;
  void MarkObsolete() { obsolete_.store(true, std::memory_order_release); }
  bool evicted() const { return evicted_.load(std::memory_order_acquire); }
  // The local file is gone; later opens go remote. Returns false if it
  // already was.
  bool MarkEvicted();
  // The local file is back (recalled); later opens read it. Returns false
  // if it was not evicted.
  bool MarkLocal();
  const std::string& database() const { return database_; }
  // False if the segment's Bloom filter says the user key whose BloomHash is
  // `bloom_hash` is certainly absent, so a read need not open (or, once
  // evicted, fetch) the segment. The filter is the one kept by an earlier
  // open, or for an evicted segment its local filter file (read once).
  // True when no filter is known yet (the segment is opened and its own
  // filter consulted) or the key may be there.
  bool MayContain(uint64_t bloom_hash) const;
  // True once a resident filter is known: MayContain then consulted it.
  bool HasResidentFilter() const { return filter_.load(std::memory_order_acquire) != nullptr; }
  // Starts loading the resident filter's line for bloom_hash (BloomPrefetch).
  void PrefetchFilter(uint64_t bloom_hash) const;
  std::string filter_path() const;
  int64_t last_access_micros() const { return last_access_micros_.load(std::memory_order_relaxed); }
  // Shadowed-bytes estimate, updated by flushes.
  uint64_t dead_bytes() const { return dead_bytes_.load(std::memory_order_relaxed); }
  void set_dead_bytes(uint64_t v) { dead_bytes_.store(v, std::memory_order_relaxed); }

 private:
  // Publishes `filter` as the resident filter if none is yet.
  void KeepFilter(std::string filter) const EXCLUDES(filter_mu_);

  const StorageContext* const ctx_;
  const SegmentMeta meta_;
  const std::string database_;
  const std::string path_;
  std::atomic<bool> obsolete_{false};
  std::atomic<bool> evicted_;
  std::atomic<uint64_t> dead_bytes_;
  mutable std::atomic<int64_t> last_access_micros_;
  // The resident filter: set once (from the first open, or an evicted
  // segment's filter file), read without a lock on every point read.
  mutable std::atomic<const std::string*> filter_{nullptr};
  mutable Mutex filter_mu_;
  mutable std::unique_ptr<const std::string> filter_owner_ GUARDED_BY(filter_mu_);
  mutable bool filter_file_tried_ GUARDED_BY(filter_mu_) = false;
};

using SegmentSet = std::vector<std::shared_ptr<SegmentFile>>;  // newest first

// Iterates an evicted segment, fetching it (through SegmentFile::Open) only
// when a positioning call can land inside its key range.
std::unique_ptr<InternalIterator> NewEvictedSegmentIterator(std::shared_ptr<SegmentFile> file);

}  // namespace ebb

#endif  // EBB_STORAGE_SEGMENT_FILE_H_
