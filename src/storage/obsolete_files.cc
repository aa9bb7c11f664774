#include "storage/obsolete_files.h"

#include <system_error>
#include <utility>

#include "base/logging.h"
#include "base/sync_point.h"
#include "base/thread_name.h"
#include "env/file_system.h"
#include "storage/segment_cache.h"
#include "storage/store_errors.h"

namespace ebb {

namespace {
thread_local int inline_scopes = 0;
}  // namespace

ObsoleteFiles::InlineScope::InlineScope() { inline_scopes++; }
ObsoleteFiles::InlineScope::~InlineScope() { inline_scopes--; }

ObsoleteFiles::ObsoleteFiles(FileSystem* fs, SegmentCache* cache, const StoreErrors* errors,
                             std::atomic<uint64_t>* local_bytes)
    : fs_(fs), cache_(cache), errors_(errors), local_bytes_(local_bytes) {}

ObsoleteFiles::~ObsoleteFiles() {
  std::thread thread;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_cv_.Signal();
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();  // it empties the queue before it ends
}

void ObsoleteFiles::Add(uint64_t number, std::vector<std::string> paths, uint64_t local_bytes) {
  Item item{number, std::move(paths), local_bytes};
  MutexLock lock(&mu_);
  // Inside an InlineScope, or destroyed with the store (no thread to hand
  // it to): here and now.
  if (inline_scopes > 0 || stopping_) {
    MutexUnlock unlock(&mu_);
    Delete(item);
    return;
  }
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      // Called from a destructor: no exception may leave. The caller pays
      // for the deletion, as it did before there was a thread.
      EBB_LOG(kWarn, "could not start the thread that deletes obsolete segment files ({}); deleting here",
              e.what());
      MutexUnlock unlock(&mu_);
      Delete(item);
      return;
    }
  }
  queue_.push_back(std::move(item));
  queued_++;
  work_cv_.Signal();
}

void ObsoleteFiles::Drain() {
  MutexLock lock(&mu_);
  const uint64_t target = queued_;
  while (finished_ < target) done_cv_.Wait();
}

uint64_t ObsoleteFiles::files_deleted() const {
  MutexLock lock(&mu_);
  return files_deleted_;
}

void ObsoleteFiles::Run() {
  SetCurrentThreadName("ebb-delete");
  MutexLock lock(&mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      work_cv_.Wait();
      continue;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    {
      MutexUnlock unlock(&mu_);
      Delete(item);
    }
    finished_++;
    done_cv_.SignalAll();
  }
}

void ObsoleteFiles::Delete(const Item& item) {
  EBB_SYNC_POINT("ObsoleteFiles::Delete");
  // The cached mapping first: unmapping is part of the cost kept off readers.
  cache_->Evict(item.number);
  uint64_t deleted = 0;
  if (!errors_->deletions_allowed()) {
    // After a metadata write whose outcome is unknown, the file may still
    // be needed: the next open decides.
    EBB_LOG(kWarn, "kept obsolete segment {} (the store deletes nothing until it is reopened)",
            item.paths.empty() ? std::string() : item.paths.front());
  } else {
    for (const std::string& path : item.paths) {
      Status s = fs_->DeleteFile(path);
      if (s.ok()) {
        deleted++;
      } else if (!s.IsNotFound()) {
        EBB_LOG(kWarn, "could not delete obsolete segment file: {}", s.ToString());
      }
    }
  }
  if (local_bytes_ != nullptr) local_bytes_->fetch_sub(item.local_bytes);
  MutexLock lock(&mu_);
  files_deleted_ += deleted;
}

}  // namespace ebb
