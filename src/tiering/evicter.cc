#include "tiering/evicter.h"

#include <algorithm>

namespace ebb {

EvictionResult Evicter::Evict(std::vector<EvictionCandidate> candidates, uint64_t bytes_to_free,
                              const Announce& announce) {
  std::stable_sort(candidates.begin(), candidates.end(), [](const EvictionCandidate& a, const EvictionCandidate& b) {
    return a.last_access_micros < b.last_access_micros;
  });
  EvictionResult result;
  std::vector<const EvictionCandidate*> chosen;
  std::vector<IndexEntry> batch;
  uint64_t planned = 0;
  for (const auto& c : candidates) {
    if (planned >= bytes_to_free) break;
    // The one rule that protects the data: no verified remote copy, no eviction.
    auto entry = index_->Find(c.key);
    if (!entry) {
      result.refused_unverified.push_back(c.key);
      continue;
    }
    chosen.push_back(&c);
    batch.push_back(std::move(*entry));
    planned += c.size_bytes;
  }
  if (chosen.empty()) return result;
  if (announce) {
    Status s = announce(batch);
    if (!s.ok()) {
      result.first_error = s;
      return result;
    }
  }
  for (const EvictionCandidate* c : chosen) {
    Status s = target_->EvictLocalCopy(c->key);
    if (!s.ok()) {
      if (result.first_error.ok()) result.first_error = s;
      continue;
    }
    result.evicted.push_back(c->key);
    result.evicted_bytes += c->size_bytes;
  }
  return result;
}

}  // namespace ebb
