#include "tiering/persister.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "tiering/bucket_meta.h"

namespace ebb {
namespace {

constexpr char kStagingDir[] = "staging";
constexpr char kSnapshotsDir[] = "snapshots";
constexpr char kLogSuffix[] = ".log";

std::string PublishedKey(const std::string& id) { return fmt::format("snapshots/{}", id); }

}  // namespace

std::string TierIndexPath(const std::string& tier_dir) { return JoinPath(tier_dir, "tier.index"); }

Persister::Persister(FileSystem* fs, ObjectStore* store, const KeyRing* keys, TierIndex* index, const Clock* clock,
                     PersisterOptions options)
    : fs_(fs), store_(store), index_(index), clock_(clock), keys_(keys), options_(std::move(options)) {}

Persister::~Persister() = default;

std::string Persister::StagingPath(const std::string& id) const {
  return JoinPath(JoinPath(options_.tier_dir, kStagingDir), id + ".tar");
}

std::string Persister::LogPath(const std::string& id) const {
  return JoinPath(JoinPath(options_.tier_dir, kSnapshotsDir), id + kLogSuffix);
}

Result<std::unique_ptr<Persister>> Persister::Open(FileSystem* fs, ObjectStore* store, const KeyRing* keys,
                                                   TierIndex* index, const Clock* clock, PersisterOptions options) {
  std::unique_ptr<Persister> p(new Persister(fs, store, keys, index, clock, std::move(options)));
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, JoinPath(p->options_.tier_dir, kStagingDir)));
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, JoinPath(p->options_.tier_dir, kSnapshotsDir)));
  EBB_RETURN_IF_ERROR(p->Recover());
  return p;
}

Status Persister::Recover() {
  std::string dir = JoinPath(options_.tier_dir, kSnapshotsDir);
  EBB_ASSIGN_OR_RETURN(auto names, fs_->GetChildren(dir));
  std::sort(names.begin(), names.end());  // ids sort by creation time
  for (const auto& name : names) {
    if (!name.ends_with(kLogSuffix)) continue;
    EBB_RETURN_IF_ERROR(RecoverOne(JoinPath(dir, name)));
  }
  // Staging files no unfinished snapshot owns are leftovers of a crash.
  std::string staging = JoinPath(options_.tier_dir, kStagingDir);
  EBB_ASSIGN_OR_RETURN(auto staged, fs_->GetChildren(staging));
  for (const auto& name : staged) {
    bool owned = std::any_of(flights_.begin(), flights_.end(),
                             [&](const Flight& f) { return StagingPath(f.state.snapshot_id) == JoinPath(staging, name); });
    if (!owned) (void)fs_->DeleteFile(JoinPath(staging, name));
  }
  TrimFinishedLogs();
  return Status::OK();
}

