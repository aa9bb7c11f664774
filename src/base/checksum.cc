#include "base/checksum.h"

#define XXH_STATIC_LINKING_ONLY  // for XXH3_state_t
#include <xxhash.h>

namespace ebb {

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

uint32_t Checksum32(std::string_view data) {
  return static_cast<uint32_t>(XXH3_64bits(data.data(), data.size()));
}

uint32_t Checksum32(std::string_view a, std::string_view b) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

Hash64Stream::Hash64Stream() : state_(XXH3_createState()) { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }

Hash64Stream::~Hash64Stream() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void Hash64Stream::Update(std::string_view data) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

uint64_t Hash64Stream::Digest() const { return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_)); }

}  // namespace ebb
