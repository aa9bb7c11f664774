// Evicter (mechanism): removes local copies of segments whose
// remote copy is verified, coldest first, until enough bytes are freed. The
// agent decides when and how much; the evicter decides which.
//
// It never deletes a file itself: it asks the engine through
// EvictionTarget::EvictLocalCopy, so the engine can switch the segment's
// reads to the member cache first. It refuses (and reports) every candidate
// that is not in the tier index, i.e. not uploaded and verified. Before any
// local copy goes, the batch it chose is announced (the agent writes the
// `evicting` event to the snapshot logs of their archives).
//
// Thread safety: Evict may run on any thread; the index is thread-safe.

#ifndef EBB_TIERING_EVICTER_H_
#define EBB_TIERING_EVICTER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "ebb/status.h"
#include "tiering/tier_index.h"

namespace ebb {

// Implemented by the engine.
class EvictionTarget {
 public:
  virtual ~EvictionTarget() = default;
  // Removes the local file of segment `key`, whose archived copy the tier
  // index holds; later reads of the segment go through the MemberCache. An
  // error leaves the segment local (it may be tried again later).
  virtual Status EvictLocalCopy(const SegmentKey& key) = 0;
};

struct EvictionCandidate {
  SegmentKey key;
  uint64_t size_bytes = 0;
  int64_t last_access_micros = 0;  // any monotonic scale; smaller = colder
};

struct EvictionResult {
  std::vector<SegmentKey> evicted;
  uint64_t evicted_bytes = 0;
  std::vector<SegmentKey> refused_unverified;  // not in the tier index
  Status first_error;                          // of EvictLocalCopy, if any failed
};

class Evicter {
 public:
  // Told the chosen batch (index entries) before any of it is evicted; an
  // error stops the eviction (nothing is removed).
  using Announce = std::function<Status(const std::vector<IndexEntry>& batch)>;

  Evicter(const TierIndex* index, EvictionTarget* target) : index_(index), target_(target) {}
  // Evicts candidates coldest first until `bytes_to_free` are freed or none
  // is left.
  EvictionResult Evict(std::vector<EvictionCandidate> candidates, uint64_t bytes_to_free,
                       const Announce& announce = nullptr);

 private:
  const TierIndex* const index_;
  EvictionTarget* const target_;
};

}  // namespace ebb

#endif  // EBB_TIERING_EVICTER_H_