Status Persister::RecoverOne(const std::string& log_path) {
  auto parsed = ParseSnapshotLog(fs_, log_path);
  if (parsed.status().IsNotFound()) {
    // Died while creating the log: the snapshot never started.
    return fs_->DeleteFile(log_path);
  }
  if (!parsed.ok()) {
    // The snapshot's progress cannot be trusted. Nothing is lost by setting
    // it aside: its segments are local until the index holds them, and the
    // index is saved separately.
    EBB_LOG(kError, "tiering: {}; moved aside as {}.corrupt", parsed.status().ToString(), log_path);
    return fs_->RenameFile(log_path, log_path + ".corrupt");
  }
  SnapshotState state = std::move(parsed).value();
  if (state.torn_tail) EBB_LOG(kWarn, "tiering: snapshot log {} ended in a torn record (ignored)", log_path);
  if (state.finished()) {
    if (!last_finished_ || last_finished_->snapshot_id < state.snapshot_id) last_finished_ = state;
    return Status::OK();
  }
  Flight f;
  f.state = state;
  // A torn tail is cut off before the next record, which must follow the
  // last intact one.
  EBB_ASSIGN_OR_RETURN(f.log, SnapshotLogWriter::Open(fs_, log_path, state.valid_bytes));
  std::string staging = StagingPath(state.snapshot_id);
  if (state.state == SnapshotEvent::kStarted) {
    (void)fs_->DeleteFile(staging);
    return Abort(&f, "the process stopped before the archive was complete; its segments stay local");
  }
  if (state.state < SnapshotEvent::kIndexed) {
    // Verification compares against the local archive, so it must be intact.
    auto size = fs_->GetFileSize(staging);
    Result<ArchiveToc> toc = Status::NotFound("staging archive missing");
    if (size.ok() && *size == state.archive_bytes) {
      if (keys_ == nullptr) {
        toc = Status::Unavailable("no archive key loaded");
      } else {
        toc = ReadArchiveToc(FileRangeReader(fs_, staging), *size, state.archive, *keys_);
      }
    }
    if (!toc.ok()) {
      return Abort(&f, fmt::format("staging archive {} unusable after restart: {}", staging, toc.status().ToString()));
    }
    f.local_toc = std::move(toc).value();
  }
  EBB_LOG(kInfo, "tiering: resuming snapshot {} from state {}", state.snapshot_id, SnapshotEventName(state.state));
  flights_.push_back(std::move(f));
  return Status::OK();
}

Status Persister::Record(Flight* f, SnapshotEvent event, std::string detail) {
  SnapshotRecord r;
  r.event = event;
  r.wall_micros = clock_->WallMicros();
  r.epoch = epoch_;
  r.archive = f->state.archive;
  r.archive_bytes = f->state.archive_bytes;
  r.detail = std::move(detail);
  if (event == SnapshotEvent::kStarted) {
    r.segment_ids = f->state.segment_ids;
    r.tombstones = f->state.tombstones;
  }
  EBB_RETURN_IF_ERROR(f->log->Append(r));
  if (event == SnapshotEvent::kArchived && f->state.state >= SnapshotEvent::kArchived) f->state.upload_attempts++;
  f->state.state = event;
  f->state.detail = r.detail;
  f->state.records++;
  f->state.updated_wall_micros = r.wall_micros;
  return Status::OK();
}

Status Persister::Abort(Flight* f, std::string reason, bool delete_remote) {
  EBB_LOG(kWarn, "tiering: snapshot {} aborted: {}", f->state.snapshot_id, reason);
  (void)fs_->DeleteFile(StagingPath(f->state.snapshot_id));
  if (delete_remote && f->state.state >= SnapshotEvent::kUploaded && f->state.state < SnapshotEvent::kIndexed) {
    // Not referenced by the index; remove it so a rebuild does not index an
    // unverified copy. Best effort: a leftover is verified before any use.
    (void)store_->Delete(ArchiveObjectKey(f->state.archive));
  }
  Status s = Record(f, SnapshotEvent::kAborted, std::move(reason));
  Finish(f);
  return s;
}

void Persister::Finish(Flight* f) {
  last_finished_ = f->state;
  for (auto it = flights_.begin(); it != flights_.end(); ++it) {
    if (&*it == f) {
      flights_.erase(it);
      break;
    }
  }
  TrimFinishedLogs();
}

void Persister::TrimFinishedLogs() {
  std::string dir = JoinPath(options_.tier_dir, kSnapshotsDir);
  auto names = fs_->GetChildren(dir);
  if (!names.ok()) return;
  std::vector<std::string> finished;  // ids, which sort by creation time
  for (const auto& name : *names) {
    if (!name.ends_with(kLogSuffix)) continue;
    std::string id = name.substr(0, name.size() - std::string_view(kLogSuffix).size());
    bool open = std::any_of(flights_.begin(), flights_.end(), [&](const Flight& f) { return f.state.snapshot_id == id; });
    if (!open) finished.push_back(id);
  }
  if (finished.size() <= options_.retain_snapshots) return;
  std::sort(finished.begin(), finished.end());
  const int64_t horizon = clock_->WallMicros() - options_.retain_s * 1'000'000;
  for (size_t i = 0; i + options_.retain_snapshots < finished.size(); i++) {
    std::string path = LogPath(finished[i]);
    // Kept while within the time retention: when it last changed.
    auto parsed = ParseSnapshotLog(fs_, path);
    if (parsed.ok() && parsed->updated_wall_micros >= horizon) continue;
    (void)fs_->DeleteFile(path);
  }
}

