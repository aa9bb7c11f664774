// Archive format: a POSIX pax tar (written with libarchive, listable with
// `tar tvf`) whose members are segment files, each compressed with zstd and
// sealed with XChaCha20-Poly1305, plus one empty tombstone member per dropped
// database, an encrypted table of contents (TOC) and a fixed-size footer that
// points at the TOC. The layout, magic numbers and version are in
// docs/archive_format.md.
//
// Reading a member needs one ranged read of its payload; reading the TOC
// needs one ranged read of the archive's tail (two if the TOC is larger than
// the tail read). When the footer or TOC is damaged, ScanArchive rebuilds the
// TOC from the member pax headers by reading the whole archive.
//
// Thread safety: ArchiveWriter is used by one thread; the free functions are
// thread-safe.

#ifndef EBB_TIERING_ARCHIVE_H_
#define EBB_TIERING_ARCHIVE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "tiering/archive_key.h"

namespace ebb {

class Clock;
class FileSystem;
class ObjectStore;

// What the engine knows about one segment file.
struct TieredSegmentMeta {
  uint64_t segment_id = 0;
  std::string database;
  std::string smallest_key;
  std::string largest_key;
  uint64_t smallest_seq = 0;
  uint64_t largest_seq = 0;
  friend bool operator==(const TieredSegmentMeta&, const TieredSegmentMeta&) = default;
};

// A dropped database: every archived segment of `database` whose
// largest_seq <= `sequence` is dead (a database re-created later writes
// higher sequences and is unaffected).
struct DatabaseTombstone {
  std::string database;
  uint64_t sequence = 0;
  friend bool operator==(const DatabaseTombstone&, const DatabaseTombstone&) = default;
};

// The identity of a segment in the tier: its database (name#id), its file
// number and the checksum of its contents. Numbers alone can collide (a
// restored store, or a rebuilt index, may see a number again); all three
// cannot. checksum 0 means "not known" (segments written before Ebb recorded
// checksums), which matches any checksum.
struct SegmentKey {
  std::string database;
  uint64_t number = 0;
  uint64_t checksum = 0;
  friend auto operator<=>(const SegmentKey&, const SegmentKey&) = default;
  // "users#3/000042.seg (checksum 0123456789abcdef)"
  std::string ToString() const;
};

// One segment member as recorded in the TOC.
struct MemberEntry {
  std::string member;           // tar member name, "segments/000042.seg.zst.enc"
  TieredSegmentMeta meta;
  uint64_t payload_offset = 0;  // of the sealed payload within the tar
  uint64_t payload_length = 0;  // nonce + ciphertext + tag
  uint64_t plaintext_size = 0;  // the segment file's size
  uint64_t plaintext_checksum = 0;   // XXH3-64 of the segment file
  uint64_t ciphertext_checksum = 0;  // XXH3-64 of the sealed payload
  friend bool operator==(const MemberEntry&, const MemberEntry&) = default;
};

inline SegmentKey KeyOf(const MemberEntry& e) {
  return SegmentKey{e.meta.database, e.meta.segment_id, e.plaintext_checksum};
}

// What a restore needs to know of one segment besides its bytes: the
// statistics the manifest keeps, and which archive holds it.
struct CatalogSegment {
  TieredSegmentMeta meta;
  uint64_t checksum = 0;  // XXH3-64 of the segment file
  uint64_t file_size = 0;
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t key_bytes = 0;
  uint64_t value_bytes = 0;
  uint64_t dead_bytes = 0;
  int64_t created_wall_micros = 0;
  std::string archive;  // the archive holding it
  SegmentKey key() const { return SegmentKey{meta.database, meta.segment_id, checksum}; }
  friend bool operator==(const CatalogSegment&, const CatalogSegment&) = default;
};

// One database of a catalog: the state with every write up to `sequence`
// and none after it (a prefix of its writes), held by `segments`.
struct CatalogDatabase {
  uint64_t id = 0;
  std::string name;
  uint64_t sequence = 0;
  std::vector<CatalogSegment> segments;  // oldest first
  friend bool operator==(const CatalogDatabase&, const CatalogDatabase&) = default;
};

// A complete description of the store as the bucket holds it when a
// snapshot is taken: every live database (dropped ones are absent), each at
// a consistent point, and only segments whose archives are in the bucket.
// Restore turns it back into a store (see catalog.h).
struct StoreCatalog {
  int64_t wall_micros = 0;
  uint64_t next_file_number = 0;
  uint64_t next_db_id = 0;
  std::vector<CatalogDatabase> databases;
  friend bool operator==(const StoreCatalog&, const StoreCatalog&) = default;
};

struct ArchiveToc {
  std::string archive;  // the archive's name (ULID-like), not its object key
  uint64_t key_id = 0;
  uint64_t epoch = 0;   // of the agent that wrote it
  int64_t created_wall_micros = 0;
  std::vector<MemberEntry> members;
  std::vector<DatabaseTombstone> tombstones;
  // The store as of this snapshot (format version 2; absent in version 1).
  std::optional<StoreCatalog> catalog;
  friend bool operator==(const ArchiveToc&, const ArchiveToc&) = default;
};

// A fresh, unique, write-once archive name: 10 characters of millisecond
// time and 16 of randomness in Crockford base32, so names sort by creation.
std::string NewArchiveName(const Clock* clock);
// The wall time (micros) a name from NewArchiveName was made at; 0 if the
// name is not one.
int64_t ArchiveNameMicros(std::string_view name);
// "archives/<name>.tar": where an archive lives in the object store.
std::string ArchiveObjectKey(std::string_view archive_name);
// Inverse of ArchiveObjectKey; empty if `key` is not an archive key.
std::string ArchiveNameFromKey(std::string_view key);

// Encodings shared with the tier index file (docs/archive_format.md).
void EncodeMemberEntry(std::string* dst, const MemberEntry& e);
bool DecodeMemberEntry(std::string_view* in, MemberEntry* e);
void EncodeCatalog(std::string* dst, const StoreCatalog& catalog);
bool DecodeCatalog(std::string_view* in, StoreCatalog* catalog);

// Bounds (named limits of the format).
inline constexpr uint64_t kMaxMemberPlaintextBytes = uint64_t{2} << 30;  // 2 GiB segment files
inline constexpr uint64_t kMaxTocBytes = uint64_t{256} << 20;
inline constexpr uint64_t kArchiveTailReadBytes = 64 * 1024;

// Writes one archive to a local file. Usage: Create, AddSegment* /
// AddTombstone*, Finish. Until Finish returns OK the file is incomplete and
// must be discarded.
class ArchiveWriter {
 public:
  struct Options {
    int zstd_level = 3;
    uint64_t epoch = 0;
    // 1 writes the previous format (no catalog): for tests that older
    // archives stay readable.
    uint32_t format_version = 2;
  };
  static Result<std::unique_ptr<ArchiveWriter>> Create(FileSystem* fs, const std::string& path,
                                                       const std::string& archive_name, const ArchiveKey* key,
                                                       const Clock* clock, Options options);
  ~ArchiveWriter();

