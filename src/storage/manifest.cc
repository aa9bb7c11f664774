#include "storage/manifest.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/coding.h"
#include "base/logging.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

constexpr uint8_t kRecordSnapshot = 1;
constexpr uint8_t kRecordEdit = 2;

enum Op : uint8_t {
  kOpCreateDb = 1,
  kOpDropDb = 2,
  kOpAddSegment = 3,
  kOpRemoveSegment = 4,
  kOpSetFlushed = 5,
  kOpSetCompacted = 6,
  kOpSetDeadBytes = 7,
  kOpAddCounters = 8,
  kOpNextFileNumber = 9,
  kOpNextDbId = 10,
  kOpSetEvicted = 11,
  kOpRememberDropped = 12,
  kOpForgetDropped = 13,
  kOpSetChecksum = 14,
  kOpSetExpiry = 15,
};

void EncodeSegment(std::string* dst, const SegmentMeta& m) {
  PutVarint64(dst, m.db_id);
  PutVarint64(dst, m.number);
  PutVarint64(dst, m.file_size);
  PutVarint64(dst, m.entries);
  PutVarint64(dst, m.tombstones);
  PutVarint64(dst, m.key_bytes);
  PutVarint64(dst, m.value_bytes);
  PutLengthPrefixed(dst, m.smallest_key);
  PutLengthPrefixed(dst, m.largest_key);
  PutVarint64(dst, m.smallest_seq);
  PutVarint64(dst, m.largest_seq);
  PutVarint64(dst, m.dead_bytes);
  PutFixed64(dst, static_cast<uint64_t>(m.created_unix_micros));
}

bool DecodeSegment(std::string_view* in, SegmentMeta* m) {
  std::string_view smallest, largest;
  uint64_t created = 0;
  bool ok = GetVarint64(in, &m->db_id) && GetVarint64(in, &m->number) && GetVarint64(in, &m->file_size) &&
            GetVarint64(in, &m->entries) && GetVarint64(in, &m->tombstones) && GetVarint64(in, &m->key_bytes) &&
            GetVarint64(in, &m->value_bytes) && GetLengthPrefixed(in, &smallest) && GetLengthPrefixed(in, &largest) &&
            GetVarint64(in, &m->smallest_seq) && GetVarint64(in, &m->largest_seq) && GetVarint64(in, &m->dead_bytes) &&
            GetFixed64(in, &created);
  if (!ok) return false;
  m->smallest_key.assign(smallest);
  m->largest_key.assign(largest);
  m->created_unix_micros = static_cast<int64_t>(created);
  return true;
}

void SortNewestFirst(std::vector<SegmentMeta>* segments) {
  std::sort(segments->begin(), segments->end(),
            [](const SegmentMeta& a, const SegmentMeta& b) { return a.largest_seq > b.largest_seq; });
}

}  // namespace

void ManifestEdit::CreateDatabase(uint64_t id, std::string name) {
  ops_.push_back(kOpCreateDb);
  PutVarint64(&ops_, id);
  PutLengthPrefixed(&ops_, name);
}

void ManifestEdit::DropDatabase(uint64_t id) {
  ops_.push_back(kOpDropDb);
  PutVarint64(&ops_, id);
}

void ManifestEdit::AddSegment(const SegmentMeta& meta) {
  ops_.push_back(kOpAddSegment);
  EncodeSegment(&ops_, meta);
  // The checksum is its own operation, so manifests without it still read.
  if (meta.checksum != 0) SetChecksum(meta.db_id, meta.number, meta.checksum);
  // So is the expiry summary, written only for segments that have one.
  if (!meta.expiry.empty()) SetExpiry(meta.db_id, meta.number, meta.expiry);
}

void ManifestEdit::RemoveSegment(uint64_t db_id, uint64_t number) {
  ops_.push_back(kOpRemoveSegment);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, number);
}

void ManifestEdit::SetFlushed(uint64_t db_id, uint64_t log_number, SequenceNumber flushed_seq) {
  ops_.push_back(kOpSetFlushed);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, log_number);
  PutVarint64(&ops_, flushed_seq);
}

void ManifestEdit::SetCompacted(uint64_t db_id, SequenceNumber compacted_seq, bool live_exact) {
  ops_.push_back(kOpSetCompacted);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, compacted_seq);
  ops_.push_back(live_exact ? 1 : 0);
}

