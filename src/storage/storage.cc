#include "storage/storage.h"

#include <algorithm>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/sync_point.h"
#include "base/status_macros.h"
#include "ebb/write_batch.h"

namespace ebb {

Storage::Storage(StorageContext ctx) : ctx_(std::move(ctx)) {
  ctx_.dirty_bytes = &dirty_bytes_;
  ctx_.local_segment_bytes = &local_segment_bytes_;
  ctx_.remote = &remote_;
  ctx_.errors = &errors_;
  ctx_.open_segments = &open_segments_;
}

Storage::~Storage() {
  Status s = Close();
  if (!s.ok()) EBB_LOG(kWarn, "closing store {}: {}", ctx_.options.data_dir, s.ToString());
}

Result<std::unique_ptr<Storage>> Storage::Open(FileSystem* fs, Clock* clock, StorageOptions options,
                                               StorageListener* listener) {
  if (options.data_dir.empty()) return Status::InvalidArgument("the data directory is empty");
  if (!fs->FileExists(options.data_dir)) {
    if (!options.create_if_missing) {
      return Status::NotFound(fmt::format("data directory {} does not exist", options.data_dir));
    }
  }
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, options.data_dir));
  StorageContext ctx;
  ctx.fs = fs;
  ctx.clock = clock;
  ctx.options = std::move(options);
  ctx.listener = listener;
  std::unique_ptr<Storage> storage(new Storage(std::move(ctx)));
  EBB_RETURN_IF_ERROR(storage->Recover());
  return storage;
}

Status Storage::Recover() {
  const std::string& dir = ctx_.options.data_dir;
  EBB_ASSIGN_OR_RETURN(lock_, ctx_.fs->LockFile(LockFileName(dir)));
  EBB_ASSIGN_OR_RETURN(manifest_, Manifest::Open(ctx_.fs, dir, ctx_.options.create_if_missing,
                                                 Manifest::Options{ctx_.options.manifest_checkpoint_bytes, &errors_}));
  ctx_.manifest = manifest_.get();
  segment_cache_ = std::make_unique<SegmentCache>(ctx_.fs, ctx_.options.max_open_segments);
  ctx_.segment_cache = segment_cache_.get();
  obsolete_files_ = std::make_unique<ObsoleteFiles>(ctx_.fs, segment_cache_.get(), &errors_, &local_segment_bytes_);
  ctx_.obsolete_files = obsolete_files_.get();
  EBB_RETURN_IF_ERROR(CreateDirDurably(ctx_.fs, JournalDir(dir)));
  EBB_RETURN_IF_ERROR(CreateDirDurably(ctx_.fs, SegmentDir(dir)));

  // File numbers found on disk are never reused (lost+found's included, so
  // a quarantined file is never shadowed by a new one of the same name).
  for (const auto& [sub, prefix, suffix] : {std::tuple{JournalDir(dir), "", ".log"}, {SegmentDir(dir), "", ".seg"},
                                            {LostFoundDir(dir), "", ".seg"}}) {
    if (!ctx_.fs->FileExists(sub)) continue;
    EBB_ASSIGN_OR_RETURN(auto names, ctx_.fs->GetChildren(sub));
    for (const auto& name : names) {
      uint64_t n;
      if (ParseNumberedName(name, prefix, suffix, &n)) manifest_->MarkFileNumberUsed(n);
    }
  }
  EBB_RETURN_IF_ERROR(RecoverUnnamedSegments());

  // The journal object is needed by databases (memtables note its current
  // file), but replay must happen before new writes; open it after replay
  // with a fresh file.
  ManifestState state = manifest_->state();
  {
    MutexLock lock(&mu_);
    for (const auto& [id, meta] : state.databases) {
      databases_[meta.name] = std::make_shared<DatabaseCore>(&ctx_, meta);
    }
  }
  std::vector<JournalFileInfo> old_files;
  EBB_RETURN_IF_ERROR(ReplayJournal(&old_files));

  uint64_t first = manifest_->NewFileNumber();
  EBB_ASSIGN_OR_RETURN(journal_, Journal::Open(ctx_.fs, ctx_.clock, dir, ctx_.options.journal, first,
                                               [m = manifest_.get()] { return m->NewFileNumber(); }));
  journal_->AdoptOldFiles(std::move(old_files));
  ctx_.journal = journal_.get();
  RemoveObsoleteFiles();
  auto reclaimed = ReclaimJournal();
  if (!reclaimed.ok()) EBB_LOG(kWarn, "journal reclaim after recovery: {}", reclaimed.status().ToString());
  if (recovery_.batches_replayed > 0 || recovery_.torn_tail_bytes > 0 || recovery_.reserved_bytes_trimmed > 0) {
    EBB_LOG(kInfo,
            "recovered {}: {} journal files, {} batches replayed, {} already flushed, {} torn-tail bytes dropped "
            "({} intact records after a power loss's hole), {} reserved bytes trimmed",
            dir, recovery_.journal_files, recovery_.batches_replayed, recovery_.batches_skipped,
            recovery_.torn_tail_bytes, recovery_.records_after_hole, recovery_.reserved_bytes_trimmed);
  }
  return Status::OK();
}

