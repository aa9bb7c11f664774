#include "server/scan_cursors.h"

namespace ebb {

uint64_t ScanCursors::Issue(std::string_view database, std::string_view next_key) {
  MutexLock lock(&mu_);
  uint64_t cursor = 0;
  do {
    cursor = random_.Next() >> 1;  // 63 bits: fits a signed 64-bit integer
  } while (cursor == 0 || entries_.count(cursor) != 0);
  order_.push_back(cursor);
  entries_.emplace(cursor, Entry{std::string(database), std::string(next_key), std::prev(order_.end())});
  bytes_ += database.size() + next_key.size();
  EvictLocked();
  return cursor;
}

std::optional<std::string> ScanCursors::Find(uint64_t cursor, std::string_view database) const {
  MutexLock lock(&mu_);
  auto it = entries_.find(cursor);
  if (it == entries_.end() || it->second.database != database) return std::nullopt;
  return it->second.next_key;
}

void ScanCursors::Consume(uint64_t cursor) {
  MutexLock lock(&mu_);
  auto it = entries_.find(cursor);
  if (it == entries_.end()) return;
  bytes_ -= it->second.database.size() + it->second.next_key.size();
  order_.erase(it->second.order);
  entries_.erase(it);
}

size_t ScanCursors::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

void ScanCursors::EvictLocked() {
  while (!order_.empty() && (entries_.size() > kMaxCursors || bytes_ > kMaxBytes)) {
    auto it = entries_.find(order_.front());
    bytes_ -= it->second.database.size() + it->second.next_key.size();
    entries_.erase(it);
    order_.pop_front();
  }
}

}  // namespace ebb
