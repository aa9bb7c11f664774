// TierIndex: where every persisted segment lives remotely (segment ->
// archive, member, payload offset and length, checksums, database, key and
// sequence ranges), which archives exist, and which databases were dropped.
//
// An entry exists only for a segment whose archive was uploaded and verified,
// so "in the index" means "safe to evict locally". The index is a pure
// function of the archives' TOCs (AddArchive is order-independent):
//   - a segment in several archives maps to the archive with the greatest
//     name (names sort by creation time);
//   - a tombstone (database, sequence) removes every entry of that database
//     with largest_seq <= sequence, now and for archives added later.
// So RebuildIndex (tier_tools.h) regenerates an equal index from the
// archives alone.
//
// Persistence: Save writes the whole index to one file atomically
// (temp + sync + rename + directory sync); Load checks magic, version and
// checksum. Format in docs/archive_format.md ("Tier index file").
//
// Thread-safe.

#ifndef EBB_TIERING_TIER_INDEX_H_
#define EBB_TIERING_TIER_INDEX_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "ebb/status.h"
#include "tiering/archive.h"

namespace ebb {

class FileSystem;

struct IndexEntry {
  std::string archive;  // archive name (object key: ArchiveObjectKey(archive))
  MemberEntry member;
  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

struct ArchiveRecord {
  std::string name;
  uint64_t size_bytes = 0;
  uint64_t segment_members = 0;
  uint64_t tombstone_members = 0;
  friend bool operator==(const ArchiveRecord&, const ArchiveRecord&) = default;
};

class TierIndex {
 public:
  TierIndex() = default;
  TierIndex(const TierIndex& other);
  TierIndex& operator=(const TierIndex& other);

  // Merges an archive's TOC (see the rules above). Re-adding an archive is
  // harmless.
  void AddArchive(const ArchiveToc& toc, uint64_t archive_size_bytes);

  std::optional<IndexEntry> Find(uint64_t segment_id) const;
  bool Contains(uint64_t segment_id) const { return Find(segment_id).has_value(); }
  bool HasTombstone(const DatabaseTombstone& t) const;

  std::vector<ArchiveRecord> archives() const;
  std::vector<IndexEntry> entries() const;  // sorted by segment id
  std::map<std::string, uint64_t> tombstones() const;  // database -> highest dropped sequence
  size_t segment_count() const;
  // Plaintext bytes of the indexed segments.
  uint64_t segment_bytes() const;
  // Bytes of all archives in the object store.
  uint64_t archive_bytes() const;

  Status Save(FileSystem* fs, const std::string& path) const;
  // Loads a saved index; NotFound if the file does not exist.
  static Result<TierIndex> Load(FileSystem* fs, const std::string& path);

  friend bool operator==(const TierIndex& a, const TierIndex& b);

 private:
  void ApplyTombstoneLocked(const std::string& database, uint64_t sequence) REQUIRES(mu_);
  bool DeadLocked(const TieredSegmentMeta& meta) const REQUIRES(mu_);

  // Protected by mu_.
  mutable Mutex mu_;
  std::map<uint64_t, IndexEntry> entries_ GUARDED_BY(mu_);
  std::map<std::string, ArchiveRecord> archives_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> tombstones_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_TIERING_TIER_INDEX_H_