Status Storage::ReplayJournal(std::vector<JournalFileInfo>* old_files) {
  const std::string& dir = ctx_.options.data_dir;
  EBB_ASSIGN_OR_RETURN(std::vector<uint64_t> numbers, JournalFileNumbers());
  std::map<uint64_t, std::shared_ptr<DatabaseCore>> by_id;
  ManifestState state = manifest_->state();
  {
    MutexLock lock(&mu_);
    for (const auto& [name, db] : databases_) by_id[db->id()] = db;
  }
  std::vector<JournalEntry> entries;
  for (size_t i = 0; i < numbers.size(); i++) {
    std::string path = JournalFileName(dir, numbers[i]);
    bool last = i + 1 == numbers.size();
    EBB_ASSIGN_OR_RETURN(auto reader,
                         RecordLogReader::Open(ctx_.fs, path, "journal file", kJournalMagic, kJournalVersion, last));
    recovery_.journal_files++;
    while (true) {
      uint8_t type;
      std::string_view payload;
      EBB_ASSIGN_OR_RETURN(bool more, reader->Next(&type, &payload));
      if (!more) break;
      if (type != kJournalRecordGroup || !DecodeJournalGroup(payload, &entries)) {
        return Status::Corruption(fmt::format("journal file {} offset {}: malformed group record", path,
                                              reader->record_offset()));
      }
      for (const JournalEntry& e : entries) {
        auto it = by_id.find(e.db_id);
        if (it == by_id.end()) continue;  // dropped database
        const DatabaseMeta& meta = state.databases.at(e.db_id);
        if (e.first_seq <= meta.flushed_seq) {
          recovery_.batches_skipped++;
          continue;
        }
        Status s = it->second->ReplayBatch(e.first_seq, e.batch_rep, numbers[i]);
        if (!s.ok()) return s.WithContext(fmt::format("journal file {} offset {}", path, reader->record_offset()));
        recovery_.batches_replayed++;
      }
    }
    uint64_t size = reader->valid_end();
    if (size < kRecordLogHeaderBytes) {
      // The newest file was created but its header never reached the disk:
      // it holds nothing. Remove it, or once older than the next file it
      // would read as damaged.
      EBB_LOG(kWarn, "journal file {}: removed, its header was never written (a crash right after it was created)",
              path);
      EBB_RETURN_IF_ERROR(ctx_.fs->DeleteFile(path));
      continue;
    }
    if (reader->torn_tail_bytes() > 0) {
      recovery_.torn_tail_bytes += reader->torn_tail_bytes();
      recovery_.records_after_hole += reader->records_after_hole();
      if (reader->records_after_hole() > 0) {
        EBB_LOG(kWarn,
                "journal file {}: a power loss left a hole at offset {}; dropped it and the {} records after it "
                "({} bytes in all), all written after the last completed sync (point-in-time recovery)",
                path, reader->torn_tail_offset(), reader->records_after_hole(), reader->torn_tail_bytes());
      } else {
        EBB_LOG(kWarn, "journal file {}: dropped a torn tail of {} bytes at offset {} (writes cut short by a crash; "
                "none of them was acknowledged as synced)", path, reader->torn_tail_bytes(), reader->torn_tail_offset());
      }
      // Cut it off so that, no longer the newest file, it reads clean next time.
      EBB_RETURN_IF_ERROR(ctx_.fs->TruncateFile(path, size));
    } else if (reader->zero_tail_bytes() > 0) {
      recovery_.reserved_bytes_trimmed += reader->zero_tail_bytes();
      EBB_LOG(kInfo, "journal file {}: trimmed {} bytes of space reserved past its last record (the process stopped "
              "without closing it)", path, reader->zero_tail_bytes());
      EBB_RETURN_IF_ERROR(ctx_.fs->TruncateFile(path, size));
    }
    old_files->push_back({numbers[i], size});
  }
  return Status::OK();
}

