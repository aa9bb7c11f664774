// ObsoleteFiles: deletes segment files that no segment set references any
// more, on a thread of its own.
//
// A compacted-away segment is deleted when the last view holding it goes,
// and that is usually a reader's: the read that drops the last reference to
// an old view would otherwise unmap and unlink every input of the
// compaction before it answers. For a burst of a GiB compacted into one run
// that is over 100 segment files and hundreds of milliseconds of page-cache
// teardown on a read thread (measured here: about 65 ms to unmap and 380 ms
// to unlink 1 GiB of cached 8 MiB files), a stall every read queued behind
// it shares. Instead SegmentFile hands the file to this queue; its thread
// closes the cached mapping and deletes the files. A compaction that drops
// the last reference to its own inputs (no reader held them) deletes them
// itself, inside an InlineScope: it is background work already, and waking
// a second thread for it would only add a context switch to every pass.
//
// The thread starts with the first file queued and sleeps on a condition
// variable whenever the queue is empty: an idle store has no wakeups from
// it. Whether deletion is still allowed (StoreErrors: after a metadata write
// of unknown outcome nothing is deleted until the store is reopened) is
// asked just before each deletion. Files queued when the process dies are
// left on disk; the next open sets aside segment files the manifest does not
// name (lost+found), so nothing that may be needed is ever removed.
//
// Thread safety: all methods are thread-safe.

#ifndef EBB_STORAGE_OBSOLETE_FILES_H_
#define EBB_STORAGE_OBSOLETE_FILES_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ebb {

class FileSystem;
class SegmentCache;
class StoreErrors;

class ObsoleteFiles {
 public:
  // `local_bytes` (may be null) is the store's gauge of segment bytes on
  // local disk: each queued segment's bytes leave it once its files are
  // gone (or kept for good), not when it is queued.
  ObsoleteFiles(FileSystem* fs, SegmentCache* cache, const StoreErrors* errors, std::atomic<uint64_t>* local_bytes);
  // Deletes what is still queued, then stops the thread.
  ~ObsoleteFiles();

  ObsoleteFiles(const ObsoleteFiles&) = delete;
  ObsoleteFiles& operator=(const ObsoleteFiles&) = delete;

  // While one exists on a thread, the files that thread queues are deleted
  // at once, on it (background work that made them obsolete itself).
  class InlineScope {
   public:
    InlineScope();
    ~InlineScope();
    InlineScope(const InlineScope&) = delete;
    InlineScope& operator=(const InlineScope&) = delete;
  };

  // Queues segment `number`: its cached mapping is dropped, `paths`
  // deleted (a path that is already gone is not an error) and
  // `local_bytes` taken off the gauge. Inside an InlineScope, or if the
  // thread cannot be started, that is done before returning.
  void Add(uint64_t number, std::vector<std::string> paths, uint64_t local_bytes);

  // Returns once everything queued before the call is deleted (or kept,
  // when deletion is no longer allowed). For Close and tests.
  void Drain();

  // Files deleted since the start.
  uint64_t files_deleted() const;

 private:
  struct Item {
    uint64_t number;
    std::vector<std::string> paths;
    uint64_t local_bytes;
  };
  void Run();
  void Delete(const Item& item);

  FileSystem* const fs_;
  SegmentCache* const cache_;
  const StoreErrors* const errors_;
  std::atomic<uint64_t>* const local_bytes_;

  mutable Mutex mu_;
  CondVar work_cv_{&mu_};  // an item was queued, or stopping
  CondVar done_cv_{&mu_};  // an item was finished
  std::deque<Item> queue_ GUARDED_BY(mu_);
  uint64_t queued_ GUARDED_BY(mu_) = 0;    // items ever queued
  uint64_t finished_ GUARDED_BY(mu_) = 0;  // items ever finished
  uint64_t files_deleted_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_STORAGE_OBSOLETE_FILES_H_
