#include "compaction/channel_queue.h"

#include "base/logging.h"

namespace ebb {

ChannelQueue::InsertResult ChannelQueue::Insert(Item item, size_t capacity, std::vector<std::string>* evicted) {
  EBB_CHECK(capacity >= 1);
  InsertResult result = InsertResult::kInserted;
  auto it = by_name_.find(item.database);
  if (it != by_name_.end()) {
    if (it->second.item.priority == item.priority) {
      // Same priority: keep its place; only refresh the size estimate.
      reclaimable_bytes_ -= it->second.item.reclaimable_bytes();
      gauge_bytes_ -= it->second.item.gauge_bytes();
      it->second.item.disk_bytes = item.disk_bytes;
      it->second.item.live_bytes = item.live_bytes;
      reclaimable_bytes_ += it->second.item.reclaimable_bytes();
      gauge_bytes_ += it->second.item.gauge_bytes();
      return InsertResult::kUnchanged;
    }
    Erase(it);
    result = InsertResult::kUpdated;
  }
  std::string name = item.database;
  uint64_t seq = next_seq_++;
  order_.emplace(item.priority, seq, name);
  reclaimable_bytes_ += item.reclaimable_bytes();
  gauge_bytes_ += item.gauge_bytes();
  by_name_.emplace(name, Entry{std::move(item), seq});

  std::vector<std::string> dropped;
  Truncate(capacity, &dropped);
  for (auto& d : dropped) {
    if (d == name) {
      result = InsertResult::kEvicted;
    } else if (evicted != nullptr) {
      evicted->push_back(std::move(d));
    }
  }
  return result;
}

void ChannelQueue::Truncate(size_t capacity, std::vector<std::string>* evicted) {
  while (by_name_.size() > capacity) {
    // Lowest priority, and among equals the oldest insertion, goes first.
    std::string victim = std::get<2>(*order_.begin());
    auto it = by_name_.find(victim);
    EBB_CHECK(it != by_name_.end());
    Erase(it);
    if (evicted != nullptr) evicted->push_back(std::move(victim));
  }
}

const ChannelQueue::Item* ChannelQueue::Top() const {
  if (order_.empty()) return nullptr;
  return Find(std::get<2>(*order_.rbegin()));
}

std::optional<ChannelQueue::Item> ChannelQueue::PopTop() {
  if (order_.empty()) return std::nullopt;
  auto it = by_name_.find(std::get<2>(*order_.rbegin()));
  EBB_CHECK(it != by_name_.end());
  Item item = it->second.item;
  Erase(it);
  return item;
}

bool ChannelQueue::Remove(std::string_view database) {
  auto it = by_name_.find(database);
  if (it == by_name_.end()) return false;
  Erase(it);
  return true;
}

bool ChannelQueue::Contains(std::string_view database) const { return by_name_.find(database) != by_name_.end(); }

const ChannelQueue::Item* ChannelQueue::Find(std::string_view database) const {
  auto it = by_name_.find(database);
  return it == by_name_.end() ? nullptr : &it->second.item;
}

std::optional<double> ChannelQueue::min_priority() const {
  if (order_.empty()) return std::nullopt;
  return std::get<0>(*order_.begin());
}

std::optional<double> ChannelQueue::max_priority() const {
  if (order_.empty()) return std::nullopt;
  return std::get<0>(*order_.rbegin());
}

std::vector<ChannelQueue::Item> ChannelQueue::ItemsInPopOrder() const {
  std::vector<Item> out;
  out.reserve(order_.size());
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) out.push_back(*Find(std::get<2>(*it)));
  return out;
}

void ChannelQueue::Erase(std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>::iterator it) {
  size_t erased = order_.erase(OrderKey(it->second.item.priority, it->second.seq, it->first));
  EBB_CHECK(erased == 1);
  reclaimable_bytes_ -= it->second.item.reclaimable_bytes();
  gauge_bytes_ -= it->second.item.gauge_bytes();
  by_name_.erase(it);
}

}  // namespace ebb
