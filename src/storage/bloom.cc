#include "storage/bloom.h"

#include <algorithm>

#include "base/checksum.h"

namespace ebb {

uint64_t BloomHash(std::string_view user_key) { return Hash64(user_key, 0xb100f11e); }

void BloomBuilder::AddKey(std::string_view user_key) {
  uint64_t h = BloomHash(user_key);
  // Consecutive duplicates (versions of one key) add nothing.
  if (!hashes_.empty() && hashes_.back() == h) return;
  hashes_.push_back(h);
}

std::string BloomBuilder::Finish() const {
  int k = std::clamp(static_cast<int>(bits_per_key_ * 0.69), 1, 30);
  size_t bits = std::max<size_t>(64, hashes_.size() * static_cast<size_t>(bits_per_key_));
  size_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  std::string filter(bytes, '\0');
  for (uint64_t h : hashes_) {
    uint32_t h1 = static_cast<uint32_t>(h);
    uint32_t delta = static_cast<uint32_t>(h >> 32) | 1;
    for (int i = 0; i < k; i++) {
      size_t bit = h1 % bits;
      filter[bit / 8] = static_cast<char>(filter[bit / 8] | (1 << (bit % 8)));
      h1 += delta;
    }
  }
  filter.push_back(static_cast<char>(k));
  return filter;
}

bool BloomMayContainHash(std::string_view filter, uint64_t h) {
  if (filter.size() < 2) return true;
  int k = static_cast<unsigned char>(filter.back());
  if (k < 1 || k > 30) return true;
  size_t bits = (filter.size() - 1) * 8;
  uint32_t h1 = static_cast<uint32_t>(h);
  uint32_t delta = static_cast<uint32_t>(h >> 32) | 1;
  for (int i = 0; i < k; i++) {
    size_t bit = h1 % bits;
    if ((static_cast<unsigned char>(filter[bit / 8]) & (1 << (bit % 8))) == 0) return false;
    h1 += delta;
  }
  return true;
}

bool BloomMayContain(std::string_view filter, std::string_view user_key) {
  return BloomMayContainHash(filter, BloomHash(user_key));
}

}  // namespace ebb
