#include "server/key_locks.h"

#include <algorithm>
#include <functional>

namespace ebb {

KeyLocks::Guard::~Guard() {
  if (locks_ == nullptr) return;
  if (global_exclusive_) {
    locks_->global_.unlock();
    return;
  }
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    if (it->second) {
      locks_->stripes_[it->first].unlock();
    } else {
      locks_->stripes_[it->first].unlock_shared();
    }
  }
  locks_->global_.unlock_shared();
}

KeyLocks::Guard KeyLocks::Lock(const std::vector<std::pair<std::string_view, bool>>& keys) {
  Guard guard;
  guard.locks_ = this;
  auto& held = guard.held_;
  held.reserve(keys.size());
  for (const auto& [key, exclusive] : keys) held.emplace_back(std::hash<std::string_view>()(key) % kStripes, exclusive);
  // Exclusive sorts after shared for the same stripe; keep the last of each.
  std::sort(held.begin(), held.end());
  std::vector<std::pair<size_t, bool>> unique;
  unique.reserve(held.size());
  for (const auto& h : held) {
    if (!unique.empty() && unique.back().first == h.first) {
      unique.back().second = unique.back().second || h.second;
    } else {
      unique.push_back(h);
    }
  }
  held = std::move(unique);
  if (held.size() > kMaxStripesPerJob) {
    held.clear();
    guard.global_exclusive_ = true;
    global_.lock();
    return guard;
  }
  global_.lock_shared();
  for (const auto& [stripe, exclusive] : held) {
    if (exclusive) {
      stripes_[stripe].lock();
    } else {
      stripes_[stripe].lock_shared();
    }
  }
  return guard;
}

}  // namespace ebb