Status Persister::RecordEvicting(const std::string& archive, const std::vector<uint64_t>& segment_ids) {
  if (segment_ids.empty()) return Status::OK();
  std::string path = LogPath(archive);
  if (!fs_->FileExists(path)) return Status::OK();  // trimmed by retention
  for (auto& f : flights_) {
    if (f.state.snapshot_id == archive) {
      SnapshotRecord r;
      r.event = SnapshotEvent::kEvicting;
      r.wall_micros = clock_->WallMicros();
      r.epoch = epoch_;
      r.archive = archive;
      r.segment_ids = segment_ids;
      return f.log->Append(r);
    }
  }
  EBB_ASSIGN_OR_RETURN(SnapshotState state, ParseSnapshotLog(fs_, path));
  EBB_ASSIGN_OR_RETURN(auto log, SnapshotLogWriter::Open(fs_, path, state.valid_bytes));
  SnapshotRecord r;
  r.event = SnapshotEvent::kEvicting;
  r.wall_micros = clock_->WallMicros();
  r.epoch = epoch_;
  r.archive = archive;
  r.segment_ids = segment_ids;
  return log->Append(r);
}

Result<std::string> Persister::StartSnapshot(const SnapshotRequest& request) {
  if (fenced_) return Status::Aborted("tiering persister is fenced by a newer agent epoch; restart it");
  if (epoch_ == 0 || keys_ == nullptr || keys_->current() == nullptr) {
    return Status::Unavailable("tiering has not reached the object store yet (no epoch or key); no snapshot started");
  }
  if (request.segments.empty() && request.tombstones.empty()) {
    return Status::InvalidArgument("tiering snapshot has no segments and no tombstones");
  }
  if (flights_.size() >= options_.max_unfinished_snapshots) {
    return Status::Busy(fmt::format("{} tiering snapshots are still being uploaded; wait for them",
                                    flights_.size()));
  }
  std::string id = NewArchiveName(clock_);
  Flight f;
  f.state.snapshot_id = id;
  f.state.archive = id;
  f.state.epoch = epoch_;
  f.state.started_wall_micros = clock_->WallMicros();
  for (const auto& s : request.segments) f.state.segment_ids.push_back(s.meta.segment_id);
  f.state.tombstones = request.tombstones;
  EBB_ASSIGN_OR_RETURN(f.log, SnapshotLogWriter::Open(fs_, LogPath(id)));
  EBB_RETURN_IF_ERROR(fs_->SyncDir(DirName(LogPath(id))));
  EBB_RETURN_IF_ERROR(Record(&f, SnapshotEvent::kStarted));
  flights_.push_back(std::move(f));
  Flight* flight = &flights_.back();

  std::string staging = StagingPath(id);
  auto write = [&]() -> Result<ArchiveToc> {
    EBB_ASSIGN_OR_RETURN(auto writer, ArchiveWriter::Create(fs_, staging, id, keys_->current(), clock_,
                                                            {.zstd_level = options_.zstd_level, .epoch = epoch_}));
    if (request.catalog) {
      StoreCatalog catalog = *request.catalog;
      for (auto& db : catalog.databases) {
        for (auto& seg : db.segments) {
          if (seg.archive.empty()) seg.archive = id;
        }
      }
      writer->SetCatalog(std::move(catalog));
    }
    for (const auto& segment : request.segments) {
      auto contents = ReadFileToString(fs_, segment.path);
      if (!contents.ok()) return contents.status().WithContext(fmt::format("segment {}", segment.meta.segment_id));
      EBB_RETURN_IF_ERROR(writer->AddSegment(segment.meta, *contents));
    }
    for (const auto& t : request.tombstones) EBB_RETURN_IF_ERROR(writer->AddTombstone(t));
    EBB_ASSIGN_OR_RETURN(ArchiveToc toc, writer->Finish());
    EBB_RETURN_IF_ERROR(fs_->SyncDir(DirName(staging)));
    return toc;
  };
  auto toc = write();
  Result<uint64_t> size = toc.ok() ? fs_->GetFileSize(staging) : Result<uint64_t>(toc.status());
  if (!size.ok()) {
    Status error = size.status().WithContext(fmt::format("tiering snapshot {}", id));
    (void)Abort(flight, error.ToString());
    return error;
  }
  flight->local_toc = std::move(toc).value();
  flight->state.archive_bytes = *size;
  Status s = Record(flight, SnapshotEvent::kArchived);
  if (!s.ok()) {
    // The log could not say the archive is complete; a restart rolls back.
    (void)Abort(flight, s.ToString());
    return s;
  }
  return id;
}

