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

std::vector<std::pair<size_t, bool>> KeyLocks::Stripes(const std::vector<std::pair<std::string_view, bool>>& keys) {
  std::vector<std::pair<size_t, bool>> held;
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
  return unique;
}

KeyLocks::Guard KeyLocks::Plan(const std::vector<std::pair<std::string_view, bool>>& keys) {
  Guard guard;
  guard.locks_ = this;
  guard.held_ = Stripes(keys);
  if (guard.held_.size() > kMaxStripesPerJob) {
    guard.held_.clear();
    guard.global_exclusive_ = true;
  }
  return guard;
}

KeyLocks::Guard KeyLocks::Lock(const std::vector<std::pair<std::string_view, bool>>& keys) {
  Guard guard = Plan(keys);
  if (guard.global_exclusive_) {
    LockGlobalExclusive();
    return guard;
  }
  {
    std::lock_guard<std::mutex> pass(turnstile_);  // behind any exclusive waiter
  }
  global_.lock_shared();
  for (const auto& [stripe, exclusive] : guard.held_) {
    if (exclusive) {
      stripes_[stripe].lock();
    } else {
      stripes_[stripe].lock_shared();
    }
  }
  return guard;
}

KeyLocks::Guard KeyLocks::LockAll() {
  Guard guard;
  guard.locks_ = this;
  guard.global_exclusive_ = true;
  LockGlobalExclusive();
  return guard;
}

void KeyLocks::LockGlobalExclusive() {
  std::lock_guard<std::mutex> wait(turnstile_);
  global_.lock();
}

std::optional<KeyLocks::Guard> KeyLocks::TryLock(const std::vector<std::pair<std::string_view, bool>>& keys) {
  Guard guard = Plan(keys);
  // An exclusive waiter holds the turnstile: do not overtake it.
  if (!turnstile_.try_lock()) {
    guard.locks_ = nullptr;  // holds nothing
    return std::nullopt;
  }
  turnstile_.unlock();
  const bool taken = guard.global_exclusive_ ? global_.try_lock() : global_.try_lock_shared();
  if (!taken) {
    guard.locks_ = nullptr;  // holds nothing
    return std::nullopt;
  }
  if (guard.global_exclusive_) return guard;
  // The guard releases exactly the stripes taken so far.
  std::vector<std::pair<size_t, bool>> wanted = std::move(guard.held_);
  guard.held_.clear();
  for (const auto& [stripe, exclusive] : wanted) {
    if (!(exclusive ? stripes_[stripe].try_lock() : stripes_[stripe].try_lock_shared())) return std::nullopt;
    guard.held_.emplace_back(stripe, exclusive);
  }
  return guard;
}

}  // namespace ebb
