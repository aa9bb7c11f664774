// Bloom filter over a segment's user keys (docs/format.md, "Filter block"):
// a bit array followed by one byte, the number of probes. Double hashing of
// XXH3; ~1% false positives at 10 bits per key.

#ifndef EBB_STORAGE_BLOOM_H_
#define EBB_STORAGE_BLOOM_H_

#include <cstdint>
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

}  // namespace ebb

#endif  // EBB_STORAGE_BLOOM_H_
