#include "storage/index_fences.h"

#include <algorithm>
#include <cstring>

#include "storage/format.h"

namespace ebb {

std::optional<IndexFences> IndexFences::Build(const Block& index) {
  IndexFences f;
  std::vector<std::string> copies;  // user keys (the cursor's key changes with Next)
  Block::Cursor cursor(&index, [](std::string_view a, std::string_view b) { return CompareInternalKeys(a, b); });
  for (cursor.SeekToFirst(); cursor.Valid(); cursor.Next()) {
    if (cursor.key().size() < 8) return std::nullopt;
    std::string_view enc = cursor.value();
    BlockHandle handle;
    if (!DecodeBlockHandle(&enc, &handle)) return std::nullopt;
    copies.emplace_back(ExtractUserKey(cursor.key()));
    f.handles_.push_back(handle);
  }
  if (!cursor.status().ok()) return std::nullopt;
  if (copies.empty()) return f;
  // Keys are sorted, so what the first and last share, all share.
  const std::string& first = copies.front();
  const std::string& last = copies.back();
  size_t p = 0;
  while (p < first.size() && p < last.size() && first[p] == last[p]) p++;
  f.prefix_ = first.substr(0, p);
  f.fences_.reserve(copies.size());
  for (const std::string& k : copies) f.fences_.push_back(FenceOf(std::string_view(k).substr(p)));
  f.fences_.shrink_to_fit();
  f.handles_.shrink_to_fit();
  return f;
}

uint64_t IndexFences::FenceOf(std::string_view suffix) {
  uint64_t v = 0;
  const size_t n = std::min<size_t>(suffix.size(), 8);
  for (size_t i = 0; i < 8; i++) {
    v = (v << 8) | (i < n ? static_cast<uint8_t>(suffix[i]) : 0);
  }
  return v;
}

IndexFences::Outcome IndexFences::Find(std::string_view user_key, BlockHandle* handle) const {
  if (fences_.empty()) return Outcome::kPastEnd;
  const size_t n = std::min(user_key.size(), prefix_.size());
  const int c = n == 0 ? 0 : std::memcmp(user_key.data(), prefix_.data(), n);
  if (c > 0) return Outcome::kPastEnd;  // above every index key
  if (c < 0 || user_key.size() < prefix_.size()) {
    *handle = handles_.front();  // below every index key: the first block
    return Outcome::kBlock;
  }
  const uint64_t t = FenceOf(user_key.substr(prefix_.size()));
  auto it = std::lower_bound(fences_.begin(), fences_.end(), t);
  if (it == fences_.end()) return Outcome::kPastEnd;
  if (*it == t) return Outcome::kAmbiguous;
  *handle = handles_[static_cast<size_t>(it - fences_.begin())];
  return Outcome::kBlock;
}

size_t IndexFences::memory_bytes() const {
  return prefix_.capacity() + fences_.capacity() * sizeof(uint64_t) + handles_.capacity() * sizeof(BlockHandle);
}

}  // namespace ebb
