#include "tiering/tier_index.h"

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

constexpr char kIndexMagic[] = "EBBTIDX1";  // 8 bytes
// Version 2: entries keyed by (database, number, checksum), key ids, and the
// newest catalog. A version 1 file is rebuilt from the archives.
constexpr uint32_t kIndexVersion = 2;

bool GetString(std::string_view* in, std::string* out) {
  std::string_view v;
  if (!GetLengthPrefixed(in, &v)) return false;
  out->assign(v.data(), v.size());
  return true;
}

}  // namespace

TierIndex::TierIndex(const TierIndex& other) {
  MutexLock lock(&other.mu_);
  entries_ = other.entries_;
  archives_ = other.archives_;
  tombstones_ = other.tombstones_;
  catalog_archive_ = other.catalog_archive_;
  catalog_ = other.catalog_;
}

TierIndex& TierIndex::operator=(const TierIndex& other) {
  if (this == &other) return *this;
  TierIndex copy(other);
  MutexLock lock(&mu_);
  MutexLock copy_lock(&copy.mu_);
  entries_ = std::move(copy.entries_);
  archives_ = std::move(copy.archives_);
  tombstones_ = std::move(copy.tombstones_);
  catalog_archive_ = std::move(copy.catalog_archive_);
  catalog_ = std::move(copy.catalog_);
  return *this;
}

bool TierIndex::DeadLocked(const TieredSegmentMeta& meta) const {
  auto it = tombstones_.find(meta.database);
  return it != tombstones_.end() && meta.largest_seq <= it->second;
}

void TierIndex::ApplyTombstoneLocked(const std::string& database, uint64_t sequence) {
  uint64_t& dropped = tombstones_[database];
  dropped = std::max(dropped, sequence);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (DeadLocked(it->second.member.meta)) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void TierIndex::AddArchive(const ArchiveToc& toc, uint64_t archive_size_bytes) {
  MutexLock lock(&mu_);
  ArchiveRecord rec{.name = toc.archive, .size_bytes = archive_size_bytes, .segment_members = toc.members.size(),
                    .tombstone_members = toc.tombstones.size(), .key_id = toc.key_id, .member_bytes = 0};
  for (const auto& m : toc.members) rec.member_bytes += m.payload_length;
  archives_[toc.archive] = rec;
  for (const auto& m : toc.members) {
    if (DeadLocked(m.meta)) continue;
    SegmentKey key = KeyOf(m);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.archive > toc.archive) continue;
    entries_[key] = IndexEntry{.archive = toc.archive, .key_id = toc.key_id, .member = m};
  }
  for (const auto& t : toc.tombstones) ApplyTombstoneLocked(t.database, t.sequence);
  if (toc.catalog && toc.archive > catalog_archive_) {
    catalog_archive_ = toc.archive;
    catalog_ = *toc.catalog;
  }
}

void TierIndex::RemoveArchive(const std::string& name) {
  MutexLock lock(&mu_);
  archives_.erase(name);
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.archive == name; });
  if (catalog_archive_ == name) {
    catalog_archive_.clear();
    catalog_ = StoreCatalog();
  }
}

std::optional<IndexEntry> TierIndex::Find(const SegmentKey& key) const {
  MutexLock lock(&mu_);
  if (key.checksum != 0) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  auto it = entries_.lower_bound(SegmentKey{key.database, key.number, 0});
  if (it == entries_.end() || it->first.database != key.database || it->first.number != key.number) {
    return std::nullopt;
  }
  return it->second;
}

bool TierIndex::HasTombstone(const DatabaseTombstone& t) const {
  MutexLock lock(&mu_);
  auto it = tombstones_.find(t.database);
  return it != tombstones_.end() && it->second >= t.sequence;
}

std::vector<ArchiveRecord> TierIndex::archives() const {
  MutexLock lock(&mu_);
  std::vector<ArchiveRecord> out;
  for (const auto& [name, rec] : archives_) out.push_back(rec);
  return out;
}

std::optional<ArchiveRecord> TierIndex::archive(const std::string& name) const {
  MutexLock lock(&mu_);
  auto it = archives_.find(name);
  if (it == archives_.end()) return std::nullopt;
  return it->second;
}

std::vector<IndexEntry> TierIndex::entries() const {
  MutexLock lock(&mu_);
  std::vector<IndexEntry> out;
  for (const auto& [key, e] : entries_) out.push_back(e);
  return out;
}

std::map<std::string, uint64_t> TierIndex::tombstones() const {
  MutexLock lock(&mu_);
  return tombstones_;
}

std::optional<std::pair<std::string, StoreCatalog>> TierIndex::latest_catalog() const {
  MutexLock lock(&mu_);
  if (catalog_archive_.empty()) return std::nullopt;
  return std::make_pair(catalog_archive_, catalog_);
}

size_t TierIndex::segment_count() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t TierIndex::segment_bytes() const {
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& [key, e] : entries_) total += e.member.plaintext_size;
  return total;
}

uint64_t TierIndex::archive_bytes() const {
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& [name, rec] : archives_) total += rec.size_bytes;
  return total;
}

