#include "base/sync_point.h"

#include <map>
#include <memory>

#include "base/mutex.h"

namespace ebb::sync_point {

namespace internal {
std::atomic<bool> g_enabled{false};
}  // namespace internal

namespace {

Mutex g_mu;
std::map<std::string, std::shared_ptr<std::function<void()>>, std::less<>>* Callbacks() REQUIRES(g_mu) {
  static auto* callbacks = new std::map<std::string, std::shared_ptr<std::function<void()>>, std::less<>>();
  return callbacks;
}

}  // namespace

void internal::Process(const char* name) {
  std::shared_ptr<std::function<void()>> callback;
  {
    MutexLock lock(&g_mu);
    auto it = Callbacks()->find(std::string_view(name));
    if (it == Callbacks()->end()) return;
    callback = it->second;
  }
  (*callback)();  // outside the registry lock: it may set or clear points
}

void Set(const std::string& name, std::function<void()> callback) {
  MutexLock lock(&g_mu);
  (*Callbacks())[name] = std::make_shared<std::function<void()>>(std::move(callback));
  internal::g_enabled.store(true, std::memory_order_relaxed);
}

void ClearAll() {
  MutexLock lock(&g_mu);
  Callbacks()->clear();
  internal::g_enabled.store(false, std::memory_order_relaxed);
}

}  // namespace ebb::sync_point
