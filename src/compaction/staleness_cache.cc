#include "compaction/staleness_cache.h"

namespace ebb {

bool StalenessCache::IsFresh(std::string_view database, int64_t now_micros, int64_t staleness_micros) const {
  auto it = index_.find(database);
  if (it == index_.end()) return false;
  return now_micros - it->second->second < staleness_micros;
}

int64_t StalenessCache::FreshUntil(std::string_view database, int64_t staleness_micros) const {
  auto it = index_.find(database);
  return it == index_.end() ? 0 : it->second->second + staleness_micros;
}

void StalenessCache::Record(std::string_view database, int64_t now_micros) {
  auto it = index_.find(database);
  if (it != index_.end()) {
    it->second->second = now_micros;
    by_age_.splice(by_age_.end(), by_age_, it->second);
    return;
  }
  by_age_.emplace_back(std::string(database), now_micros);
  index_.emplace(by_age_.back().first, std::prev(by_age_.end()));
  EvictToLimit();
}

void StalenessCache::Erase(std::string_view database) {
  auto it = index_.find(database);
  if (it == index_.end()) return;
  by_age_.erase(it->second);
  index_.erase(it);
  Invalidate();
}

void StalenessCache::Expire(int64_t now_micros, int64_t staleness_micros) {
  while (!by_age_.empty() && now_micros - by_age_.front().second >= staleness_micros) {
    index_.erase(by_age_.front().first);
    by_age_.pop_front();
  }
}

void StalenessCache::SetMaxEntries(size_t max_entries) {
  max_entries_ = max_entries < 1 ? 1 : max_entries;
  EvictToLimit();
}

void StalenessCache::EvictToLimit() {
  while (index_.size() > max_entries_) {
    index_.erase(by_age_.front().first);
    by_age_.pop_front();
    Invalidate();
  }
}

}  // namespace ebb