void ManifestEdit::SetDeadBytes(uint64_t db_id, uint64_t number, uint64_t dead_bytes) {
  ops_.push_back(kOpSetDeadBytes);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, number);
  PutVarint64(&ops_, dead_bytes);
}

void ManifestEdit::SetEvicted(uint64_t db_id, uint64_t number, bool evicted) {
  ops_.push_back(kOpSetEvicted);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, number);
  ops_.push_back(evicted ? 1 : 0);
}

void ManifestEdit::SetExpiry(uint64_t db_id, uint64_t number, const ExpiryProfile& expiry) {
  ops_.push_back(kOpSetExpiry);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, number);
  expiry.EncodeTo(&ops_);
}

void ManifestEdit::SetChecksum(uint64_t db_id, uint64_t number, uint64_t checksum) {
  ops_.push_back(kOpSetChecksum);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, number);
  PutFixed64(&ops_, checksum);
}

void ManifestEdit::RememberDropped(const DroppedDatabase& dropped) {
  ops_.push_back(kOpRememberDropped);
  PutLengthPrefixed(&ops_, dropped.name);
  PutVarint64(&ops_, dropped.last_seq);
}

void ManifestEdit::ForgetDropped(const DroppedDatabase& dropped) {
  ops_.push_back(kOpForgetDropped);
  PutLengthPrefixed(&ops_, dropped.name);
  PutVarint64(&ops_, dropped.last_seq);
}

void ManifestEdit::AddCounters(uint64_t db_id, uint64_t flush_bytes, uint64_t compaction_bytes,
                               uint64_t compactions) {
  ops_.push_back(kOpAddCounters);
  PutVarint64(&ops_, db_id);
  PutVarint64(&ops_, flush_bytes);
  PutVarint64(&ops_, compaction_bytes);
  PutVarint64(&ops_, compactions);
}

