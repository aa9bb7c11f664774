#include "tiering/snapshot_log.h"

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

// Bounds a record so a corrupted length cannot make the parser allocate
// gigabytes: 1 MiB holds ~100,000 segment ids.
constexpr uint32_t kMaxRecordBytes = 1 << 20;
constexpr uint32_t kLengthMask = 0xa282ead8u;  // stored length = length ^ mask (zeros never parse)

std::string EncodeRecord(const SnapshotRecord& r) {
  std::string body;
  body.push_back(static_cast<char>(r.event));
  PutFixed64(&body, static_cast<uint64_t>(r.wall_micros));
  PutVarint64(&body, r.epoch);
  PutLengthPrefixed(&body, r.archive);
  PutVarint64(&body, r.archive_bytes);
  PutVarint64(&body, r.segment_ids.size());
  for (uint64_t id : r.segment_ids) PutVarint64(&body, id);
  PutVarint64(&body, r.tombstones.size());
  for (const auto& t : r.tombstones) {
    PutLengthPrefixed(&body, t.database);
    PutVarint64(&body, t.sequence);
  }
  PutLengthPrefixed(&body, r.detail);
  return body;
}

bool DecodeRecord(std::string_view in, SnapshotRecord* r) {
  if (in.empty()) return false;
  auto event = static_cast<uint8_t>(in[0]);
  if (event < 1 || event > 9) return false;
  r->event = static_cast<SnapshotEvent>(event);
  in.remove_prefix(1);
  uint64_t wall, n;
  std::string_view archive, detail;
  if (!GetFixed64(&in, &wall) || !GetVarint64(&in, &r->epoch) || !GetLengthPrefixed(&in, &archive) ||
      !GetVarint64(&in, &r->archive_bytes) || !GetVarint64(&in, &n) || n > in.size()) {
    return false;
  }
  r->wall_micros = static_cast<int64_t>(wall);
  r->archive = archive;
  r->segment_ids.resize(n);
  for (auto& id : r->segment_ids) {
    if (!GetVarint64(&in, &id)) return false;
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  r->tombstones.resize(n);
  for (auto& t : r->tombstones) {
    std::string_view db;
    if (!GetLengthPrefixed(&in, &db) || !GetVarint64(&in, &t.sequence)) return false;
    t.database = db;
  }
  if (!GetLengthPrefixed(&in, &detail)) return false;
  r->detail = detail;
  return in.empty();
}

void Apply(const SnapshotRecord& r, SnapshotState* s) {
  if (s->records == 0) s->started_wall_micros = r.wall_micros;
  s->records++;
  s->updated_wall_micros = r.wall_micros;
  s->detail = r.detail;
  if (r.event == SnapshotEvent::kEvicting) {
    s->evicted_segment_ids.insert(s->evicted_segment_ids.end(), r.segment_ids.begin(), r.segment_ids.end());
    // Eviction is bookkeeping after the fact; it does not move a snapshot back.
    if (s->state < SnapshotEvent::kEvicting) s->state = SnapshotEvent::kEvicting;
    return;
  }
  if (r.event == SnapshotEvent::kArchived && s->state >= SnapshotEvent::kArchived) s->upload_attempts++;
  s->state = r.event;
  if (r.epoch != 0) s->epoch = r.epoch;
  if (!r.archive.empty()) s->archive = r.archive;
  if (r.archive_bytes != 0) s->archive_bytes = r.archive_bytes;
  if (r.event == SnapshotEvent::kStarted) {
    s->segment_ids = r.segment_ids;
    s->tombstones = r.tombstones;
  }
}

}  // namespace

std::string_view SnapshotEventName(SnapshotEvent event) {
  switch (event) {
    case SnapshotEvent::kStarted: return "started";
    case SnapshotEvent::kArchived: return "archived";
    case SnapshotEvent::kUploaded: return "uploaded";
    case SnapshotEvent::kVerified: return "verified";
    case SnapshotEvent::kIndexed: return "indexed";
    case SnapshotEvent::kPublished: return "published";
    case SnapshotEvent::kEvicting: return "evicting";
    case SnapshotEvent::kDone: return "done";
    case SnapshotEvent::kAborted: return "aborted";
  }
  return "unknown";
}