bool operator==(const TierIndex& a, const TierIndex& b) {
  if (&a == &b) return true;
  TierIndex copy(b);
  MutexLock lock(&a.mu_);
  MutexLock copy_lock(&copy.mu_);
  return a.entries_ == copy.entries_ && a.archives_ == copy.archives_ && a.tombstones_ == copy.tombstones_ &&
         a.catalog_archive_ == copy.catalog_archive_ && a.catalog_ == copy.catalog_;
}

Status TierIndex::Save(FileSystem* fs, const std::string& path) const {
  std::string out(kIndexMagic, 8);
  PutFixed32(&out, kIndexVersion);
  {
    MutexLock lock(&mu_);
    PutVarint64(&out, archives_.size());
    for (const auto& [name, rec] : archives_) {
      PutLengthPrefixed(&out, rec.name);
      PutVarint64(&out, rec.size_bytes);
      PutVarint64(&out, rec.segment_members);
      PutVarint64(&out, rec.tombstone_members);
      PutFixed64(&out, rec.key_id);
      PutVarint64(&out, rec.member_bytes);
    }
    PutVarint64(&out, tombstones_.size());
    for (const auto& [db, seq] : tombstones_) {
      PutLengthPrefixed(&out, db);
      PutVarint64(&out, seq);
    }
    PutVarint64(&out, entries_.size());
    for (const auto& [key, e] : entries_) {
      PutLengthPrefixed(&out, e.archive);
      PutFixed64(&out, e.key_id);
      EncodeMemberEntry(&out, e.member);
    }
    PutLengthPrefixed(&out, catalog_archive_);
    if (!catalog_archive_.empty()) EncodeCatalog(&out, catalog_);
  }
  PutFixed32(&out, Checksum32(out));
  return WriteFileAtomically(fs, out, path).WithContext("save tier index");
}

Result<TierIndex> TierIndex::Load(FileSystem* fs, const std::string& path) {
  EBB_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, path));
  auto corrupt = [&](std::string_view why) {
    return Status::Corruption(fmt::format(
        "tier index {}: {}; delete it and run `ebb tier rebuild-index` to regenerate it from the archives", path,
        why));
  };
  if (data.size() < 16 || data.compare(0, 8, kIndexMagic, 8) != 0) return corrupt("bad magic number");
  uint32_t stored = DecodeFixed32(data.data() + data.size() - 4);
  uint32_t actual = Checksum32(std::string_view(data).substr(0, data.size() - 4));
  if (stored != actual) return corrupt(fmt::format("checksum mismatch (expected {:08x}, got {:08x})", stored, actual));
  uint32_t version = DecodeFixed32(data.data() + 8);
  if (version != kIndexVersion) {
    return Status::NotSupported(fmt::format("tier index {}: version {} (this build reads {}); it is rebuilt from the "
                                            "archives",
                                            path, version, kIndexVersion));
  }
  std::string_view in(data.data() + 12, data.size() - 16);
  std::map<SegmentKey, IndexEntry> entries;
  std::map<std::string, ArchiveRecord> archives;
  std::map<std::string, uint64_t> tombstones;
  std::string catalog_archive;
  StoreCatalog catalog;
  uint64_t n;
  if (!GetVarint64(&in, &n)) return corrupt("truncated archive list");
  for (uint64_t i = 0; i < n; i++) {
    ArchiveRecord rec;
    if (!GetString(&in, &rec.name) || !GetVarint64(&in, &rec.size_bytes) || !GetVarint64(&in, &rec.segment_members) ||
        !GetVarint64(&in, &rec.tombstone_members) || !GetFixed64(&in, &rec.key_id) ||
        !GetVarint64(&in, &rec.member_bytes)) {
      return corrupt("truncated archive record");
    }
    archives[rec.name] = rec;
  }
  if (!GetVarint64(&in, &n)) return corrupt("truncated tombstone list");
  for (uint64_t i = 0; i < n; i++) {
    std::string db;
    uint64_t seq;
    if (!GetString(&in, &db) || !GetVarint64(&in, &seq)) return corrupt("truncated tombstone");
    tombstones[db] = seq;
  }
  if (!GetVarint64(&in, &n)) return corrupt("truncated entry list");
  for (uint64_t i = 0; i < n; i++) {
    IndexEntry e;
    if (!GetString(&in, &e.archive) || !GetFixed64(&in, &e.key_id) || !DecodeMemberEntry(&in, &e.member)) {
      return corrupt("truncated entry");
    }
    entries[e.key()] = std::move(e);
  }
  if (!GetString(&in, &catalog_archive)) return corrupt("truncated catalog");
  if (!catalog_archive.empty() && !DecodeCatalog(&in, &catalog)) return corrupt("truncated catalog");
  if (!in.empty()) return corrupt("trailing bytes");
  TierIndex index;
  {
    MutexLock lock(&index.mu_);
    index.entries_ = std::move(entries);
    index.archives_ = std::move(archives);
    index.tombstones_ = std::move(tombstones);
    index.catalog_archive_ = std::move(catalog_archive);
    index.catalog_ = std::move(catalog);
  }
  return index;
}

}  // namespace ebb