  // Compresses, seals and appends one segment file's contents.
  Status AddSegment(const TieredSegmentMeta& meta, std::string_view contents);
  Status AddTombstone(const DatabaseTombstone& tombstone);
  // The store catalog the TOC carries (set before Finish).
  void SetCatalog(StoreCatalog catalog);
  // Writes the TOC and footer, syncs and closes the file. Returns the TOC.
  Result<ArchiveToc> Finish();
  uint64_t bytes_written() const;

  class Impl;

 private:
  explicit ArchiveWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads [offset, offset + length) of an archive; shorter only at its end.
using RangeReader = std::function<Result<std::string>(uint64_t offset, uint64_t length)>;
RangeReader ObjectRangeReader(ObjectStore* store, std::string key);
RangeReader FileRangeReader(FileSystem* fs, std::string path);

// The key id in the footer of an archive of `size` bytes (one ranged read):
// which key it needs, without decrypting anything. Corruption if damaged.
Result<uint64_t> ReadArchiveKeyId(const RangeReader& reader, uint64_t size, const std::string& archive_name);

// Reads the footer and TOC of an archive of `size` bytes named
// `archive_name` with the key of `keys` its footer names. A key the ring
// lacks is PermissionDenied ("archive X was written with key id A, and this
// store has no such key (key file ...)"); a damaged footer or TOC is
// Corruption. `reads`, if given, counts the ranged reads made.
Result<ArchiveToc> ReadArchiveToc(const RangeReader& reader, uint64_t size, const std::string& archive_name,
                                  const KeyRing& keys, int* reads = nullptr);

// Rebuilds the TOC of an archive whose footer or TOC is damaged from the
// whole archive's bytes: every member's pax header carries its own sealed
// metadata, and payload checksums are recomputed (the catalog, which only
// the TOC holds, is lost). Members whose header is damaged are skipped and
// reported in `skipped` (if given).
Result<ArchiveToc> ScanArchive(std::string_view archive_bytes, const std::string& archive_name, const KeyRing& keys,
                               std::vector<std::string>* skipped = nullptr);

// Verifies, decrypts and decompresses one member's sealed payload; the
// plaintext checksum is checked. Corruption names archive and member.
Result<std::string> OpenMemberPayload(std::string_view payload, const std::string& archive_name,
                                      const MemberEntry& entry, const ArchiveKey& key);

// Ranged read of one member plus OpenMemberPayload.
Result<std::string> ReadMember(const RangeReader& reader, const std::string& archive_name, const MemberEntry& entry,
                               const ArchiveKey& key);

}  // namespace ebb

#endif  // EBB_TIERING_ARCHIVE_H_
