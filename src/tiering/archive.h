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

struct ArchiveToc {
  std::string archive;  // the archive's name (ULID-like), not its object key
  uint64_t key_id = 0;
  uint64_t epoch = 0;   // of the agent that wrote it
  int64_t created_wall_micros = 0;
  std::vector<MemberEntry> members;
  std::vector<DatabaseTombstone> tombstones;
  friend bool operator==(const ArchiveToc&, const ArchiveToc&) = default;
};

// A fresh, unique, write-once archive name: 10 characters of millisecond
// time and 16 of randomness in Crockford base32, so names sort by creation.
std::string NewArchiveName(const Clock* clock);
// "archives/<name>.tar": where an archive lives in the object store.
std::string ArchiveObjectKey(std::string_view archive_name);
// Inverse of ArchiveObjectKey; empty if `key` is not an archive key.
std::string ArchiveNameFromKey(std::string_view key);

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
  };
  static Result<std::unique_ptr<ArchiveWriter>> Create(FileSystem* fs, const std::string& path,
                                                       const std::string& archive_name, const ArchiveKey* key,
                                                       const Clock* clock, Options options);
  ~ArchiveWriter();

  // Compresses, seals and appends one segment file's contents.
  Status AddSegment(const TieredSegmentMeta& meta, std::string_view contents);
  Status AddTombstone(const DatabaseTombstone& tombstone);
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

// Reads the footer and TOC of an archive of `size` bytes named
// `archive_name`. A footer whose key id differs from `key`'s is
// PermissionDenied ("archive X was written with key id A, this store's key
// id is B (key file ...)"); a damaged footer or TOC is Corruption.
// `reads`, if given, counts the ranged reads made.
Result<ArchiveToc> ReadArchiveToc(const RangeReader& reader, uint64_t size, const std::string& archive_name,
                                  const ArchiveKey& key, int* reads = nullptr);

// Rebuilds the TOC of an archive whose footer or TOC is damaged from the
// whole archive's bytes: every member's pax header carries its own sealed
// metadata, and payload checksums are recomputed. Members whose header is
// damaged are skipped and reported in `skipped` (if given).
Result<ArchiveToc> ScanArchive(std::string_view archive_bytes, const std::string& archive_name, const ArchiveKey& key,
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