Status ManifestEdit::ApplyTo(std::string_view in, ManifestState* state) {
  auto malformed = [](std::string_view what) { return Status::Corruption(fmt::format("malformed {} edit", what)); };
  auto find_db = [&](uint64_t id, std::string_view what) -> Result<DatabaseMeta*> {
    auto it = state->databases.find(id);
    if (it == state->databases.end()) {
      return Status::Corruption(fmt::format("{} edit names database id {} that does not exist", what, id));
    }
    return &it->second;
  };
  while (!in.empty()) {
    uint8_t op = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    switch (op) {
      case kOpCreateDb: {
        uint64_t id;
        std::string_view name;
        if (!GetVarint64(&in, &id) || !GetLengthPrefixed(&in, &name)) return malformed("create-database");
        if (state->databases.count(id)) {
          return Status::Corruption(fmt::format("database id {} created twice", id));
        }
        DatabaseMeta db;
        db.id = id;
        db.name.assign(name);
        state->databases.emplace(id, std::move(db));
        state->next_db_id = std::max(state->next_db_id, id + 1);
        break;
      }
      case kOpDropDb: {
        uint64_t id;
        if (!GetVarint64(&in, &id)) return malformed("drop-database");
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(id, "drop-database"));
        (void)db;
        state->databases.erase(id);
        break;
      }
      case kOpAddSegment: {
        SegmentMeta m;
        if (!DecodeSegment(&in, &m)) return malformed("add-segment");
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(m.db_id, "add-segment"));
        db->segments.push_back(std::move(m));
        SortNewestFirst(&db->segments);
        break;
      }
      case kOpRemoveSegment: {
        uint64_t db_id, number;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &number)) return malformed("remove-segment");
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "remove-segment"));
        size_t before = db->segments.size();
        std::erase_if(db->segments, [&](const SegmentMeta& s) { return s.number == number; });
        if (db->segments.size() == before) {
          return Status::Corruption(fmt::format("remove-segment edit names segment {} not in database id {}", number, db_id));
        }
        break;
      }
      case kOpSetFlushed: {
        uint64_t db_id, log_number, seq;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &log_number) || !GetVarint64(&in, &seq)) {
          return malformed("set-flushed");
        }
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "set-flushed"));
        db->log_number = log_number;
        db->flushed_seq = seq;
        break;
      }
      case kOpSetCompacted: {
        uint64_t db_id, seq;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &seq) || in.empty()) return malformed("set-compacted");
        bool exact = in[0] != 0;
        in.remove_prefix(1);
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "set-compacted"));
        db->compacted_seq = seq;
        db->live_exact = exact;
        break;
      }
      case kOpSetDeadBytes: {
        uint64_t db_id, number, dead;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &number) || !GetVarint64(&in, &dead)) {
          return malformed("set-dead-bytes");
        }
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "set-dead-bytes"));
        for (auto& s : db->segments) {
          if (s.number == number) s.dead_bytes = dead;
        }
        break;
      }
      case kOpAddCounters: {
        uint64_t db_id, flush, compaction, count;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &flush) || !GetVarint64(&in, &compaction) ||
            !GetVarint64(&in, &count)) {
          return malformed("counters");
        }
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "counters"));
        db->flush_bytes_written += flush;
        db->compaction_bytes_written += compaction;
        db->compactions += count;
        break;
      }
      case kOpSetEvicted: {
        uint64_t db_id, number;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &number) || in.empty()) return malformed("set-evicted");
        bool evicted = in[0] != 0;
        in.remove_prefix(1);
        // The segment may have been compacted away since: nothing to mark.
        auto it = state->databases.find(db_id);
        if (it == state->databases.end()) break;
        for (auto& seg : it->second.segments) {
          if (seg.number == number) seg.evicted = evicted;
        }
        break;
      }
      case kOpSetChecksum: {
        uint64_t db_id, number, checksum;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &number) || !GetFixed64(&in, &checksum)) {
          return malformed("set-checksum");
        }
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "set-checksum"));
        for (auto& seg : db->segments) {
          if (seg.number == number) seg.checksum = checksum;
        }
        break;
      }
      case kOpSetExpiry: {
        uint64_t db_id, number;
        ExpiryProfile expiry;
        if (!GetVarint64(&in, &db_id) || !GetVarint64(&in, &number) || !expiry.DecodeFrom(&in)) {
          return malformed("set-expiry");
        }
        EBB_ASSIGN_OR_RETURN(DatabaseMeta * db, find_db(db_id, "set-expiry"));
        for (auto& seg : db->segments) {
          if (seg.number == number) seg.expiry = expiry;
        }
        break;
      }
      case kOpRememberDropped:
      case kOpForgetDropped: {
        std::string_view name;
        DroppedDatabase d;
        if (!GetLengthPrefixed(&in, &name) || !GetVarint64(&in, &d.last_seq)) return malformed("dropped-database");
        d.name.assign(name);
        if (op == kOpRememberDropped) {
          state->dropped.insert(std::move(d));
        } else {
          state->dropped.erase(d);
        }
        break;
      }
      case kOpNextFileNumber: {
        uint64_t n;
        if (!GetVarint64(&in, &n)) return malformed("next-file-number");
        state->next_file_number = std::max(state->next_file_number, n);
        break;
      }
      case kOpNextDbId: {
        uint64_t n;
        if (!GetVarint64(&in, &n)) return malformed("next-database-id");
        state->next_db_id = std::max(state->next_db_id, n);
        break;
      }
      default:
        return Status::Corruption(fmt::format("unknown manifest operation {}", op));
    }
  }
  return Status::OK();
}

std::string ManifestEdit::Snapshot(const ManifestState& state) {
  ManifestEdit e;
  e.ops_.push_back(kOpNextFileNumber);
  PutVarint64(&e.ops_, state.next_file_number);
  e.ops_.push_back(kOpNextDbId);
  PutVarint64(&e.ops_, state.next_db_id);
  for (const auto& [id, db] : state.databases) {
    e.CreateDatabase(id, db.name);
    e.SetFlushed(id, db.log_number, db.flushed_seq);
    e.SetCompacted(id, db.compacted_seq, db.live_exact);
    e.AddCounters(id, db.flush_bytes_written, db.compaction_bytes_written, db.compactions);
    for (const auto& seg : db.segments) {
      e.AddSegment(seg);
      if (seg.evicted) e.SetEvicted(id, seg.number, true);
    }
  }
  for (const auto& d : state.dropped) e.RememberDropped(d);
  return std::move(e.ops_);
}

Manifest::Manifest(FileSystem* fs, std::string data_dir, Options options)
    : fs_(fs), data_dir_(std::move(data_dir)), options_(options) {}

