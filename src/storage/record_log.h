// Record log: the framing shared by the journal and the manifest
// (docs/format.md, "Record log"). A file is a 16-byte header (magic,
// version, checksum) followed by records:
//
//   fixed32 header_checksum   Checksum32 of the next 9 bytes
//   fixed32 payload_length
//   u8      type
//   fixed32 payload_checksum  Checksum32 of the payload
//   payload
//
// The header checksum guards the length, so a damaged length is detected
// instead of being followed into garbage.
//
// From format version 2 of a log (kRecordLogClaimsVersion), every payload
// starts with a varint64 *durable_through*: the file offset up to which the
// writer knew the file was durable (synced) when it wrote the record. Next()
// strips it. It lets recovery tell a hole left by a power loss (pages of
// unsynced records that never reached the disk, with later ones that did)
// from damage to data that had been synced.
//
// A mapped log (FileSystem::NewMappedLogFile) that was not finished ends in
// the zero bytes it had reserved; in the last file, zeros from where a
// record would start to an end at a multiple of kMappedLogChunkBytes are the
// end of the log, and a file of nothing but zeros is an empty log.
//
// Recovery rule: damage in the *last* file of a log is a torn tail — the
// records being written when the process or machine died — if no intact
// record follows it; the reader stops there and reports how many bytes it
// dropped. Damage in the last file followed by intact records is a power
// loss's hole if it lies at or past every offset any intact record of the
// file claims was durable: everything from the hole on was written after
// the last completed sync, so the reader stops at the hole (point-in-time
// recovery) and reports the records it dropped. Damage anywhere else (an
// older file, or before an offset known durable) is Corruption naming the
// file and offset, because skipping it would silently lose data that was
// synced.

#ifndef EBB_STORAGE_RECORD_LOG_H_
#define EBB_STORAGE_RECORD_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "env/file_system.h"

namespace ebb {

inline constexpr size_t kRecordLogHeaderBytes = 16;
inline constexpr size_t kRecordHeaderBytes = 13;
// A record payload may not exceed this (a write batch is bounded well below).
inline constexpr uint32_t kMaxRecordPayloadBytes = 1u << 30;
// The first format version whose payloads start with durable_through.
inline constexpr uint32_t kRecordLogClaimsVersion = 2;

class RecordLogWriter {
 public:
  // Takes ownership of an empty file and writes the file header.
  static Result<std::unique_ptr<RecordLogWriter>> Create(std::unique_ptr<WritableFile> file, std::string path,
                                                         uint64_t magic, uint32_t version);

  // Appends one record (buffered; call Flush or Sync), its payload
  // prefixed (from kRecordLogClaimsVersion on) with the offset the last
  // successful Sync made durable.
  Status AddRecord(uint8_t type, std::string_view payload);
  Status Flush() { return file_->Flush(); }
  Status Sync();
  Status Close() { return file_->Close(); }
  uint64_t size() const { return file_->Size(); }
  const std::string& path() const { return path_; }

  // Frames one record onto *dst without copying a payload built elsewhere:
  // BeginRecord reserves the header on *dst, appends durable_through and
  // returns where the record starts; the caller appends the payload;
  // FinishRecord fills in the header.
  static size_t BeginRecord(std::string* dst, uint64_t durable_through);
  static void FinishRecord(std::string* dst, size_t start, uint8_t type);

 private:
  RecordLogWriter(std::unique_ptr<WritableFile> file, std::string path, uint32_t version)
      : file_(std::move(file)), path_(std::move(path)), claims_(version >= kRecordLogClaimsVersion) {}
  std::unique_ptr<WritableFile> file_;
  std::string path_;
  const bool claims_;  // payloads start with durable_through
  uint64_t durable_through_ = 0;  // file offset the last successful Sync covered
};

class RecordLogReader {
 public:
  // Reads the whole file. `what` names the log in errors ("journal file").
  // Versions 1 to `version` are read. `is_last_file` enables torn-tail and
  // power-loss-hole tolerance.
  static Result<std::unique_ptr<RecordLogReader>> Open(FileSystem* fs, const std::string& path, std::string what,
                                                       uint64_t magic, uint32_t version, bool is_last_file);

  // Next record. Returns false at the end (including at a torn tail);
  // Corruption for damage that is not a torn tail.
  Result<bool> Next(uint8_t* type, std::string_view* payload);

  // Offset of the record last returned by Next.
  uint64_t record_offset() const { return record_offset_; }
  // Where a torn tail started and how many bytes it held (0 if none).
  uint64_t torn_tail_offset() const { return torn_offset_; }
  uint64_t torn_tail_bytes() const { return torn_bytes_; }
  // Bytes of zeros a mapped log had reserved past its last record, found
  // where the next record would start (IsMappedLogZeroTail): the log ends
  // there. 0 if none.
  uint64_t zero_tail_bytes() const { return zero_tail_bytes_; }
  // Intact records after a power loss's hole that recovery dropped (see the
  // recovery rule; their bytes are counted in torn_tail_bytes).
  uint64_t records_after_hole() const { return records_after_hole_; }
  // Offset just past the last intact record.
  uint64_t valid_end() const { return pos_; }
  uint32_t version() const { return version_; }
  const std::string& path() const { return path_; }

 private:
  RecordLogReader(std::string path, std::string what, std::string data, bool is_last_file, uint32_t version)
      : path_(std::move(path)),
        what_(std::move(what)),
        data_(std::move(data)),
        is_last_file_(is_last_file),
        version_(version) {}

  enum class Parse { kOk, kIncomplete, kBadHeader, kBadPayload };
  Parse ParseAt(size_t pos, uint8_t* type, std::string_view* payload, size_t* next) const;
  // The first offset in (pos, end) where an intact record starts, or 0.
  size_t IntactRecordAfter(size_t pos) const;
  // Splits durable_through off a payload (version >= kRecordLogClaimsVersion).
  bool TakeClaim(std::string_view* payload, uint64_t* claim) const;
  // The intact records from `from` on (skipping damage between them): how
  // many, and the largest durable_through they carry.
  void ScanIntact(size_t from, uint64_t* records, uint64_t* max_claim) const;
  Result<bool> Damage(size_t pos, const std::string& what_happened);

  const std::string path_;
  const std::string what_;
  const std::string data_;
  const bool is_last_file_;
  const uint32_t version_;
  size_t pos_ = kRecordLogHeaderBytes;
  uint64_t max_claim_ = 0;  // largest durable_through of the records read
  uint64_t record_offset_ = 0;
  uint64_t torn_offset_ = 0;
  uint64_t torn_bytes_ = 0;
  uint64_t zero_tail_bytes_ = 0;
  uint64_t records_after_hole_ = 0;
  bool done_ = false;
};

}  // namespace ebb

#endif  // EBB_STORAGE_RECORD_LOG_H_
