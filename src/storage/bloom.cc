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

namespace {

// The cache-local layout (docs/format.md, "Filter block"): 512-bit lines,
// the high half of the hash picks the line, the low half, remixed per
// probe, the bits within it; the last byte is kLocalMarker | k.
constexpr size_t kLineBytes = 64;
constexpr unsigned kLocalMarker = 0x40;

size_t LineOf(uint64_t h, size_t lines) { return static_cast<size_t>(((h >> 32) * static_cast<uint64_t>(lines)) >> 32); }

// Probe j's bit within a line, j = 0, 1, ...: the top 9 bits of the low
// half, multiplied by an odd constant between probes.
uint32_t NextProbe(uint32_t* h) {
  const uint32_t bit = *h >> 23;
  *h *= 0x9e3779b9u;
  return bit;
}

bool LocalMayContain(std::string_view filter, int k, uint64_t h) {
  const size_t lines = (filter.size() - 1) / kLineBytes;
  const unsigned char* line = reinterpret_cast<const unsigned char*>(filter.data()) + LineOf(h, lines) * kLineBytes;
  uint32_t h1 = static_cast<uint32_t>(h);
  for (int i = 0; i < k; i++) {
    const uint32_t bit = NextProbe(&h1);
    if ((line[bit / 8] & (1u << (bit % 8))) == 0) return false;
  }
  return true;
}

// The first layout: one bit array, k probes spread over all of it by
// double hashing (a cache miss each). Read for segments written before the
// cache-local one.
bool SpreadMayContain(std::string_view filter, int k, uint64_t h) {
  const size_t bits = (filter.size() - 1) * 8;
  uint32_t h1 = static_cast<uint32_t>(h);
  const uint32_t delta = static_cast<uint32_t>(h >> 32) | 1;
  for (int i = 0; i < k; i++) {
    const size_t bit = h1 % bits;
    if ((static_cast<unsigned char>(filter[bit / 8]) & (1 << (bit % 8))) == 0) return false;
    h1 += delta;
  }
  return true;
}

}  // namespace

std::string BloomBuilder::Finish() const {
  const int k = std::clamp(static_cast<int>(bits_per_key_ * 0.69), 1, 30);
  const size_t bits = std::max<size_t>(kLineBytes * 8, hashes_.size() * static_cast<size_t>(bits_per_key_));
  const size_t lines = (bits + kLineBytes * 8 - 1) / (kLineBytes * 8);
  std::string filter(lines * kLineBytes, '\0');
  for (uint64_t h : hashes_) {
    char* line = filter.data() + LineOf(h, lines) * kLineBytes;
    uint32_t h1 = static_cast<uint32_t>(h);
    for (int i = 0; i < k; i++) {
      const uint32_t bit = NextProbe(&h1);
      line[bit / 8] = static_cast<char>(line[bit / 8] | (1 << (bit % 8)));
    }
  }
  filter.push_back(static_cast<char>(kLocalMarker | static_cast<unsigned>(k)));
  return filter;
}

bool BloomMayContainHash(std::string_view filter, uint64_t h) {
  if (filter.size() < 2) return true;
  const unsigned last = static_cast<unsigned char>(filter.back());
  if (last >= 1 && last <= 30) return SpreadMayContain(filter, static_cast<int>(last), h);
  const unsigned k = last & ~kLocalMarker;
  if ((last & kLocalMarker) != 0 && k >= 1 && k <= 30 && (filter.size() - 1) % kLineBytes == 0) {
    return LocalMayContain(filter, static_cast<int>(k), h);
  }
  return true;  // not a layout this version knows: every key may be present
}

void BloomPrefetch(std::string_view filter, uint64_t h) {
  if (filter.size() < 2 || (static_cast<unsigned char>(filter.back()) & kLocalMarker) == 0 ||
      (filter.size() - 1) % kLineBytes != 0) {
    return;
  }
  const size_t lines = (filter.size() - 1) / kLineBytes;
  __builtin_prefetch(filter.data() + LineOf(h, lines) * kLineBytes);
}

bool BloomMayContain(std::string_view filter, std::string_view user_key) {
  return BloomMayContainHash(filter, BloomHash(user_key));
}

ConcurrentBloom::ConcurrentBloom(size_t bytes)
    : lines_(std::max<size_t>(1, bytes / (kLineWords * sizeof(uint64_t)))),
      words_(new std::atomic<uint64_t>[lines_ * kLineWords]) {
  for (size_t i = 0; i < lines_ * kLineWords; i++) words_[i].store(0, std::memory_order_relaxed);
}

size_t ConcurrentBloom::Line(uint64_t hash) const { return LineOf(hash, lines_); }

// The same bits as a cache-local filter's line (bit b is bit b % 64 of word
// b / 64 on a little-endian host, byte b / 8's bit b % 8).
void ConcurrentBloom::Add(uint64_t hash) {
  std::atomic<uint64_t>* line = &words_[Line(hash) * kLineWords];
  uint32_t h = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; i++) {
    const uint32_t bit = NextProbe(&h);
    const uint64_t mask = uint64_t{1} << (bit & 63);
    std::atomic<uint64_t>& word = line[bit >> 6];
    if ((word.load(std::memory_order_relaxed) & mask) == 0) word.fetch_or(mask, std::memory_order_relaxed);
  }
}

void ConcurrentBloom::Prefetch(uint64_t hash) const { __builtin_prefetch(&words_[Line(hash) * kLineWords]); }

bool ConcurrentBloom::MayContain(uint64_t hash) const {
  const std::atomic<uint64_t>* line = &words_[Line(hash) * kLineWords];
  uint32_t h = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; i++) {
    const uint32_t bit = NextProbe(&h);
    if ((line[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) return false;
  }
  return true;
}

}  // namespace ebb
