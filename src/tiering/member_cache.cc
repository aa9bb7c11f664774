#include "tiering/member_cache.h"

#include <fmt/format.h>

#include "base/status_macros.h"
#include "env/file_system.h"
#include "env/object_store.h"

namespace ebb {

MemberCache::Handle::~Handle() { cache_->Release(key_); }

MemberCache::MemberCache(FileSystem* fs, ObjectStore* store, const KeyRing* keys, const TierIndex* index,
                         MemberCacheOptions options)
    : fs_(fs), store_(store), index_(index), dir_(options.dir), keys_(keys), capacity_bytes_(options.capacity_bytes) {}

void MemberCache::SetKeys(const KeyRing* keys) { keys_.store(keys, std::memory_order_release); }

MemberCache::~MemberCache() = default;

Result<std::unique_ptr<MemberCache>> MemberCache::Open(FileSystem* fs, ObjectStore* store, const KeyRing* keys,
                                                       const TierIndex* index, MemberCacheOptions options) {
  EBB_RETURN_IF_ERROR(fs->CreateDir(options.dir));
  EBB_ASSIGN_OR_RETURN(auto names, fs->GetChildren(options.dir));
  for (const auto& name : names) EBB_RETURN_IF_ERROR(fs->DeleteFile(JoinPath(options.dir, name)));
  return std::unique_ptr<MemberCache>(new MemberCache(fs, store, keys, index, std::move(options)));
}

std::string MemberCache::PathOf(const SegmentKey& key) const {
  return JoinPath(dir_, fmt::format("{:06d}-{:016x}.seg", key.number, key.checksum));
}

Result<std::string> MemberCache::Fetch(const IndexEntry& entry) {
  const KeyRing* keys = keys_.load(std::memory_order_acquire);
  if (keys == nullptr) {
    return Status::Unavailable(fmt::format("segment {} is in archive {} of {}, and no archive key is loaded yet",
                                           entry.key().ToString(), entry.archive, store_->Describe()));
  }
  EBB_ASSIGN_OR_RETURN(const ArchiveKey* key, keys->ForArchive(entry.key_id, entry.archive));
  RangeReader reader = ObjectRangeReader(store_, ArchiveObjectKey(entry.archive));
  Status first;
  for (int attempt = 0; attempt < 2; attempt++) {
    {
      MutexLock lock(&mu_);
      stats_.fetches++;
      stats_.fetched_bytes += entry.member.payload_length;
      if (attempt > 0) stats_.refetches++;
    }
    auto plain = ReadMember(reader, entry.archive, entry.member, *key);
    if (plain.ok() || !plain.status().IsCorruption()) return plain;
    if (attempt == 0) {
      first = plain.status();
      continue;
    }
    // Twice wrong: the stored copy is damaged, not the transfer.
    return Status::Corruption(fmt::format("{} (also after a refetch); the archived copy of segment {} is damaged: "
                                          "run `ebb tier verify`",
                                          plain.status().message(), entry.member.meta.segment_id));
  }
  return first;
}

bool MemberCache::MakeRoomLocked(uint64_t incoming) {
  // Bytes of fetches in flight count as used, so parallel fetches cannot
  // overshoot the capacity together.
  uint64_t cached = stats_.cached_bytes + reserved_bytes_;
  auto it = lru_.end();
  while (cached + incoming > capacity_bytes_ && it != lru_.begin()) {
    --it;
    SegmentKey id = *it;
    Slot& slot = slots_[id];
    if (slot.pins > 0) continue;
    (void)fs_->DeleteFile(PathOf(id));
    cached -= slot.size_bytes;
    stats_.cached_bytes -= slot.size_bytes;
    stats_.cached_members--;
    stats_.evictions++;
    slots_.erase(id);
    it = lru_.erase(it);
  }
  return cached + incoming <= capacity_bytes_;
}

SegmentKey MemberCache::Resolve(const SegmentKey& key) const {
  if (key.checksum != 0) return key;
  // A segment whose checksum its store does not know: the index's copy.
  auto entry = index_->Find(key);
  return entry ? entry->key() : key;
}

std::unique_ptr<MemberCache::Handle> MemberCache::TryAcquire(const SegmentKey& wanted) {
  SegmentKey key = Resolve(wanted);
  MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || !it->second.ready) return nullptr;
  Slot& slot = it->second;
  slot.pins++;
  lru_.splice(lru_.begin(), lru_, slot.lru);
  stats_.hits++;
  return std::unique_ptr<Handle>(new Handle(this, key, PathOf(key), slot.size_bytes));
}

