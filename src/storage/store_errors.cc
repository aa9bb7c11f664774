#include "storage/store_errors.h"

#include <fmt/format.h>

#include "base/logging.h"

namespace ebb {

void StoreErrors::SetMetadataError(std::string_view what, const Status& error) {
  MutexLock lock(&mu_);
  if (failed_.load(std::memory_order_relaxed)) return;
  error_ = Status(error.code(),
                  fmt::format("{} failed and may or may not have reached the disk: {}", what, error.message()));
  failed_.store(true, std::memory_order_release);
  EBB_LOG(kError,
          "{}; the store is read-only (reads go on) and deletes no file until it is reopened, when recovery "
          "decides from what is on disk",
          error_.ToString());
}

Status StoreErrors::CheckWritable() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::OK();
  MutexLock lock(&mu_);
  return Status::ReadOnly(fmt::format(
      "the store is read-only: {}; fix the cause (free space, a failing disk) and reopen the store to recover",
      error_.ToString()));
}

Status StoreErrors::error() const {
  MutexLock lock(&mu_);
  return error_;
}

}  // namespace ebb
