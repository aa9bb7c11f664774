#include "storage/arena.h"

#include <algorithm>

namespace ebb {

char* Arena::AllocateAligned(size_t bytes) {
  constexpr size_t kAlign = alignof(std::max_align_t) > 8 ? alignof(std::max_align_t) : 8;
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  MutexLock lock(&mu_);
  if (bytes > next_block_bytes_ / 4) return AllocateNewBlock(bytes);  // big: own block, keep the current one
  if (bytes > remaining_) {
    ptr_ = AllocateNewBlock(next_block_bytes_);
    remaining_ = next_block_bytes_;
    next_block_bytes_ = std::min(next_block_bytes_ * 2, kBlockBytes);
  }
  char* result = ptr_;
  ptr_ += bytes;
  remaining_ -= bytes;
  return result;
}

char* Arena::AllocateNewBlock(size_t bytes) {
  blocks_.emplace_back(new char[bytes]);
  memory_usage_.fetch_add(bytes + sizeof(char*), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace ebb