uint64_t Persister::staged_bytes() const {
  uint64_t total = 0;
  for (const auto& f : flights_) {
    if (f.state.state < SnapshotEvent::kDone) total += f.state.archive_bytes;
  }
  return total;
}

std::vector<SnapshotState> Persister::unfinished_snapshots() const {
  std::vector<SnapshotState> out;
  for (const auto& f : flights_) out.push_back(f.state);
  return out;
}

Status Persister::Verify(Flight* f, uint64_t* bytes_transferred) {
  std::string key = ArchiveObjectKey(f->state.archive);
  EBB_ASSIGN_OR_RETURN(ObjectInfo info, store_->Head(key));
  if (info.size_bytes != f->state.archive_bytes) {
    return Status::Corruption(fmt::format("archive {}: remote copy is {} bytes, the local one {}", f->state.archive,
                                          info.size_bytes, f->state.archive_bytes));
  }
  int reads = 0;
  EBB_ASSIGN_OR_RETURN(ArchiveToc remote, ReadArchiveToc(ObjectRangeReader(store_, key), info.size_bytes,
                                                          f->state.archive, *keys_, &reads));
  *bytes_transferred += std::min<uint64_t>(info.size_bytes, kArchiveTailReadBytes);
  if (!(remote == *f->local_toc)) {
    return Status::Corruption(fmt::format("archive {}: remote TOC differs from the local one", f->state.archive));
  }
  if (options_.verify_full) {
    EBB_ASSIGN_OR_RETURN(std::string all, store_->Get(key));
    *bytes_transferred += all.size();
    for (const auto& m : remote.members) {
      if (m.payload_offset + m.payload_length > all.size() ||
          Hash64(std::string_view(all).substr(m.payload_offset, m.payload_length)) != m.ciphertext_checksum) {
        return Status::Corruption(fmt::format("archive {} member {}: remote payload checksum mismatch",
                                              f->state.archive, m.member));
      }
    }
  }
  return Status::OK();
}

Status Persister::Fence() {
  Status s = CheckEpoch(store_, epoch_);
  if (s.IsAborted()) fenced_ = true;
  return s;
}

