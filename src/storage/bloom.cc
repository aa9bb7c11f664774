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

ConcurrentBloom::ConcurrentBloom(size_t bytes)
    : lines_(std::max<size_t>(1, bytes / (kLineWords * sizeof(uint64_t)))),
      words_(new std::atomic<uint64_t>[lines_ * kLineWords]) {
  for (size_t i = 0; i < lines_ * kLineWords; i++) words_[i].store(0, std::memory_order_relaxed);
}

size_t ConcurrentBloom::Line(uint64_t hash) const {
  // The high half picks the line (multiply-shift, no division); the low
  // half, remixed per probe, the bits within it.
  return static_cast<size_t>(((hash >> 32) * static_cast<uint64_t>(lines_)) >> 32);
}

void ConcurrentBloom::Add(uint64_t hash) {
  std::atomic<uint64_t>* line = &words_[Line(hash) * kLineWords];
  uint32_t h = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; i++) {
    const uint32_t bit = h >> 23;  // 0..511
    const uint64_t mask = uint64_t{1} << (bit & 63);
    std::atomic<uint64_t>& word = line[bit >> 6];
    if ((word.load(std::memory_order_relaxed) & mask) == 0) word.fetch_or(mask, std::memory_order_relaxed);
    h *= 0x9e3779b9u;
  }
}

bool ConcurrentBloom::MayContain(uint64_t hash) const {
  const std::atomic<uint64_t>* line = &words_[Line(hash) * kLineWords];
  uint32_t h = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; i++) {
    const uint32_t bit = h >> 23;
    if ((line[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) return false;
    h *= 0x9e3779b9u;
  }
  return true;
}

}  // namespace ebb
