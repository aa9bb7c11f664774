// Segment files: immutable sorted runs of one database's entries
// (docs/format.md, "Segment files"):
//
//   data block 0 .. data block N-1   sorted internal keys -> values
//   filter block                      bloom filter over user keys
//   index block                       last internal key of each data block -> handle
//   properties block                  statistics (entries, tombstones, key range, ...)
//   footer (64 bytes)                 handles, version, checksum, magic
//
// Every block is followed by a 5-byte trailer: u8 compression (0 none,
// 1 zstd) and fixed32 checksum of contents + compression byte. Checksums are
// verified when a block is read: a memory-mapped, uncompressed data block on
// its first read after the open (ReadDataBlock), every other block on every
// read; VerifyChecksums reads every block afresh.

#ifndef EBB_STORAGE_SEGMENT_H_
#define EBB_STORAGE_SEGMENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/checksum.h"
#include "env/file_system.h"
#include "storage/block.h"
#include "storage/bloom.h"
#include "storage/format.h"
#include "storage/index_fences.h"
#include "storage/internal_iterator.h"

namespace ebb {

inline constexpr uint64_t kSegmentMagic = 0x4745534242450a00ULL;  // "\0\nEBBSEG"
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr size_t kSegmentFooterBytes = 64;
inline constexpr size_t kBlockTrailerBytes = 5;

struct SegmentOptions {
  size_t block_bytes = 4096;
  int restart_interval = 16;
  int bloom_bits_per_key = 10;
  bool zstd = false;
  int zstd_level = 1;
};

struct SegmentProperties {
  uint64_t db_id = 0;
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t key_bytes = 0;    // user key bytes of all entries
  uint64_t value_bytes = 0;  // value bytes of all entries
  std::string smallest_key;  // user keys
  std::string largest_key;
  SequenceNumber smallest_seq = 0;
  SequenceNumber largest_seq = 0;
  uint64_t data_blocks = 0;
  int64_t created_unix_micros = 0;
  // The deadlines of the values with an expiry. Absent from segments
  // written before Ebb stored expiries (read as none).
  ExpiryProfile expiry;

  void EncodeTo(std::string* dst) const;
  bool DecodeFrom(std::string_view input);
};

class SegmentWriter {
 public:
  SegmentWriter(std::unique_ptr<WritableFile> file, std::string path, SegmentOptions options, uint64_t db_id,
                int64_t created_unix_micros);

  // Internal keys must come in increasing order.
  Status Add(std::string_view internal_key, std::string_view value);
  // Writes filter, index, properties and footer, syncs and closes the file.
  Result<SegmentProperties> Finish();
  // Bytes written so far (data blocks).
  uint64_t FileSize() const { return offset_; }
  // Hash64 of every byte written (after Finish: of the whole file), the
  // content checksum tiering names segments by.
  uint64_t FileChecksum() const { return hash_.Digest(); }
  uint64_t entries() const { return props_.entries; }
  const std::string& path() const { return path_; }

 private:
  Status FlushDataBlock();
  Status WriteBlock(std::string_view contents, bool allow_compression, BlockHandle* handle);

  std::unique_ptr<WritableFile> file_;
  const std::string path_;
  const SegmentOptions options_;
  SegmentProperties props_;
  std::vector<int64_t> deadlines_;  // of the values with an expiry, for props_.expiry
  BlockBuilder data_;
  BlockBuilder index_{1};
  BloomBuilder bloom_;
  std::string last_key_;
  uint64_t offset_ = 0;
  Hash64Stream hash_;
  std::string compressed_;
  bool finished_ = false;
};

class Segment : public std::enable_shared_from_this<Segment> {
 public:
  // Opens a segment file and reads its footer, index, filter and properties.
  static Result<std::shared_ptr<Segment>> Open(FileSystem* fs, const std::string& path, uint64_t number);

  // The newest entry for user_key with sequence <= seq. OK(false) if none.
  Result<bool> Get(std::string_view user_key, SequenceNumber seq, std::string* value, ValueType* type) const;
  // The same with the key's BloomHash computed by the caller (once for all
  // the segments a read looks at).
  Result<bool> Get(std::string_view user_key, uint64_t bloom_hash, SequenceNumber seq, std::string* value,
                   ValueType* type) const;
  // The same without consulting the filter, for a caller whose copy of it
  // (SegmentFile's resident filter) already said the key may be here.
  Result<bool> GetPastFilter(std::string_view user_key, SequenceNumber seq, std::string* value,
                             ValueType* type) const;