Result<bool> Persister::Step(uint64_t* bytes_transferred) {
  uint64_t ignored = 0;
  if (bytes_transferred == nullptr) bytes_transferred = &ignored;
  if (flights_.empty() || epoch_ == 0 || keys_ == nullptr) return false;
  Flight* f = &flights_.front();
  const std::string key = ArchiveObjectKey(f->state.archive);
  const std::string staging = StagingPath(f->state.snapshot_id);
  switch (f->state.state) {
    case SnapshotEvent::kArchived: {
      EBB_RETURN_IF_ERROR(store_->PutFile(key, fs_, staging));
      *bytes_transferred += f->state.archive_bytes;
      EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kUploaded));
      return true;
    }
    case SnapshotEvent::kUploaded: {
      Status s = Verify(f, bytes_transferred);
      if (s.IsCorruption() || s.IsNotFound()) {
        if (f->state.upload_attempts + 1 >= options_.max_upload_attempts) {
          EBB_RETURN_IF_ERROR(Abort(f, fmt::format("verification failed {} times: {}", options_.max_upload_attempts,
                                                   s.ToString())));
          return s;
        }
        EBB_LOG(kWarn, "tiering: {}; uploading again", s.ToString());
        EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kArchived, s.ToString()));
        return true;
      }
      EBB_RETURN_IF_ERROR(s);
      EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kVerified));
      return true;
    }
    case SnapshotEvent::kVerified: {
      Status fence = Fence();
      if (fence.IsAborted()) {
        (void)Abort(f, fence.message());
        return fence;
      }
      EBB_RETURN_IF_ERROR(fence);
      index_->AddArchive(*f->local_toc, f->state.archive_bytes);
      EBB_RETURN_IF_ERROR(index_->Save(fs_, TierIndexPath(options_.tier_dir)));
      EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kIndexed));
      return true;
    }
    case SnapshotEvent::kIndexed: {
      Status fence = Fence();
      if (fence.IsAborted()) {
        // Already indexed (its copy is verified and stays usable); only the
        // remote announcement is withheld.
        (void)Record(f, SnapshotEvent::kAborted, fence.message());
        Finish(f);
        return fence;
      }
      EBB_RETURN_IF_ERROR(fence);
      std::string record = fmt::format("epoch {}\narchive {}\nsegments {}\ntombstones {}\nkey_id {}\n", epoch_,
                                       f->state.archive, f->state.segment_ids.size(), f->state.tombstones.size(),
                                       KeyIdHex(f->local_toc ? f->local_toc->key_id : 0));
      // Write-once: a record that exists already (an earlier attempt whose
      // answer was lost) is this one.
      Status put = store_->PutIf(PublishedKey(f->state.snapshot_id), record, WriteCondition::kIfAbsent);
      if (put.IsNotSupported()) put = store_->Put(PublishedKey(f->state.snapshot_id), record);
      if (!put.ok() && !put.IsAlreadyExists()) return put;
      EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kPublished));
      return true;
    }
    case SnapshotEvent::kPublished:
    case SnapshotEvent::kEvicting: {
      Status s = fs_->DeleteFile(staging);
      if (!s.ok() && !s.IsNotFound()) return s;
      EBB_RETURN_IF_ERROR(Record(f, SnapshotEvent::kDone));
      Finish(f);
      return true;
    }
    case SnapshotEvent::kStarted:
    case SnapshotEvent::kDone:
    case SnapshotEvent::kAborted:
      break;
  }
  return Status::Internal(fmt::format("tiering snapshot {} in unexpected state {}", f->state.snapshot_id,
                                      SnapshotEventName(f->state.state)));
}

Status Persister::AbortUnfinished(const std::string& reason, bool delete_remote) {
  Status first;
  while (!flights_.empty()) {
    Status s = Abort(&flights_.front(), reason, delete_remote);
    if (first.ok()) first = s;
  }
  return first;
}

Status Persister::RunToCompletion() {
  // Each snapshot needs at most 5 steps per upload attempt.
  const size_t max_steps = (flights_.size() + 1) * 5 * static_cast<size_t>(options_.max_upload_attempts + 1);
  for (size_t i = 0; i < max_steps; i++) {
    EBB_ASSIGN_OR_RETURN(bool progressed, Step());
    if (!progressed) return Status::OK();
  }
  return flights_.empty() ? Status::OK() : Status::Internal("tiering persister made no progress");
}

}  // namespace ebb
