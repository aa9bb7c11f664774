// IndexFences: what a point lookup searches instead of a segment's index
// block (docs/format.md, "Segments": the index is not changed on disk).
//
// The index block holds one entry per data block, keyed by the block's last
// internal key; a binary search over it takes a cache miss per step, because
// each probed key lies elsewhere in the block. When a segment is opened,
// IndexFences copies the index into two dense arrays: for each data block a
// fence, the 8 bytes of its last user key that follow the prefix every index
// key shares, read as a big-endian integer (zero-padded), and the block's
// handle. A lookup binary-searches the fences (8 bytes each, so the upper
// levels of the search stay in cache) and reads the handle beside the one it
// lands on.
//
// Fences order like the user keys they come from except where two tie (keys
// alike in those 8 bytes, or one user key's versions spread over several
// blocks): a lookup whose fence ties with an index fence reports
// kAmbiguous, and the caller searches the index block itself.
//
// Costs 24 bytes of memory per data block (0.6% of 4 KiB blocks).
// Immutable once built; thread-safe for concurrent Find.

#ifndef EBB_STORAGE_INDEX_FENCES_H_
#define EBB_STORAGE_INDEX_FENCES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/block.h"

namespace ebb {

class IndexFences {
 public:
  // Copies an index block (internal keys -> encoded block handles). Nothing
  // if an entry is malformed: the caller then searches the block, which
  // reports the damage where it lies.
  static std::optional<IndexFences> Build(const Block& index);

  enum class Outcome {
    kPastEnd,    // every block's keys are below user_key: not in the segment
    kBlock,      // *handle is the first block that can hold user_key
    kAmbiguous,  // a fence ties: search the index block
  };
  Outcome Find(std::string_view user_key, BlockHandle* handle) const;

  size_t blocks() const { return fences_.size(); }
  // Heap bytes held.
  size_t memory_bytes() const;

 private:
  // The fence of a user key's bytes after the shared prefix.
  static uint64_t FenceOf(std::string_view suffix);

  std::string prefix_;             // shared by every index user key
  std::vector<uint64_t> fences_;   // ascending (ties allowed)
  std::vector<BlockHandle> handles_;
};

}  // namespace ebb

#endif  // EBB_STORAGE_INDEX_FENCES_H_
