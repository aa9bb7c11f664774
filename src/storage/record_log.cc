#include "storage/record_log.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

std::string FileHeader(uint64_t magic, uint32_t version) {
  std::string h;
  PutFixed64(&h, magic);
  PutFixed32(&h, version);
  PutFixed32(&h, Checksum32(h));
  return h;
}

}  // namespace

Result<std::unique_ptr<RecordLogWriter>> RecordLogWriter::Create(std::unique_ptr<WritableFile> file, std::string path,
                                                                 uint64_t magic, uint32_t version) {
  EBB_RETURN_IF_ERROR(file->Append(FileHeader(magic, version)));
  return std::unique_ptr<RecordLogWriter>(new RecordLogWriter(std::move(file), std::move(path), version));
}

size_t RecordLogWriter::BeginRecord(std::string* dst, uint64_t durable_through) {
  size_t start = dst->size();
  dst->append(kRecordHeaderBytes, '\0');
  PutVarint64(dst, durable_through);
  return start;
}

void RecordLogWriter::FinishRecord(std::string* dst, size_t start, uint8_t type) {
  char* header = dst->data() + start;
  std::string_view payload(header + kRecordHeaderBytes, dst->size() - start - kRecordHeaderBytes);
  EncodeFixed32(header + 4, static_cast<uint32_t>(payload.size()));
  header[8] = static_cast<char>(type);
  EncodeFixed32(header + 9, Checksum32(payload));
  EncodeFixed32(header, Checksum32(std::string_view(header + 4, 9)));
}

Status RecordLogWriter::AddRecord(uint8_t type, std::string_view payload) {
  if (payload.size() > kMaxRecordPayloadBytes) {
    return Status::InvalidArgument(fmt::format("{}: record of {} bytes exceeds the {} byte limit", path_,
                                               payload.size(), kMaxRecordPayloadBytes));
  }
  std::string framed;
  framed.reserve(kRecordHeaderBytes + 10 + payload.size());
  size_t start = 0;
  if (claims_) {
    start = BeginRecord(&framed, durable_through_);
  } else {
    framed.append(kRecordHeaderBytes, '\0');
  }
  framed.append(payload.data(), payload.size());
  FinishRecord(&framed, start, type);
  return file_->Append(framed);
}

Status RecordLogWriter::Sync() {
  const uint64_t size = file_->Size();
  EBB_RETURN_IF_ERROR(file_->Sync());
  durable_through_ = size;
  return Status::OK();
}

Result<std::unique_ptr<RecordLogReader>> RecordLogReader::Open(FileSystem* fs, const std::string& path,
                                                               std::string what, uint64_t magic, uint32_t version,
                                                               bool is_last_file) {
  EBB_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, path));
  const bool all_zero = std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
  if (data.size() < kRecordLogHeaderBytes || (is_last_file && all_zero)) {
    if (is_last_file) {
      // Created but the header never reached the disk (or, for a mapped log,
      // only space it reserved did, whole or in part): an empty log.
      auto reader = std::unique_ptr<RecordLogReader>(new RecordLogReader(path, std::move(what), "", true, version));
      (all_zero ? reader->zero_tail_bytes_ : reader->torn_bytes_) = data.size();
      reader->done_ = true;
      reader->pos_ = 0;
      return reader;
    }
    return Status::Corruption(fmt::format("{} {}: {} bytes is shorter than the file header", what, path, data.size()));
  }
  std::string_view header(data.data(), kRecordLogHeaderBytes);
  uint64_t got_magic = DecodeFixed64(header.data());
  uint32_t got_version = DecodeFixed32(header.data() + 8);
  uint32_t got_checksum = DecodeFixed32(header.data() + 12);
  if (Checksum32(header.substr(0, 12)) != got_checksum) {
    return Status::Corruption(fmt::format("{} {} offset 0: file header checksum mismatch", what, path));
  }
  if (got_magic != magic) {
    return Status::Corruption(
        fmt::format("{} {}: magic 0x{:016x} is not 0x{:016x}; not a {}", what, path, got_magic, magic, what));
  }
  if (got_version < 1 || got_version > version) {
    return Status::NotSupported(fmt::format(
        "{} {}: format version {} is not supported (this Ebb reads versions 1 to {}; a newer Ebb wrote it)", what,
        path, got_version, version));
  }
  return std::unique_ptr<RecordLogReader>(
      new RecordLogReader(path, std::move(what), std::move(data), is_last_file, got_version));
}

RecordLogReader::Parse RecordLogReader::ParseAt(size_t pos, uint8_t* type, std::string_view* payload,
                                                size_t* next) const {
  if (data_.size() - pos < kRecordHeaderBytes) return Parse::kIncomplete;
  const char* h = data_.data() + pos;
  if (Checksum32(std::string_view(h + 4, 9)) != DecodeFixed32(h)) return Parse::kBadHeader;
  uint32_t length = DecodeFixed32(h + 4);
  if (length > kMaxRecordPayloadBytes) return Parse::kBadHeader;
  if (data_.size() - pos - kRecordHeaderBytes < length) return Parse::kIncomplete;
  std::string_view body(h + kRecordHeaderBytes, length);
  if (Checksum32(body) != DecodeFixed32(h + 9)) return Parse::kBadPayload;
  *type = static_cast<uint8_t>(h[8]);
  *payload = body;
  *next = pos + kRecordHeaderBytes + length;
  return Parse::kOk;
}

