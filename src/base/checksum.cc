#include "base/checksum.h"

#define XXH_STATIC_LINKING_ONLY  // for XXH3_state_t
#include <xxhash.h>

#if defined(__x86_64__) || defined(_M_X64)
// libxxhash's runtime dispatch picks the widest vector unit the CPU has
// (SSE2, AVX2, AVX-512); the plain entry points use what the library was
// compiled for, SSE2 on Debian's amd64. Same values either way: XXH3 is
// defined independently of the vector width. A segment block read verifies
// 4 KiB, so this is most of a point read's checksum cost (about 3x fewer
// instructions with AVX2).
#include <xxh_x86dispatch.h>
#define EBB_XXH3_64 XXH3_64bits_dispatch
#define EBB_XXH3_64_SEED XXH3_64bits_withSeed_dispatch
#define EBB_XXH3_64_UPDATE XXH3_64bits_update_dispatch
#else
#define EBB_XXH3_64 XXH3_64bits
#define EBB_XXH3_64_SEED XXH3_64bits_withSeed
#define EBB_XXH3_64_UPDATE XXH3_64bits_update
#endif

namespace ebb {

uint64_t Hash64(std::string_view data, uint64_t seed) { return EBB_XXH3_64_SEED(data.data(), data.size(), seed); }

uint32_t Checksum32(std::string_view data) { return static_cast<uint32_t>(EBB_XXH3_64(data.data(), data.size())); }

uint32_t Checksum32(std::string_view a, std::string_view b) {
  // Adjacent pieces (a block and its trailer byte) hash in one call.
  if (!a.empty() && !b.empty() && a.data() + a.size() == b.data()) {
    return Checksum32(std::string_view(a.data(), a.size() + b.size()));
  }
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  EBB_XXH3_64_UPDATE(&state, a.data(), a.size());
  EBB_XXH3_64_UPDATE(&state, b.data(), b.size());
  return static_cast<uint32_t>(XXH3_64bits_digest(&state));
}

Hash64Stream::Hash64Stream() : state_(XXH3_createState()) { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }

Hash64Stream::~Hash64Stream() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void Hash64Stream::Update(std::string_view data) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data.data(), data.size());
}

uint64_t Hash64Stream::Digest() const { return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_)); }

}  // namespace ebb
