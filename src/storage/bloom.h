// Bloom filter over a segment's user keys (docs/format.md, "Filter block"):
// 512-bit lines followed by one byte, a marker and the number of probes;
// each key's probes lie in one line (picked by the high half of its XXH3
// hash), so a probe costs one cache miss, not one per bit. About 1.2% false
// positives at 10 bits per key. Filters of the first layout (one bit array,
// double hashing, a probe anywhere in it) are still read.

#ifndef EBB_STORAGE_BLOOM_H_
#define EBB_STORAGE_BLOOM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

class BloomBuilder {
 public:
  explicit BloomBuilder(int bits_per_key) : bits_per_key_(bits_per_key) {}
  void AddKey(std::string_view user_key);
  size_t num_keys() const { return hashes_.size(); }
  // Encodes the filter for every key added.
  std::string Finish() const;

 private:
  int bits_per_key_;
  std::vector<uint64_t> hashes_;
};

// False means the key is certainly absent. A malformed filter matches all.
bool BloomMayContain(std::string_view filter, std::string_view user_key);
uint64_t BloomHash(std::string_view user_key);
bool BloomMayContainHash(std::string_view filter, uint64_t hash);
// Starts loading the cache line BloomMayContainHash(filter, hash) will read
// (cache-local filters; nothing for the first layout). A batch of lookups
// prefetches every key's line before probing any, so their misses overlap.
void BloomPrefetch(std::string_view filter, uint64_t hash);

// A Bloom filter that keys are added to while it is being read: the active
// memtable's. Each key's bits lie in one 64-byte line, so a probe costs one
// cache miss. Adds are relaxed atomic ORs: a reader sees every key whose Add
// happened before its probe (for a memtable, before the write that added it
// became visible). Never serialized; its size is fixed when made, so more
// keys than planned raise the false-positive rate, never lose a key.
class ConcurrentBloom {
 public:
  explicit ConcurrentBloom(size_t bytes);
  ConcurrentBloom(const ConcurrentBloom&) = delete;
  ConcurrentBloom& operator=(const ConcurrentBloom&) = delete;

  void Add(uint64_t hash);  // BloomHash of the user key
  bool MayContain(uint64_t hash) const;
  // Starts loading the line MayContain(hash) reads.
  void Prefetch(uint64_t hash) const;
  size_t bytes() const { return lines_ * kLineWords * sizeof(uint64_t); }

 private:
  static constexpr size_t kLineWords = 8;  // 512 bits
  static constexpr int kProbes = 6;
  size_t Line(uint64_t hash) const;
  size_t lines_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace ebb

#endif  // EBB_STORAGE_BLOOM_H_