Result<std::unique_ptr<Manifest>> Manifest::Open(FileSystem* fs, std::string data_dir, bool create_if_missing,
                                                 Options options) {
  std::unique_ptr<Manifest> m(new Manifest(fs, std::move(data_dir), options));
  bool created = false;
  EBB_RETURN_IF_ERROR(m->Recover(create_if_missing, &created));
  MutexLock lock(&m->mu_);
  EBB_RETURN_IF_ERROR(m->CheckpointLocked());
  return m;
}

Status Manifest::CreateStore(FileSystem* fs, const std::string& data_dir, const ManifestState& state) {
  if (fs->FileExists(CurrentFileName(data_dir))) {
    return Status::AlreadyExists(fmt::format("{} exists: {} holds a store already", CurrentFileName(data_dir),
                                             data_dir));
  }
  Manifest m(fs, data_dir, Options());
  MutexLock lock(&m.mu_);
  m.state_ = state;
  m.next_file_number_.store(std::max<uint64_t>(state.next_file_number, 2));
  return m.CheckpointLocked();
}

Status Manifest::Recover(bool create_if_missing, bool* created) {
  std::string current_path = CurrentFileName(data_dir_);
  MutexLock lock(&mu_);
  if (!fs_->FileExists(current_path)) {
    // A store is born when CURRENT first appears. Journal or segment files
    // without it mean CURRENT was lost, not that the store is new.
    for (const std::string& dir : {JournalDir(data_dir_), SegmentDir(data_dir_)}) {
      auto children = fs_->GetChildren(dir);
      if (children.ok() && !children->empty()) {
        return Status::Corruption(fmt::format(
            "{} is missing but {} holds {} files; refusing to start an empty store over existing data",
            current_path, dir, children->size()));
      }
    }
    if (!create_if_missing) {
      return Status::NotFound(fmt::format("no Ebb store in {} (CURRENT is missing)", data_dir_));
    }
    *created = true;
    state_ = ManifestState();
    return Status::OK();
  }
  EBB_ASSIGN_OR_RETURN(std::string current, ReadFileToString(fs_, current_path));
  while (!current.empty() && (current.back() == '\n' || current.back() == '\r')) current.pop_back();
  uint64_t number = 0;
  if (!ParseNumberedName(current, "MANIFEST-", "", &number)) {
    return Status::Corruption(fmt::format("{} does not name a manifest file (contents: '{}')", current_path,
                                          current.substr(0, 64)));
  }
  std::string path = ManifestFileName(data_dir_, number);
  EBB_ASSIGN_OR_RETURN(auto reader, RecordLogReader::Open(fs_, path, "manifest", kManifestMagic, kManifestVersion,
                                                          /*is_last_file=*/true));
  ManifestState state;
  bool first = true;
  while (true) {
    uint8_t type;
    std::string_view payload;
    EBB_ASSIGN_OR_RETURN(bool more, reader->Next(&type, &payload));
    if (!more) break;
    if (first && type != kRecordSnapshot) {
      return Status::Corruption(fmt::format("manifest {}: first record is not a snapshot", path));
    }
    if (type != kRecordSnapshot && type != kRecordEdit) {
      return Status::Corruption(fmt::format("manifest {} offset {}: unknown record type {}", path,
                                            reader->record_offset(), type));
    }
    first = false;
    Status s = ManifestEdit::ApplyTo(payload, &state);
    if (!s.ok()) return s.WithContext(fmt::format("manifest {} offset {}", path, reader->record_offset()));
  }
  if (first) return Status::Corruption(fmt::format("manifest {} holds no snapshot record", path));
  if (reader->torn_tail_bytes() > 0) {
    EBB_LOG(kWarn, "manifest {}: ignored a torn tail of {} bytes at offset {} (an edit cut short by a crash)", path,
            reader->torn_tail_bytes(), reader->torn_tail_offset());
  }
  state_ = std::move(state);
  file_number_ = number;
  next_file_number_.store(std::max(state_.next_file_number, number + 1));
  return Status::OK();
}

