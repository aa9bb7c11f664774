#include "tiering/evicter.h"

#include <algorithm>

namespace ebb {

EvictionResult Evicter::Evict(std::vector<EvictionCandidate> candidates, uint64_t bytes_to_free) {
  std::stable_sort(candidates.begin(), candidates.end(), [](const EvictionCandidate& a, const EvictionCandidate& b) {
    return a.last_access_micros < b.last_access_micros;
  });
  EvictionResult result;
  for (const auto& c : candidates) {
    if (result.evicted_bytes >= bytes_to_free) break;
    // The one rule that protects the data: no verified remote copy, no eviction.
    if (!index_->Contains(c.segment_id)) {
      result.refused_unverified.push_back(c.segment_id);
      continue;
    }
    Status s = target_->EvictLocalCopy(c.segment_id);
    if (!s.ok()) {
      if (result.first_error.ok()) result.first_error = s;
      continue;
    }
    result.evicted.push_back(c.segment_id);
    result.evicted_bytes += c.size_bytes;
  }
  return result;
}

}  // namespace ebb
