// Sorted key/value blocks: the unit segments store data and index in
// (docs/format.md, "Blocks"). Keys are prefix-compressed against the
// previous key, with a full key ("restart point") every restart_interval
// entries so a seek can binary-search restarts:
//   entry   = varint shared | varint non_shared | varint value_len | key_delta | value
//   trailer = fixed32 restart_offset * n | fixed32 n

#ifndef EBB_STORAGE_BLOCK_H_
#define EBB_STORAGE_BLOCK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "storage/internal_iterator.h"

namespace ebb {

class BlockBuilder {
 public:
  explicit BlockBuilder(int restart_interval = 16) : restart_interval_(restart_interval) { restarts_.push_back(0); }

  // Keys must be added in increasing order (caller's ordering).
  void Add(std::string_view key, std::string_view value);
  // Appends the trailer and returns the block contents; then Reset.
  std::string_view Finish();
  void Reset();
  size_t EstimatedSize() const { return buffer_.size() + restarts_.size() * 4 + 4; }
  bool empty() const { return counter_ == 0 && buffer_.empty(); }
  std::string_view last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;
  std::string last_key_;
  bool finished_ = false;
};

// Where a block lies in its file.
struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;  // contents, without the trailer
};
// Decodes varint offset | varint size from the front of *input; false if
// malformed.
bool DecodeBlockHandle(std::string_view* input, BlockHandle* handle);

// Compares keys of a block: internal keys for data blocks and index blocks.
using KeyCompareFn = int (*)(std::string_view, std::string_view);

// A parsed block. Contents are either borrowed (an mmap'd file that outlives
// the block) or owned (read into a buffer). Movable value type.
class Block {
 public:
  Block() = default;
  Block(Block&&) noexcept;
  Block& operator=(Block&&) noexcept;
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // Validate the trailer of a block held in `owned` (taken over), or of
  // bytes owned elsewhere that outlive the block (a file's mapping). On
  // failure returns why (the caller adds file and offset).
  static Result<Block> ParseOwned(std::string owned);
  static Result<Block> ParseBorrowed(std::string_view contents);

  // A cheap cursor over a block that must outlive it. Not thread-safe.
  class Cursor {
   public:
    Cursor(const Block* block, KeyCompareFn cmp) : block_(block), cmp_(cmp) {}
    bool Valid() const { return valid_; }
    void SeekToFirst();
    void Seek(std::string_view target);
    void Next();
    std::string_view key() const { return key_; }
    std::string_view value() const { return value_; }
    // Non-OK once a malformed entry was met (the cursor becomes invalid).
    const Status& status() const { return status_; }

   private:
    bool ParseEntryAt(uint32_t offset);
    // The key of the entry at restart point `index`, in place (a restart
    // entry shares nothing with the previous key); false and status_ set
    // if it is malformed.
    bool RestartKey(uint32_t index, std::string_view* key);
    uint32_t RestartOffset(uint32_t index) const;
    const Block* block_;
    KeyCompareFn cmp_;
    bool valid_ = false;
    uint32_t next_offset_ = 0;  // offset of the entry after the current one
    std::string key_;
    std::string_view value_;
    Status status_;
  };

  // A heap-allocated iterator that owns the block.
  static std::unique_ptr<InternalIterator> NewIterator(Block block, KeyCompareFn cmp);

  std::string_view contents() const { return contents_; }
  size_t data_end() const { return restart_offset_; }

 private:
  Status Init();

  std::string owned_;
  bool is_owned_ = false;
  std::string_view contents_;  // owned_ or borrowed bytes
  uint32_t restart_offset_ = 0;  // start of the restart array
  uint32_t num_restarts_ = 0;
};

}  // namespace ebb

#endif  // EBB_STORAGE_BLOCK_H_