SnapshotLogWriter::SnapshotLogWriter(std::string path, std::unique_ptr<WritableFile> file)
    : path_(std::move(path)), file_(std::move(file)) {}
SnapshotLogWriter::~SnapshotLogWriter() {
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<SnapshotLogWriter>> SnapshotLogWriter::Open(FileSystem* fs, const std::string& path,
                                                                   uint64_t valid_bytes) {
  if (valid_bytes != UINT64_MAX && fs->FileExists(path)) {
    EBB_ASSIGN_OR_RETURN(uint64_t size, fs->GetFileSize(path));
    if (size > valid_bytes) {
      EBB_RETURN_IF_ERROR(fs->TruncateFile(path, valid_bytes)
                              .WithContext(fmt::format("snapshot log {}: cut the torn tail at offset {}", path,
                                                       valid_bytes)));
    }
  }
  EBB_ASSIGN_OR_RETURN(auto file, fs->NewAppendableFile(path));
  return std::unique_ptr<SnapshotLogWriter>(new SnapshotLogWriter(path, std::move(file)));
}

Status SnapshotLogWriter::Append(const SnapshotRecord& record) {
  std::string body = EncodeRecord(record);
  if (body.size() > kMaxRecordBytes) {
    return Status::InvalidArgument(fmt::format("snapshot log {}: record of {} bytes is over the {} byte limit", path_,
                                               body.size(), kMaxRecordBytes));
  }
  std::string frame;
  PutFixed32(&frame, static_cast<uint32_t>(body.size()) ^ kLengthMask);
  PutFixed32(&frame, Checksum32(body));
  frame += body;
  EBB_RETURN_IF_ERROR(file_->Append(frame).WithContext(fmt::format("snapshot log {}", path_)));
  return file_->Sync().WithContext(fmt::format("snapshot log {}", path_));
}

Result<SnapshotState> ParseSnapshotLogBytes(std::string_view data, const std::string& name) {
  SnapshotState state;
  std::string base = BaseName(name);
  state.snapshot_id = base.size() > 4 && base.ends_with(".log") ? base.substr(0, base.size() - 4) : base;
  size_t offset = 0;
  while (offset < data.size()) {
    if (data.size() - offset < 8) {
      state.torn_tail = true;
      break;
    }
    uint32_t length = DecodeFixed32(data.data() + offset) ^ kLengthMask;
    uint32_t checksum = DecodeFixed32(data.data() + offset + 4);
    if (length > kMaxRecordBytes) {
      // The writer never frames a record this long, so this is damage, not a
      // torn write (which leaves a true prefix of a valid frame).
      return Status::Corruption(fmt::format("snapshot log {}: bad record length {} at offset {}", name, length, offset));
    }
    if (length > data.size() - offset - 8) {
      state.torn_tail = true;
      break;
    }
    std::string_view body = data.substr(offset + 8, length);
    bool last = offset + 8 + length == data.size();
    SnapshotRecord record;
    if (Checksum32(body) != checksum || !DecodeRecord(body, &record)) {
      if (last) {
        state.torn_tail = true;
        break;
      }
      return Status::Corruption(fmt::format(
          "snapshot log {}: checksum mismatch in the record at offset {}; the snapshot's state cannot be trusted: "
          "inspect it, then delete the log (its segments stay local and are persisted again)",
          name, offset));
    }
    Apply(record, &state);
    offset += 8 + length;
    state.valid_bytes = offset;
  }
  if (state.records == 0) {
    return Status::NotFound(fmt::format("snapshot log {}: no complete record", name));
  }
  return state;
}

Result<SnapshotState> ParseSnapshotLog(FileSystem* fs, const std::string& path) {
  EBB_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, path));
  return ParseSnapshotLogBytes(data, path);
}

}  // namespace ebb