  // False means the key is certainly not in this segment.
  bool MayContain(std::string_view user_key) const { return BloomMayContain(filter_, user_key); }
  bool MayContainHash(uint64_t bloom_hash) const { return BloomMayContainHash(filter_, bloom_hash); }
  // Starts loading the filter line MayContainHash(bloom_hash) will read.
  void PrefetchFilter(uint64_t bloom_hash) const { BloomPrefetch(filter_, bloom_hash); }
  // The filter block's contents (what MayContain consults).
  std::string_view filter() const { return filter_; }

  // Iterates all entries; keeps the segment alive.
  std::unique_ptr<InternalIterator> NewIterator() const;

  // Reads every block and checks its checksum.
  Status VerifyChecksums() const;

  // Keeps `pin` (e.g. a pinned tier-cache file this segment was opened
  // from) alive as long as the segment is open.
  void SetPin(std::shared_ptr<void> pin) { pin_ = std::move(pin); }

  const SegmentProperties& properties() const { return props_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t number() const { return number_; }
  const std::string& path() const { return path_; }

  // Reads, verifies and decompresses one block's contents: either owned
  // (read into a buffer) or borrowed from the file's mapping. view() is
  // recomputed on every call, so moving a Contents (which may move a
  // short owned string's bytes) never leaves it dangling.
  struct Contents {
    std::string owned;
    std::string_view borrowed;
    bool is_owned = false;
    std::string_view view() const { return is_owned ? std::string_view(owned) : borrowed; }
  };
  Result<Contents> ReadBlockContents(const BlockHandle& handle, std::string_view what) const;
  // ReadBlockContents, parsed as a sorted block (data and index blocks).
  Result<Block> ReadBlock(const BlockHandle& handle, std::string_view what) const;
  // A data block for a lookup or a scan. From a memory-mapped file, an
  // uncompressed block's checksum is verified on its first read after the
  // segment is opened, not on every read (as a block cache verifies a block
  // once, when it loads it): a lookup then touches the few cache lines it
  // searches, not the whole block.
  Result<Block> ReadDataBlock(const BlockHandle& handle) const;

 private:
  Segment(std::string path, uint64_t number, std::unique_ptr<RandomAccessFile> file, uint64_t file_size);

  const std::string path_;
  const uint64_t number_;
  const std::unique_ptr<RandomAccessFile> file_;
  const uint64_t file_size_;
  Block index_;
  // What point lookups search instead of index_ (nothing if index_ holds a
  // malformed entry: lookups then search index_ and report it).
  std::optional<IndexFences> fences_;
  std::string filter_;
  SegmentProperties props_;
  std::shared_ptr<void> pin_;
  // Memory-mapped files only: one bit per 512 bytes of file, set once the
  // data block starting there has been verified. Only blocks of at least
  // 512 bytes with their trailer use it, so no two share a bit.
  std::unique_ptr<std::atomic<uint64_t>[]> verified_;
};


// Filter files (docs/format.md, "Filter files"): an evicted segment's
// filter block, kept locally so a point read fetches only the evicted
// segments that may hold its key. Layout: filter bytes, then a 16-byte
// trailer: fixed32 version, fixed32 Checksum32(filter + version), fixed64
// magic.
inline constexpr uint64_t kFilterFileMagic = 0x544c494642424500ULL;  // "\0EBBFILT"
inline constexpr uint32_t kFilterFileVersion = 1;
// Writes `filter` to `path` atomically (temporary file, sync, rename).
Status WriteFilterFile(FileSystem* fs, const std::string& path, std::string_view filter);
// Reads and verifies a filter file: Corruption on a bad checksum or magic,
// NotSupported on an unknown version.
Result<std::string> ReadFilterFile(FileSystem* fs, const std::string& path);

}  // namespace ebb

#endif  // EBB_STORAGE_SEGMENT_H_
