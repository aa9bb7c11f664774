#include "storage/block.h"

#include <cstring>

#include <fmt/format.h>

#include "base/coding.h"

namespace ebb {

bool DecodeBlockHandle(std::string_view* input, BlockHandle* handle) {
  return GetVarint64(input, &handle->offset) && GetVarint64(input, &handle->size);
}

void BlockBuilder::Add(std::string_view key, std::string_view value) {
  size_t shared = 0;
  if (counter_ < restart_interval_) {
    size_t limit = std::min(last_key_.size(), key.size());
    while (shared < limit && last_key_[shared] == key[shared]) shared++;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  }
  size_t non_shared = key.size() - shared;
  PutVarint32(&buffer_, static_cast<uint32_t>(shared));
  PutVarint32(&buffer_, static_cast<uint32_t>(non_shared));
  PutVarint32(&buffer_, static_cast<uint32_t>(value.size()));
  buffer_.append(key.data() + shared, non_shared);
  buffer_.append(value.data(), value.size());
  last_key_.resize(shared);
  last_key_.append(key.data() + shared, non_shared);
  counter_++;
}

std::string_view BlockBuilder::Finish() {
  for (uint32_t r : restarts_) PutFixed32(&buffer_, r);
  PutFixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
  finished_ = true;
  return buffer_;
}

void BlockBuilder::Reset() {
  buffer_.clear();
  restarts_.clear();
  restarts_.push_back(0);
  counter_ = 0;
  last_key_.clear();
  finished_ = false;
}

Block::Block(Block&& o) noexcept { *this = std::move(o); }

Block& Block::operator=(Block&& o) noexcept {
  if (this == &o) return *this;
  owned_ = std::move(o.owned_);
  is_owned_ = o.is_owned_;
  // A moved short string's bytes move too: re-point at our own copy.
  contents_ = is_owned_ ? std::string_view(owned_) : o.contents_;
  restart_offset_ = o.restart_offset_;
  num_restarts_ = o.num_restarts_;
  o.contents_ = {};
  o.is_owned_ = false;
  return *this;
}

Status Block::Init() {
  if (contents_.size() < 4) return Status::Corruption(fmt::format("block of {} bytes is too short", contents_.size()));
  uint32_t n = DecodeFixed32(contents_.data() + contents_.size() - 4);
  uint64_t trailer = uint64_t{n} * 4 + 4;
  if (n == 0 || trailer > contents_.size()) {
    return Status::Corruption(fmt::format("block restart count {} does not fit its {} bytes", n, contents_.size()));
  }
  restart_offset_ = static_cast<uint32_t>(contents_.size() - trailer);
  num_restarts_ = n;
  return Status::OK();
}

Result<Block> Block::ParseOwned(std::string owned) {
  Block block;
  block.owned_ = std::move(owned);
  block.is_owned_ = true;
  block.contents_ = block.owned_;
  Status s = block.Init();
  if (!s.ok()) return s;
  return block;
}

Result<Block> Block::ParseBorrowed(std::string_view contents) {
  Block block;
  block.contents_ = contents;
  Status s = block.Init();
  if (!s.ok()) return s;
  return block;
}

uint32_t Block::Cursor::RestartOffset(uint32_t index) const {
  return DecodeFixed32(block_->contents_.data() + block_->restart_offset_ + index * 4);
}

bool Block::Cursor::ParseEntryAt(uint32_t offset) {
  const char* base = block_->contents_.data();
  const char* p = base + offset;
  const char* limit = base + block_->restart_offset_;
  if (p >= limit) {
    valid_ = false;
    return false;
  }
  uint32_t shared, non_shared, value_len;
  p = DecodeVarint32(p, limit, &shared);
  if (p) p = DecodeVarint32(p, limit, &non_shared);
  if (p) p = DecodeVarint32(p, limit, &value_len);
  if (p == nullptr || shared > key_.size() || static_cast<uint64_t>(limit - p) < uint64_t{non_shared} + value_len) {
    valid_ = false;
    status_ = Status::Corruption(fmt::format("malformed block entry at block offset {}", offset));
    return false;
  }
  key_.resize(shared);
  key_.append(p, non_shared);
  value_ = std::string_view(p + non_shared, value_len);
  next_offset_ = static_cast<uint32_t>(p + non_shared + value_len - base);
  valid_ = true;
  return true;
}

void Block::Cursor::SeekToFirst() {
  key_.clear();
  ParseEntryAt(0);
}

void Block::Cursor::Next() {
  ParseEntryAt(next_offset_);
}

bool Block::Cursor::RestartKey(uint32_t index, std::string_view* key) {
  const uint32_t offset = RestartOffset(index);
  const char* base = block_->contents_.data();
  const char* limit = base + block_->restart_offset_;
  const char* p = offset < block_->restart_offset_ ? base + offset : nullptr;
  uint32_t shared = 0, non_shared = 0, value_len = 0;
  if (p) p = DecodeVarint32(p, limit, &shared);
  if (p) p = DecodeVarint32(p, limit, &non_shared);
  if (p) p = DecodeVarint32(p, limit, &value_len);
  if (p == nullptr || shared != 0 || static_cast<uint64_t>(limit - p) < uint64_t{non_shared} + value_len) {
    valid_ = false;
    if (status_.ok()) status_ = Status::Corruption(fmt::format("bad restart point {} at block offset {}", index, offset));
    return false;
  }
  *key = std::string_view(p, non_shared);
  return true;
}

void Block::Cursor::Seek(std::string_view target) {
  // Binary search: the last restart point whose key is < target, comparing
  // the restart keys where they lie (no copy).
  uint32_t left = 0, right = block_->num_restarts_ - 1;
  while (left < right) {
    uint32_t mid = (left + right + 1) / 2;
    std::string_view mid_key;
    if (!RestartKey(mid, &mid_key)) return;
    if (cmp_(mid_key, target) < 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  key_.clear();
  if (!ParseEntryAt(RestartOffset(left))) return;
  while (valid_ && cmp_(key_, target) < 0) Next();
}

namespace {

class BlockIterator final : public InternalIterator {
 public:
  BlockIterator(Block block, KeyCompareFn cmp) : block_(std::move(block)), cursor_(&block_, cmp) {}
  bool Valid() const override { return cursor_.Valid(); }
  void SeekToFirst() override { cursor_.SeekToFirst(); }
  void Seek(std::string_view target) override { cursor_.Seek(target); }
  void Next() override { cursor_.Next(); }
  std::string_view key() const override { return cursor_.key(); }
  std::string_view value() const override { return cursor_.value(); }
  Status status() const override { return cursor_.status(); }

 private:
  Block block_;
  Block::Cursor cursor_;
};

}  // namespace

std::unique_ptr<InternalIterator> Block::NewIterator(Block block, KeyCompareFn cmp) {
  return std::make_unique<BlockIterator>(std::move(block), cmp);
}

}  // namespace ebb
