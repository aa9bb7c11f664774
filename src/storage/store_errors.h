// StoreErrors: the store-wide sticky error, and the rule that follows an
// error whose outcome is unknown (docs/RELIABILITY.md, "When a write's
// outcome is unknown").
//
// A failed write of metadata (a manifest append or sync, the CURRENT swap of
// a checkpoint, a directory sync) does not mean the write did not land: the
// bytes may be on disk, and the next open may read them. So after one:
//   - no file is deleted any more (obsolete segments, journal files, old
//     manifests): a file the edit made obsolete may still be needed if the
//     edit did not land, and a file it added is needed if it did;
//   - writes fail with ReadOnly naming the error, and no flush, compaction
//     or eviction starts (each would write files and edits again);
//   - reads go on;
//   - until the store is reopened, when recovery decides from what is on
//     disk (files the recovered manifest does not name go to lost+found/).
//
// Thread safety: all methods are thread-safe; the checks on the write path
// are one atomic load.

#ifndef EBB_STORAGE_STORE_ERRORS_H_
#define EBB_STORAGE_STORE_ERRORS_H_

#include <atomic>
#include <string>

#include "base/mutex.h"
#include "ebb/status.h"

namespace ebb {

class StoreErrors {
 public:
  // Records `error` (the first one wins) from the metadata write `what`
  // ("flush of database users: manifest edit", ...). Logs it once.
  void SetMetadataError(std::string_view what, const Status& error);

  // OK while the store may write; else ReadOnly saying why and what to do.
  Status CheckWritable() const;
  // False once a metadata write's outcome is unknown.
  bool deletions_allowed() const { return !failed_.load(std::memory_order_acquire); }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // The error as recorded (OK if none).
  Status error() const;

 private:
  std::atomic<bool> failed_{false};
  mutable Mutex mu_;
  Status error_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_STORAGE_STORE_ERRORS_H_
