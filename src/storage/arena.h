// Arena: bump allocation for memtable entries, freed all at once when the
// memtable is dropped. Thread-safe (writers insert into a memtable
// concurrently); the critical section is a pointer bump.

#ifndef EBB_STORAGE_ARENA_H_
#define EBB_STORAGE_ARENA_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "base/mutex.h"

namespace ebb {

class Arena {
 public:
  // Blocks start small and double up to kBlockBytes, so the thousands of
  // nearly idle databases a store may hold each cost only a few KiB.
  static constexpr size_t kFirstBlockBytes = 4 * 1024;
  static constexpr size_t kBlockBytes = 256 * 1024;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Memory aligned for pointers/atomics; valid until the arena is destroyed.
  char* AllocateAligned(size_t bytes);

  // Bytes of blocks allocated so far (what the memtable costs in RAM).
  size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  char* AllocateNewBlock(size_t bytes) REQUIRES(mu_);

  Mutex mu_;
  char* ptr_ GUARDED_BY(mu_) = nullptr;
  size_t remaining_ GUARDED_BY(mu_) = 0;
  size_t next_block_bytes_ GUARDED_BY(mu_) = kFirstBlockBytes;
  std::vector<std::unique_ptr<char[]>> blocks_ GUARDED_BY(mu_);
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace ebb

#endif  // EBB_STORAGE_ARENA_H_
