#include "storage/segment_cache.h"

#include <algorithm>

namespace ebb {

SegmentCache::SegmentCache(FileSystem* fs, size_t capacity)
    : fs_(fs), per_shard_capacity_(std::max<size_t>(1, capacity / kShards)) {}

Result<std::shared_ptr<Segment>> SegmentCache::Get(uint64_t number, const std::string& path) {
  return GetOrOpen(number, [&] { return Segment::Open(fs_, path, number); });
}

Result<std::shared_ptr<Segment>> SegmentCache::GetOrOpen(
    uint64_t number, const std::function<Result<std::shared_ptr<Segment>>()>& open, bool remote) {
  Shard& shard = ShardFor(number);
  {
    MutexLock lock(&shard.mu);
    auto it = shard.index.find(number);
    if (it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return it->second->segment;
    }
  }
  // Open outside the lock: it reads the footer, index and filter.
  auto opened = open();
  if (!opened.ok()) return opened.status();
  std::shared_ptr<Segment> evicted;  // closed after the lock is released
  MutexLock lock(&shard.mu);
  auto it = shard.index.find(number);
  if (it != shard.index.end()) return it->second->segment;  // another thread won
  shard.lru.push_front({number, *opened, remote});
  shard.index[number] = shard.lru.begin();
  if (shard.lru.size() > per_shard_capacity_) {
    evicted = std::move(shard.lru.back().segment);
    shard.index.erase(shard.lru.back().number);
    shard.lru.pop_back();
  }
  return *opened;
}

void SegmentCache::Evict(uint64_t number) {
  std::shared_ptr<Segment> evicted;
  Shard& shard = ShardFor(number);
  MutexLock lock(&shard.mu);
  auto it = shard.index.find(number);
  if (it == shard.index.end()) return;
  evicted = std::move(it->second->segment);
  shard.lru.erase(it->second);
  shard.index.erase(it);
}

void SegmentCache::EvictRemote() {
  for (auto& shard : shards_) {
    std::vector<std::shared_ptr<Segment>> closing;  // closed after the lock
    MutexLock lock(&shard.mu);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (it->remote) {
        closing.push_back(std::move(it->segment));
        shard.index.erase(it->number);
        it = shard.lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

size_t SegmentCache::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    MutexLock lock(&shard.mu);
    n += shard.lru.size();
  }
  return n;
}

}  // namespace ebb