size_t RecordLogReader::IntactRecordAfter(size_t pos) const {
  for (size_t p = pos + 1; p + kRecordHeaderBytes <= data_.size(); p++) {
    uint8_t type;
    std::string_view payload;
    size_t next;
    if (ParseAt(p, &type, &payload, &next) == Parse::kOk) return p;
  }
  return 0;
}

bool RecordLogReader::TakeClaim(std::string_view* payload, uint64_t* claim) const {
  *claim = 0;
  if (version_ < kRecordLogClaimsVersion) return true;
  return GetVarint64(payload, claim);
}

void RecordLogReader::ScanIntact(size_t from, uint64_t* records, uint64_t* max_claim) const {
  *records = 0;
  *max_claim = 0;
  size_t pos = from;
  while (pos != 0 && pos < data_.size()) {
    uint8_t type;
    std::string_view payload;
    size_t next;
    if (ParseAt(pos, &type, &payload, &next) != Parse::kOk) {
      pos = IntactRecordAfter(pos);
      continue;
    }
    uint64_t claim;
    if (TakeClaim(&payload, &claim)) *max_claim = std::max(*max_claim, claim);
    ++*records;
    pos = next;
  }
}

Result<bool> RecordLogReader::Damage(size_t pos, const std::string& what_happened) {
  done_ = true;
  const size_t intact_after = IntactRecordAfter(pos);
  if (is_last_file_ && intact_after == 0) {
    torn_offset_ = pos;
    torn_bytes_ = data_.size() - pos;
    return false;
  }
  if (is_last_file_ && version_ >= kRecordLogClaimsVersion) {
    uint64_t records = 0, claim_after = 0;
    ScanIntact(intact_after, &records, &claim_after);
    const uint64_t durable = std::max(max_claim_, claim_after);
    if (pos >= durable) {
      // A power loss's hole: nothing from here on was known durable.
      torn_offset_ = pos;
      torn_bytes_ = data_.size() - pos;
      records_after_hole_ = records;
      return false;
    }
    return Status::Corruption(fmt::format(
        "{} {} offset {}: {}; a later record says the file was synced up to offset {}, so this is damage to "
        "synced data, not a power loss, and recovery stops rather than silently drop acknowledged writes (restore "
        "the file or the data directory from a backup)",
        what_, path_, pos, what_happened, durable));
  }
  const char* why = intact_after != 0
                        ? "intact data follows the damage"
                        : "the file is not the newest (older files are synced before the next one starts)";
  return Status::Corruption(fmt::format(
      "{} {} offset {}: {}; {}, so this is not a torn tail and recovery stops rather than silently drop "
      "acknowledged writes (restore the file or the data directory from a backup)",
      what_, path_, pos, what_happened, why));
}

Result<bool> RecordLogReader::Next(uint8_t* type, std::string_view* payload) {
  if (done_ || pos_ >= data_.size()) return false;
  size_t next = 0;
  const Parse parse = ParseAt(pos_, type, payload, &next);
  if (is_last_file_ && (parse == Parse::kIncomplete || parse == Parse::kBadHeader) &&
      IsMappedLogZeroTail(data_, pos_)) {
    // Space a mapped log had reserved past its last record when the process
    // stopped without finishing it: the end of the log, not damage. Only the
    // newest file can be in that state (older ones were finished: trimmed
    // and synced before the next one started).
    zero_tail_bytes_ = data_.size() - pos_;
    done_ = true;
    return false;
  }
  switch (parse) {
    case Parse::kOk: {
      uint64_t claim;
      if (!TakeClaim(payload, &claim)) {
        return Damage(pos_, "record payload does not start with its durable offset");
      }
      max_claim_ = std::max(max_claim_, claim);
      record_offset_ = pos_;
      pos_ = next;
      return true;
    }
    case Parse::kIncomplete:
      return Damage(pos_, "record is cut short by the end of the file");
    case Parse::kBadHeader:
      return Damage(pos_, "record header checksum mismatch");
    case Parse::kBadPayload: {
      uint32_t expected = DecodeFixed32(data_.data() + pos_ + 9);
      uint32_t length = DecodeFixed32(data_.data() + pos_ + 4);
      uint32_t got = Checksum32(std::string_view(data_.data() + pos_ + kRecordHeaderBytes, length));
      return Damage(pos_, fmt::format("record payload checksum mismatch (expected 0x{:08x}, got 0x{:08x})",
                                      expected, got));
    }
  }
  return Status::Internal("unreachable");
}

}  // namespace ebb