Status Manifest::CheckpointLocked() {
  uint64_t number = NewFileNumber();
  std::string path = ManifestFileName(data_dir_, number);
  state_.next_file_number = next_file_number_.load();
  // Until CURRENT names it, the new file is not part of the store: a
  // failure before that leaves the current manifest in charge.
  EBB_ASSIGN_OR_RETURN(auto file, fs_->NewWritableFile(path));
  EBB_ASSIGN_OR_RETURN(auto writer, RecordLogWriter::Create(std::move(file), path, kManifestMagic, kManifestVersion));
  EBB_RETURN_IF_ERROR(writer->AddRecord(kRecordSnapshot, ManifestEdit::Snapshot(state_)));
  EBB_RETURN_IF_ERROR(writer->Sync());
  Status swapped = WriteFileAtomically(fs_, fmt::format("MANIFEST-{:06}\n", number), CurrentFileName(data_dir_));
  if (!swapped.ok()) {
    // CURRENT may name either file now: neither may be written to or
    // deleted, and the next open reads whichever it names.
    return Failed(fmt::format("checkpoint: switching {} to {}", CurrentFileName(data_dir_), path), swapped);
  }
  uint64_t old = file_number_;
  checkpoint_bytes_ = writer->size();
  writer_ = std::move(writer);
  file_number_ = number;
  if (old != 0) {
    Status s = fs_->DeleteFile(ManifestFileName(data_dir_, old));
    if (!s.ok() && !s.IsNotFound()) EBB_LOG(kWarn, "could not delete old manifest: {}", s.ToString());
  }
  return Status::OK();
}

Status Manifest::Checkpoint() {
  MutexLock lock(&mu_);
  return CheckpointLocked();
}

Status Manifest::Failed(std::string_view what, const Status& s) {
  writer_.reset();
  if (options_.errors != nullptr) options_.errors->SetMetadataError(fmt::format("manifest {}", what), s);
  return Status(s.code(), fmt::format("manifest {} failed and may or may not have reached the disk: {}; the store "
                                      "is read-only until reopened",
                                      what, s.message()));
}

Status Manifest::Apply(const ManifestEdit& edit) {
  MutexLock lock(&mu_);
  if (writer_ == nullptr) {
    if (options_.errors != nullptr && options_.errors->failed()) return options_.errors->CheckWritable();
    return Status::ReadOnly("the manifest stopped taking edits after an earlier failure; reopen the store");
  }
  std::string payload = edit.ops();
  payload.push_back(kOpNextFileNumber);
  PutVarint64(&payload, next_file_number_.load());
  payload.push_back(kOpNextDbId);
  PutVarint64(&payload, state_.next_db_id);
  Status s = writer_->AddRecord(kRecordEdit, payload);
  if (s.ok()) s = writer_->Flush();
  if (s.ok()) s = writer_->Sync();
  if (!s.ok()) {
    // The file may end in a partial record, or hold the whole edit.
    return Failed(fmt::format("edit of {}", writer_->path()), s);
  }
  Status applied = ManifestEdit::ApplyTo(payload, &state_);
  EBB_CHECK_MSG(applied.ok(), "manifest edit does not apply to the state it was made for: {}", applied.ToString());
  // Edits since the last checkpoint, not the whole file: a state larger
  // than the threshold must not make every edit a checkpoint.
  if (writer_->size() - std::min(writer_->size(), checkpoint_bytes_) > options_.checkpoint_bytes) {
    Status c = CheckpointLocked();
    if (!c.ok()) EBB_LOG(kWarn, "manifest checkpoint: {}", c.ToString());
  }
  return Status::OK();
}

ManifestState Manifest::state() const {
  MutexLock lock(&mu_);
  return state_;
}

bool Manifest::GetDatabase(uint64_t id, DatabaseMeta* out) const {
  MutexLock lock(&mu_);
  auto it = state_.databases.find(id);
  if (it == state_.databases.end()) return false;
  *out = it->second;
  return true;
}

void Manifest::MarkFileNumberUsed(uint64_t number) {
  uint64_t cur = next_file_number_.load();
  while (cur <= number && !next_file_number_.compare_exchange_weak(cur, number + 1)) {
  }
}

uint64_t Manifest::NewDatabaseId() {
  MutexLock lock(&mu_);
  return state_.next_db_id++;
}

uint64_t Manifest::current_file_number() const {
  MutexLock lock(&mu_);
  return file_number_;
}

uint64_t Manifest::bytes_since_checkpoint() const {
  MutexLock lock(&mu_);
  return writer_ ? writer_->size() - std::min(writer_->size(), checkpoint_bytes_) : 0;
}

uint64_t Manifest::file_bytes() const {
  MutexLock lock(&mu_);
  return writer_ ? writer_->size() : 0;
}

}  // namespace ebb
