// Checksums and hashes: XXH3 (xxHash) for everything Ebb writes.
//
// Checksum32 is the low 32 bits of XXH3-64; it guards journal records,
// segment blocks and manifest records. Stored checksums are checked right
// after reading, before any byte is interpreted.

#ifndef EBB_BASE_CHECKSUM_H_
#define EBB_BASE_CHECKSUM_H_

#include <cstdint>
#include <string_view>

namespace ebb {

uint64_t Hash64(std::string_view data, uint64_t seed = 0);
uint32_t Checksum32(std::string_view data);
// Checksum of the concatenation a + b without copying.
uint32_t Checksum32(std::string_view a, std::string_view b);

// Hash64 (seed 0) of data given in pieces: equal to Hash64 of their
// concatenation.
class Hash64Stream {
 public:
  Hash64Stream();
  ~Hash64Stream();
  Hash64Stream(const Hash64Stream&) = delete;
  Hash64Stream& operator=(const Hash64Stream&) = delete;
  void Update(std::string_view data);
  uint64_t Digest() const;

 private:
  void* state_;  // XXH3_state_t
};

}  // namespace ebb

#endif  // EBB_BASE_CHECKSUM_H_
