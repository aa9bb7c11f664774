#include "server/watch_registry.h"

namespace ebb {

uint64_t WatchRegistry::Watch(std::string_view database, std::string_view key) {
  MutexLock lock(&mu_);
  auto db = databases_.find(database);
  if (db == databases_.end()) db = databases_.emplace(std::string(database), Keys()).first;
  auto it = db->second.find(key);
  if (it == db->second.end()) {
    it = db->second.emplace(std::string(key), Entry{last_version_, 0}).first;
    watched_keys_.fetch_add(1, std::memory_order_relaxed);
  }
  it->second.watchers++;
  return it->second.version;
}

void WatchRegistry::Unwatch(std::string_view database, std::string_view key) {
  MutexLock lock(&mu_);
  auto db = databases_.find(database);
  if (db == databases_.end()) return;
  auto it = db->second.find(key);
  if (it == db->second.end()) return;
  if (--it->second.watchers > 0) return;
  db->second.erase(it);
  watched_keys_.fetch_sub(1, std::memory_order_relaxed);
  if (db->second.empty()) databases_.erase(db);
}

uint64_t WatchRegistry::Version(std::string_view database, std::string_view key) const {
  MutexLock lock(&mu_);
  auto db = databases_.find(database);
  if (db == databases_.end()) return 0;
  auto it = db->second.find(key);
  return it == db->second.end() ? 0 : it->second.version;
}

void WatchRegistry::Touch(std::string_view database, const std::vector<std::string_view>& keys) {
  if (Empty()) return;
  MutexLock lock(&mu_);
  auto db = databases_.find(database);
  if (db == databases_.end()) return;
  for (std::string_view key : keys) {
    auto it = db->second.find(key);
    if (it != db->second.end()) it->second.version = ++last_version_;
  }
}

void WatchRegistry::TouchDatabase(std::string_view database) {
  MutexLock lock(&mu_);
  auto db = databases_.find(database);
  if (db == databases_.end()) return;
  for (auto& [key, entry] : db->second) entry.version = ++last_version_;
}

WatchSet& WatchSet::operator=(WatchSet&& other) noexcept {
  if (this == &other) return *this;
  Clear();
  registry_ = other.registry_;
  keys_ = std::move(other.keys_);
  bytes_ = other.bytes_;
  other.keys_.clear();
  other.bytes_ = 0;
  return *this;
}

void WatchSet::Watch(WatchRegistry* registry, std::string_view database, std::string_view key, int64_t now_ms) {
  if (Contains(database, key)) return;  // watched since earlier: that version holds
  registry_ = registry;
  const uint64_t version = registry->Watch(database, key);
  keys_.emplace(std::make_pair(std::string(database), std::string(key)), Watched{version, now_ms});
  bytes_ += database.size() + key.size();
}

bool WatchSet::Contains(std::string_view database, std::string_view key) const {
  return keys_.count(std::make_pair(std::string(database), std::string(key))) != 0;
}

void WatchSet::Merge(WatchSet&& other) {
  if (other.keys_.empty()) return;
  registry_ = other.registry_;
  for (auto& [name, w] : other.keys_) {
    if (keys_.emplace(name, w).second) {
      bytes_ += name.first.size() + name.second.size();
    } else {
      registry_->Unwatch(name.first, name.second);  // watched twice: keep ours
    }
  }
  other.keys_.clear();
  other.bytes_ = 0;
}

bool WatchSet::Changed() const {
  for (const auto& [name, w] : keys_) {
    if (registry_->Version(name.first, name.second) != w.version) return true;
  }
  return false;
}

void WatchSet::Clear() {
  for (const auto& [name, w] : keys_) registry_->Unwatch(name.first, name.second);
  keys_.clear();
  bytes_ = 0;
}

}  // namespace ebb
