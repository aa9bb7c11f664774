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
// A mapped log (FileSystem::NewMappedLogFile) that was not finished ends in
// the zero bytes it had reserved; in the last file, zeros from where a
// record would start to an end at a multiple of kMappedLogChunkBytes are the
// end of the log, and a file of nothing but zeros is an empty log.
//
// Recovery rule: damage in the *last* file of a log is a torn tail — the
// records being written when the process or machine died — if no intact
// record follows it; the reader stops there and reports how many bytes it
// dropped. Damage anywhere else (an older file, or followed by intact
// records) is Corruption naming the file and offset, because skipping it
// would silently lose acknowledged data.

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

class RecordLogWriter {
 public:
  // Takes ownership of an empty file and writes the file header.
  static Result<std::unique_ptr<RecordLogWriter>> Create(std::unique_ptr<WritableFile> file, std::string path,
                                                         uint64_t magic, uint32_t version);

  // Appends one record (buffered; call Flush or Sync).
  Status AddRecord(uint8_t type, std::string_view payload);
  // Appends a pre-framed run of records built with EncodeRecord.
  Status AddEncoded(std::string_view records);
  Status Flush() { return file_->Flush(); }
  Status Sync() { return file_->Sync(); }
  Status Close() { return file_->Close(); }
  uint64_t size() const { return file_->Size(); }
  const std::string& path() const { return path_; }

  // Frames one record onto *dst.
  static void EncodeRecord(std::string* dst, uint8_t type, std::string_view payload);
  // The same without copying a payload built elsewhere: BeginRecord reserves
  // the header on *dst and returns where the record starts; the caller
  // appends the payload; FinishRecord fills in the header.
  static size_t BeginRecord(std::string* dst);
  static void FinishRecord(std::string* dst, size_t start, uint8_t type);

 private:
  RecordLogWriter(std::unique_ptr<WritableFile> file, std::string path)
      : file_(std::move(file)), path_(std::move(path)) {}
  std::unique_ptr<WritableFile> file_;
  std::string path_;
};

class RecordLogReader {
 public:
  // Reads the whole file. `what` names the log in errors ("journal file").
  // `is_last_file` enables torn-tail tolerance.
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
  // Offset just past the last intact record.
  uint64_t valid_end() const { return pos_; }
  const std::string& path() const { return path_; }

 private:
  RecordLogReader(std::string path, std::string what, std::string data, bool is_last_file)
      : path_(std::move(path)), what_(std::move(what)), data_(std::move(data)), is_last_file_(is_last_file) {}

  enum class Parse { kOk, kIncomplete, kBadHeader, kBadPayload };
  Parse ParseAt(size_t pos, uint8_t* type, std::string_view* payload, size_t* next) const;
  // True if an intact record starts anywhere in (pos, end).
  bool IntactRecordAfter(size_t pos) const;
  Result<bool> Damage(size_t pos, const std::string& what_happened);

  const std::string path_;
  const std::string what_;
  const std::string data_;
  const bool is_last_file_;
  size_t pos_ = kRecordLogHeaderBytes;
  uint64_t record_offset_ = 0;
  uint64_t torn_offset_ = 0;
  uint64_t torn_bytes_ = 0;
  uint64_t zero_tail_bytes_ = 0;
  bool done_ = false;
};

}  // namespace ebb

#endif  // EBB_STORAGE_RECORD_LOG_H_