Result<std::unique_ptr<MemberCache::Handle>> MemberCache::Acquire(const SegmentKey& wanted) {
  SegmentKey key = Resolve(wanted);
  {
    MutexLock lock(&mu_);
    while (true) {
      auto it = slots_.find(key);
      if (it == slots_.end()) break;
      if (it->second.ready) {
        Slot& slot = it->second;
        slot.pins++;
        lru_.splice(lru_.begin(), lru_, slot.lru);
        stats_.hits++;
        return std::unique_ptr<Handle>(new Handle(this, key, PathOf(key), slot.size_bytes));
      }
      fetched_cv_.Wait();  // another thread is fetching it
    }
    slots_[key] = Slot{};  // in flight
  }
  uint64_t reserved = 0;
  auto fail = [&](Status s) -> Result<std::unique_ptr<Handle>> {
    MutexLock lock(&mu_);
    reserved_bytes_ -= reserved;
    slots_.erase(key);
    fetched_cv_.SignalAll();
    return s;
  };
  auto entry = index_->Find(key);
  if (!entry) {
    return fail(Status::NotFound(fmt::format(
        "segment {} is not in the tier index (never persisted, or its database was dropped)", key.ToString())));
  }
  {
    MutexLock lock(&mu_);
    if (!MakeRoomLocked(entry->member.plaintext_size)) {
      uint64_t capacity = capacity_bytes_;
      slots_.erase(key);
      fetched_cv_.SignalAll();
      return Status::Busy(fmt::format("member cache {} is full of segments in use ({} byte capacity); segment {} "
                                      "needs {} bytes: raise tiering.cache_bytes",
                                      dir_, capacity, key.ToString(), entry->member.plaintext_size));
    }
    reserved = entry->member.plaintext_size;
    reserved_bytes_ += reserved;
  }
  auto plain = Fetch(*entry);
  if (!plain.ok()) return fail(plain.status());
  // The cache starts empty at every open (files left from a previous run are
  // deleted), so its files are written without a sync: a crash loses
  // nothing a refetch cannot bring back, and a cold read does not wait for
  // the disk. A failed write leaves no file behind.
  const std::string path = PathOf(key);
  Status s = WriteStringToFile(fs_, *plain, path, /*sync=*/false);
  if (!s.ok()) {
    if (fs_->FileExists(path)) (void)fs_->DeleteFile(path);
    return fail(s.WithContext(fmt::format("member cache: write segment {} to {}", key.ToString(), path)));
  }
  MutexLock lock(&mu_);
  reserved_bytes_ -= reserved;
  Slot& slot = slots_[key];
  slot.ready = true;
  slot.size_bytes = plain->size();
  slot.pins = 1;
  lru_.push_front(key);
  slot.lru = lru_.begin();
  stats_.cached_bytes += slot.size_bytes;
  stats_.cached_members++;
  fetched_cv_.SignalAll();
  return std::unique_ptr<Handle>(new Handle(this, key, path, slot.size_bytes));
}

void MemberCache::Release(const SegmentKey& key) {
  MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  it->second.pins--;
  MakeRoomLocked(0);  // a capacity lowered while pinned takes effect now
}

void MemberCache::Forget(const SegmentKey& key) {
  MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end() || !it->second.ready || it->second.pins > 0) return;
  (void)fs_->DeleteFile(PathOf(key));
  stats_.cached_bytes -= it->second.size_bytes;
  stats_.cached_members--;
  lru_.erase(it->second.lru);
  slots_.erase(it);
}

void MemberCache::SetCapacity(uint64_t capacity_bytes) {
  MutexLock lock(&mu_);
  capacity_bytes_ = capacity_bytes;
  MakeRoomLocked(0);
}

MemberCacheStats MemberCache::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace ebb
