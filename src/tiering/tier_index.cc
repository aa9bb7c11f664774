#include "tiering/tier_index.h"

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

constexpr char kIndexMagic[] = "EBBTIDX1";  // 8 bytes
constexpr uint32_t kIndexVersion = 1;

void PutMeta(std::string* dst, const TieredSegmentMeta& m) {
  PutVarint64(dst, m.segment_id);
  PutLengthPrefixed(dst, m.database);
  PutLengthPrefixed(dst, m.smallest_key);
  PutLengthPrefixed(dst, m.largest_key);
  PutVarint64(dst, m.smallest_seq);
  PutVarint64(dst, m.largest_seq);
}

bool GetString(std::string_view* in, std::string* out) {
  std::string_view v;
  if (!GetLengthPrefixed(in, &v)) return false;
  out->assign(v.data(), v.size());
  return true;
}

bool GetMeta(std::string_view* in, TieredSegmentMeta* m) {
  return GetVarint64(in, &m->segment_id) && GetString(in, &m->database) && GetString(in, &m->smallest_key) &&
         GetString(in, &m->largest_key) && GetVarint64(in, &m->smallest_seq) && GetVarint64(in, &m->largest_seq);
}

}  // namespace

TierIndex::TierIndex(const TierIndex& other) {
  MutexLock lock(&other.mu_);
  entries_ = other.entries_;
  archives_ = other.archives_;
  tombstones_ = other.tombstones_;
}

TierIndex& TierIndex::operator=(const TierIndex& other) {
  if (this == &other) return *this;
  TierIndex copy(other);
  MutexLock lock(&mu_);
  MutexLock copy_lock(&copy.mu_);
  entries_ = std::move(copy.entries_);
  archives_ = std::move(copy.archives_);
  tombstones_ = std::move(copy.tombstones_);
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
  archives_[toc.archive] = ArchiveRecord{.name = toc.archive, .size_bytes = archive_size_bytes,
                                         .segment_members = toc.members.size(),
                                         .tombstone_members = toc.tombstones.size()};
  for (const auto& m : toc.members) {
    if (DeadLocked(m.meta)) continue;
    auto it = entries_.find(m.meta.segment_id);
    if (it != entries_.end() && it->second.archive > toc.archive) continue;
    entries_[m.meta.segment_id] = IndexEntry{.archive = toc.archive, .member = m};
  }
  for (const auto& t : toc.tombstones) ApplyTombstoneLocked(t.database, t.sequence);
}

std::optional<IndexEntry> TierIndex::Find(uint64_t segment_id) const {
  MutexLock lock(&mu_);
  auto it = entries_.find(segment_id);
  if (it == entries_.end()) return std::nullopt;
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

std::vector<IndexEntry> TierIndex::entries() const {
  MutexLock lock(&mu_);
  std::vector<IndexEntry> out;
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

std::map<std::string, uint64_t> TierIndex::tombstones() const {
  MutexLock lock(&mu_);
  return tombstones_;
}

size_t TierIndex::segment_count() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t TierIndex::segment_bytes() const {
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& [id, e] : entries_) total += e.member.plaintext_size;
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
  return a.entries_ == copy.entries_ && a.archives_ == copy.archives_ && a.tombstones_ == copy.tombstones_;
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
    }
    PutVarint64(&out, tombstones_.size());
    for (const auto& [db, seq] : tombstones_) {
      PutLengthPrefixed(&out, db);
      PutVarint64(&out, seq);
    }
    PutVarint64(&out, entries_.size());
    for (const auto& [id, e] : entries_) {
      PutLengthPrefixed(&out, e.archive);
      PutLengthPrefixed(&out, e.member.member);
      PutMeta(&out, e.member.meta);
      PutVarint64(&out, e.member.payload_offset);
      PutVarint64(&out, e.member.payload_length);
      PutVarint64(&out, e.member.plaintext_size);
      PutFixed64(&out, e.member.plaintext_checksum);
      PutFixed64(&out, e.member.ciphertext_checksum);
    }
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
    return Status::NotSupported(fmt::format("tier index {}: version {} (this build reads {})", path, version,
                                            kIndexVersion));
  }
  std::string_view in(data.data() + 12, data.size() - 16);
  std::map<uint64_t, IndexEntry> entries;
  std::map<std::string, ArchiveRecord> archives;
  std::map<std::string, uint64_t> tombstones;
  uint64_t n;
  if (!GetVarint64(&in, &n)) return corrupt("truncated archive list");
  for (uint64_t i = 0; i < n; i++) {
    ArchiveRecord rec;
    if (!GetString(&in, &rec.name) || !GetVarint64(&in, &rec.size_bytes) || !GetVarint64(&in, &rec.segment_members) ||
        !GetVarint64(&in, &rec.tombstone_members)) {
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
    if (!GetString(&in, &e.archive) || !GetString(&in, &e.member.member) || !GetMeta(&in, &e.member.meta) ||
        !GetVarint64(&in, &e.member.payload_offset) || !GetVarint64(&in, &e.member.payload_length) ||
        !GetVarint64(&in, &e.member.plaintext_size) || !GetFixed64(&in, &e.member.plaintext_checksum) ||
        !GetFixed64(&in, &e.member.ciphertext_checksum)) {
      return corrupt("truncated entry");
    }
    entries[e.member.meta.segment_id] = std::move(e);
  }
  if (!in.empty()) return corrupt("trailing bytes");
  TierIndex index;
  {
    MutexLock lock(&index.mu_);
    index.entries_ = std::move(entries);
    index.archives_ = std::move(archives);
    index.tombstones_ = std::move(tombstones);
  }
  return index;
}

}  // namespace ebb