Result<std::vector<uint64_t>> Storage::JournalFileNumbers() {
  EBB_ASSIGN_OR_RETURN(auto names, ctx_.fs->GetChildren(JournalDir(ctx_.options.data_dir)));
  std::vector<uint64_t> numbers;
  for (const auto& name : names) {
    uint64_t n;
    if (ParseNumberedName(name, "", ".log", &n)) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

void Storage::RemoveObsoleteFiles() {
  const std::string& dir = ctx_.options.data_dir;
  // Unnamed segment files went to lost+found/ already (RecoverUnnamedSegments):
  // what is removed here is derived or superseded, never data.
  std::set<uint64_t> live, evicted;
  for (const auto& [id, db] : manifest_->state().databases) {
    for (const auto& seg : db.segments) {
      // An evicted segment keeps only its filter file; its .seg is a leftover.
      (seg.evicted ? evicted : live).insert(seg.number);
    }
  }
  auto remove = [&](const std::string& path) {
    Status s = ctx_.fs->DeleteFile(path);
    if (s.ok()) {
      recovery_.obsolete_files_removed++;
    } else if (!s.IsNotFound()) {
      EBB_LOG(kWarn, "could not remove obsolete file: {}", s.ToString());
    }
  };
  if (auto names = ctx_.fs->GetChildren(SegmentDir(dir)); names.ok()) {
    for (const auto& name : *names) {
      uint64_t n;
      // A local copy of an evicted segment (the archive holds it), or a
      // filter of a segment that is not evicted (rebuilt from the segment
      // when needed), or a temporary file.
      bool stale = (ParseNumberedName(name, "", ".seg", &n) && evicted.count(n)) ||
                   (ParseNumberedName(name, "", ".filter", &n) && !evicted.count(n)) ||
                   (name.size() > 4 && name.substr(name.size() - 4) == ".tmp");
      if (stale) remove(JoinPath(SegmentDir(dir), name));
    }
  }
  uint64_t current_manifest = manifest_->current_file_number();
  if (auto names = ctx_.fs->GetChildren(dir); names.ok()) {
    for (const auto& name : *names) {
      uint64_t n;
      if ((ParseNumberedName(name, "MANIFEST-", "", &n) && n != current_manifest) ||
          (name.size() > 4 && name.substr(name.size() - 4) == ".tmp")) {
        remove(JoinPath(dir, name));
      }
    }
  }
}

Result<std::shared_ptr<DatabaseCore>> Storage::OpenDatabase(std::string_view name, bool create_if_missing) {
  EBB_RETURN_IF_ERROR(ValidateDatabaseName(name));
  MutexLock lock(&mu_);
  if (closed_) return Status::Aborted("the store is closed");
  auto it = databases_.find(name);
  if (it != databases_.end()) return it->second;
  if (!create_if_missing) return Status::NotFound(fmt::format("database {} does not exist", name));
  EBB_RETURN_IF_ERROR(journal_->error().ok() ? Status::OK()
                                             : Status::ReadOnly(fmt::format("cannot create database {}: {}", name,
                                                                            journal_->error().ToString())));
  DatabaseMeta meta;
  meta.id = manifest_->NewDatabaseId();
  meta.name = std::string(name);
  meta.log_number = journal_->CurrentFileNumber();
  ManifestEdit edit;
  edit.CreateDatabase(meta.id, meta.name);
  edit.SetFlushed(meta.id, meta.log_number, 0);
  // Durable before any write to it can be acknowledged (unless nothing is
  // synced anyway).
  EBB_RETURN_IF_ERROR(manifest_->Apply(edit));
  auto db = std::make_shared<DatabaseCore>(&ctx_, meta);
  databases_.emplace(meta.name, db);
  return db;
}

Status Storage::DropDatabase(std::string_view name) {
  EBB_RETURN_IF_ERROR(ValidateDatabaseName(name));
  std::shared_ptr<DatabaseCore> db;
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::Aborted("the store is closed");
    auto it = databases_.find(name);
    if (it == databases_.end()) return Status::NotFound(fmt::format("database {} does not exist", name));
    db = it->second;
    databases_.erase(it);
    dropping_.push_back(db);  // journal reclaim keeps its data until the drop is durable
  }
  auto done_dropping = [&] {
    MutexLock lock(&mu_);
    std::erase(dropping_, db);
  };
  db->BeginClose(Status::NotFound(fmt::format("database {} was dropped", name)));
  // The writes in flight return the drop's status at once (their records may
  // still reach the journal; replay skips a dropped database's).
  db->CancelWrites(Status::NotFound(fmt::format("database {} was dropped while the write was in flight", name)));
  db->WaitForBackgroundWork();
  EBB_SYNC_POINT("Storage::DropDatabase:before-edit");
  ManifestEdit edit;
  edit.DropDatabase(db->id());
  if (ctx_.options.remember_dropped_databases) edit.RememberDropped({TierName(*db), db->visible_sequence()});
  Status s = manifest_->Apply(edit);
  if (!s.ok()) {
    MutexLock lock(&mu_);
    std::erase(dropping_, db);
    databases_.emplace(std::string(name), db);
    return s.WithContext(fmt::format("drop database {}", name));
  }
  db->MarkDropped();
  done_dropping();
  return Status::OK();
}

std::vector<std::string> Storage::ListDatabases() const {
  MutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(databases_.size());
  for (const auto& [name, db] : databases_) names.push_back(name);
  return names;
}

size_t Storage::DatabaseCount() const {
  MutexLock lock(&mu_);
  return databases_.size();
}

std::vector<std::shared_ptr<DatabaseCore>> Storage::Databases() const {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<DatabaseCore>> out;
  out.reserve(databases_.size());
  for (const auto& [name, db] : databases_) out.push_back(db);
  return out;
}

std::shared_ptr<DatabaseCore> Storage::FindDatabase(std::string_view name) const {
  MutexLock lock(&mu_);
  auto it = databases_.find(name);
  return it == databases_.end() ? nullptr : it->second;
}

uint64_t Storage::OldestJournalFileNeeded() const {
  uint64_t n = UINT64_MAX;
  for (const auto& db : DatabasesHoldingJournalData()) n = std::min(n, db->MinJournalFileNeeded());
  return n;
}

std::vector<std::shared_ptr<DatabaseCore>> Storage::DatabasesHoldingJournalData() const {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<DatabaseCore>> out;
  out.reserve(databases_.size() + dropping_.size());
  for (const auto& [name, db] : databases_) out.push_back(db);
  // Until its drop is durable, a dropped database's journal data is still
  // the only copy of its unflushed writes, and a crash brings it back.
  for (const auto& db : dropping_) out.push_back(db);
  return out;
}

uint64_t Storage::FirstJournalFileToKeep() const {
  // The current file first, then what databases need: a write that lands
  // in the current file after the scan is then never below the result. (In
  // the other order a write and a rotation between the two reads could
  // leave its file below both.)
  const uint64_t current = journal_->CurrentFileNumber();
  EBB_SYNC_POINT("Storage::FirstJournalFileToKeep:between");
  return std::min(OldestJournalFileNeeded(), current);
}

uint64_t Storage::ReclaimableJournalBytes() const {
  const uint64_t needed = FirstJournalFileToKeep();
  uint64_t bytes = 0;
  for (const auto& f : journal_->Files()) {
    if (f.number < needed) bytes += f.bytes;
  }
  return bytes;
}

uint64_t Storage::JournalReclaimPendingBytes() const {
  uint64_t current = journal_->CurrentFileNumber();
  uint64_t bytes = 0;
  for (const auto& f : journal_->Files()) {
    if (f.number < current) bytes += f.bytes;
  }
  if (OldestJournalFileNeeded() > current) bytes += journal_->CurrentFileRecordBytes();
  return bytes;
}

Result<uint64_t> Storage::FlushDatabases(const std::vector<std::shared_ptr<DatabaseCore>>& dbs) {
  // A bound on one edit, so a store of many databases is flushed in
  // manifest edits of a reasonable size.
  constexpr size_t kDatabasesPerEdit = 512;
  uint64_t flushed = 0;
  Status first_error;
  auto note = [&](const Status& s) {
    if (first_error.ok() && !s.ok()) first_error = s;
  };
  std::vector<std::shared_ptr<DatabaseCore>> pending;
  for (const auto& db : dbs) {
    db->SwitchMemtable();
    if (db->ImmutableCount() > 0) pending.push_back(db);
  }
  // Each round flushes the oldest immutable memtable of every database
  // that still has one.
  while (!pending.empty()) {
    std::vector<std::pair<std::shared_ptr<DatabaseCore>, DatabaseCore::PreparedFlush>> prepared;
    std::vector<std::shared_ptr<DatabaseCore>> next;
    for (const auto& db : pending) {
      if (prepared.size() == kDatabasesPerEdit) {
        next.push_back(db);
        continue;
      }
      auto flush = db->PrepareFlush(/*wait_if_busy=*/true);
      if (!flush.ok()) {
        note(flush.status());
        continue;
      }
      if (*flush) prepared.emplace_back(db, std::move(**flush));
    }
    if (prepared.empty()) break;
    Status s = ctx_.fs->SyncDir(SegmentDir(ctx_.options.data_dir));
    ManifestEdit edit;
    if (s.ok()) {
      for (auto& [db, flush] : prepared) db->AddFlushToEdit(flush, &edit);
      s = manifest_->Apply(edit);
    }
    if (!s.ok()) {
      for (auto& [db, flush] : prepared) db->AbortFlush(&flush, s);
      note(s.WithContext(fmt::format("flush of {} databases", prepared.size())));
      break;
    }
    for (auto& [db, flush] : prepared) {
      flushed += db->InstallFlush(std::move(flush));
      if (db->ImmutableCount() > 0) next.push_back(db);
    }
    pending = std::move(next);
  }
  if (flushed == 0 && !first_error.ok()) return first_error;
  return flushed;
}

Result<uint64_t> Storage::ReclaimJournal() {
  // After a metadata write whose outcome is unknown, journal files may hold
  // the only copy of data a flush edit was meant to cover.
  if (!errors_.deletions_allowed()) return uint64_t{0};
  const uint64_t current = journal_->CurrentFileNumber();
  if (OldestJournalFileNeeded() > current && journal_->CurrentFileRecordBytes() > 0) {
    // Nothing needs the current file: start a new one so it can go too.
    // What is needed is recomputed after the rotation, so a write that
    // landed in the old file meanwhile keeps it.
    EBB_RETURN_IF_ERROR(journal_->Rotate());
  }
  return journal_->DeleteFilesBefore(FirstJournalFileToKeep());
}

std::vector<std::shared_ptr<DatabaseCore>> Storage::DatabasesPinning(uint64_t number) const {
  std::vector<std::shared_ptr<DatabaseCore>> out;
  for (const auto& db : DatabasesHoldingJournalData()) {
    if (db->MinJournalFileNeeded() <= number) out.push_back(db);
  }
  return out;
}

std::string Storage::TierName(const DatabaseCore& db) { return db.tier_name(); }

Status Storage::EvictSegment(uint64_t number) {
  for (const auto& db : Databases()) {
    Status s = db->EvictSegment(number);
    if (!s.IsNotFound()) return s;
  }
  return Status::NotFound(fmt::format("segment {:06}.seg is not a live segment of any database", number));
}

Status Storage::RecallSegment(uint64_t number, std::string_view contents) {
  for (const auto& db : Databases()) {
    Status s = db->RecallSegment(number, contents);
    if (!s.IsNotFound()) return s;
  }
  return Status::NotFound(fmt::format("segment {:06}.seg is not a live segment of any database", number));
}

std::vector<DroppedDatabase> Storage::DroppedDatabases() const {
  ManifestState state = manifest_->state();
  return std::vector<DroppedDatabase>(state.dropped.begin(), state.dropped.end());
}

Status Storage::ForgetDroppedDatabase(const DroppedDatabase& dropped) {
  ManifestEdit edit;
  edit.ForgetDropped(dropped);
  return manifest_->Apply(edit);
}

JournalStatus Storage::GetJournalStatus() const {
  JournalStatus st;
  st.sync_mode = std::string(SyncModeName(journal_->sync_mode()));
  auto files = journal_->Files();
  st.files = files.size();
  for (const auto& f : files) st.bytes += f.bytes;
  JournalStats stats = journal_->stats();
  st.records_written = stats.records;
  st.batches_written = stats.groups;
  st.syncs = stats.syncs;
  st.bytes_written = stats.bytes_written;
  return st;
}

Status Storage::background_error() const {
  Status s = errors_.error();
  if (s.ok() && journal_) s = journal_->error();
  if (s.ok()) return s;
  // What would let the store write again, for /status and INFO.
  const char* hint = s.IsNoSpace() ? "free space on the file system holding {}, then reopen the store (restart the "
                                     "server); nothing acknowledged was lost"
                                   : "check the disk holding {} (the kernel log says more), then reopen the store "
                                     "(restart the server); nothing acknowledged was lost";
  return Status(s.code(), fmt::format("{}; read-only until reopened: {}", s.message(),
                                      fmt::format(fmt::runtime(hint), ctx_.options.data_dir)));
}

void Storage::WaitForObsoleteFiles() {
  if (obsolete_files_) obsolete_files_->Drain();
}

uint64_t Storage::obsolete_files_deleted() const { return obsolete_files_ ? obsolete_files_->files_deleted() : 0; }

Status Storage::Close() {
  std::vector<std::shared_ptr<DatabaseCore>> dbs;
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    for (const auto& [name, db] : databases_) dbs.push_back(db);
  }
  for (const auto& db : dbs) db->BeginClose(Status::Aborted("the store is closing; the write was not applied"));
  Status s;
  if (journal_) s = journal_->Close();
  for (const auto& db : dbs) {
    db->WaitForWrites();
    db->WaitForBackgroundWork();
  }
  {
    MutexLock lock(&mu_);
    databases_.clear();
  }
  dbs.clear();
  // Segments the databases' last views held are deleted before the
  // directory is given up (a handle that outlives the store deletes its
  // segments when it goes, as before).
  if (obsolete_files_) obsolete_files_->Drain();
  // Handles may outlive the store (their calls fail with Aborted); the
  // directory is free for another open now.
  lock_.reset();
  return s;
}

}  // namespace ebb
