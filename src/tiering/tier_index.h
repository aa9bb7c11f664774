// TierIndex: where every persisted segment lives remotely (segment ->
// archive, member, payload offset and length, checksums, database, key and
// sequence ranges, the key the archive was sealed with), which archives
// exist, which databases were dropped, and the newest store catalog.
//
// Segments are named by SegmentKey (database name#id, file number, content
// checksum), never by number alone: a restored store or a rebuilt index can
// meet a number again, and taking another segment's archived copy for a
// local one would let the evicter delete data with no copy.
//
// An entry exists only for a segment whose archive was uploaded and verified,
// so "in the index" means "safe to evict locally". The index is a pure
// function of the archives' TOCs (AddArchive is order-independent):
//   - a segment in several archives maps to the archive with the greatest
//     name (names sort by creation time);
//   - a tombstone (database, sequence) removes every entry of that database
//     with largest_seq <= sequence, now and for archives added later;
//   - the catalog is that of the greatest-named archive that carries one.
// So RebuildIndex (tier_tools.h) regenerates an equal index from the
// archives alone. RemoveArchive (garbage collection) forgets an archive and
// the entries that point at it.
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
  uint64_t key_id = 0;  // the key the archive was sealed with
  MemberEntry member;
  SegmentKey key() const { return KeyOf(member); }
  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

struct ArchiveRecord {
  std::string name;
  uint64_t size_bytes = 0;
  uint64_t segment_members = 0;
  uint64_t tombstone_members = 0;
  uint64_t key_id = 0;
  uint64_t member_bytes = 0;  // sealed payload bytes of its segment members
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
  // Forgets an archive deleted from the object store, and every entry that
  // points at it.
  void RemoveArchive(const std::string& name);

  // The entry of `key` (a checksum of 0 matches any checksum).
  std::optional<IndexEntry> Find(const SegmentKey& key) const;
  bool Contains(const SegmentKey& key) const { return Find(key).has_value(); }
  bool HasTombstone(const DatabaseTombstone& t) const;

  std::vector<ArchiveRecord> archives() const;  // sorted by name
  std::optional<ArchiveRecord> archive(const std::string& name) const;
  std::vector<IndexEntry> entries() const;  // sorted by key
  std::map<std::string, uint64_t> tombstones() const;  // database -> highest dropped sequence
  // The newest catalog, with the archive that carried it.
  std::optional<std::pair<std::string, StoreCatalog>> latest_catalog() const;
  size_t segment_count() const;
  // Plaintext bytes of the indexed segments.
  uint64_t segment_bytes() const;
  // Bytes of all archives in the object store.
  uint64_t archive_bytes() const;

  Status Save(FileSystem* fs, const std::string& path) const;
  // Loads a saved index; NotFound if the file does not exist, NotSupported
  // for another version (the caller rebuilds it from the archives).
  static Result<TierIndex> Load(FileSystem* fs, const std::string& path);

  friend bool operator==(const TierIndex& a, const TierIndex& b);

 private:
  void ApplyTombstoneLocked(const std::string& database, uint64_t sequence) REQUIRES(mu_);
  bool DeadLocked(const TieredSegmentMeta& meta) const REQUIRES(mu_);

  // Protected by mu_.
  mutable Mutex mu_;
  std::map<SegmentKey, IndexEntry> entries_ GUARDED_BY(mu_);
  std::map<std::string, ArchiveRecord> archives_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> tombstones_ GUARDED_BY(mu_);
  std::string catalog_archive_ GUARDED_BY(mu_);  // empty: no catalog
  StoreCatalog catalog_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_TIERING_TIER_INDEX_H_
