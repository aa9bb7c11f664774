#include "storage/journal.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/thread_name.h"
#include "base/logging.h"
#include "base/spin.h"
#include "base/status_macros.h"
#include "base/sync_point.h"

namespace ebb {

namespace {
// How long AwaitCommit polls before sleeping (a few microseconds).
constexpr int kCommitSpinIterations = 256;
}  // namespace

Result<SyncMode> ParseSyncMode(std::string_view text) {
  if (text == "always") return SyncMode::kAlways;
  if (text == "batch") return SyncMode::kBatch;
  if (text == "none") return SyncMode::kNone;
  return Status::InvalidArgument(fmt::format("journal.sync '{}' is not one of always, batch, none", text));
}

std::string_view SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kAlways:
      return "always";
    case SyncMode::kBatch:
      return "batch";
    case SyncMode::kNone:
      return "none";
  }
  return "?";
}

bool DecodeJournalGroup(std::string_view payload, std::vector<JournalEntry>* entries) {
  entries->clear();
  while (!payload.empty()) {
    JournalEntry e;
    if (!GetVarint64(&payload, &e.db_id) || !GetVarint64(&payload, &e.first_seq) ||
        !GetLengthPrefixed(&payload, &e.batch_rep)) {
      return false;
    }
    entries->push_back(e);
  }
  return true;
}

Journal::Journal(FileSystem* fs, Clock* clock, std::string data_dir, JournalOptions options,
                 std::function<uint64_t()> next_file_number)
    : fs_(fs),
      clock_(clock),
      data_dir_(std::move(data_dir)),
      options_(options),
      next_file_number_(std::move(next_file_number)) {}

Result<std::unique_ptr<Journal>> Journal::Open(FileSystem* fs, Clock* clock, std::string data_dir,
                                               JournalOptions options, uint64_t first_file_number,
                                               std::function<uint64_t()> next_file_number) {
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, JournalDir(data_dir)));
  std::unique_ptr<Journal> journal(new Journal(fs, clock, std::move(data_dir), options, std::move(next_file_number)));
  {
    MutexLock w(&journal->write_mu_);
    EBB_RETURN_IF_ERROR(journal->OpenNewFile(first_file_number));
  }
  if (options.sync == SyncMode::kBatch) {
    journal->syncer_ = std::thread([j = journal.get()] {
      SetCurrentThreadName("ebb-jrnl-sync");
      j->SyncerLoop();
    });
  }
  return journal;
}

Journal::~Journal() {
  Status s = Close();
  if (!s.ok()) EBB_LOG(kWarn, "journal close: {}", s.ToString());
}

Status Journal::OpenNewFile(uint64_t number) {
  std::string path = JournalFileName(data_dir_, number);
  EBB_ASSIGN_OR_RETURN(auto file, options_.mmap_writes ? fs_->NewMappedLogFile(path) : fs_->NewWritableFile(path));
  // The header goes through the same file; RecordLogWriter frames it.
  std::shared_ptr<WritableFile> shared(std::move(file));
  std::string header;
  PutFixed64(&header, kJournalMagic);
  PutFixed32(&header, kJournalVersion);
  PutFixed32(&header, Checksum32(header));
  Status s = shared->Append(header);
  if (s.IsNotSupported()) {
    // The first append maps the file: name the way around a file system
    // that cannot map files for writing.
    return Status(s.code(), s.message() + " (set journal.mmap_writes = false to write the journal with write(2))");
  }
  EBB_RETURN_IF_ERROR(s);
  EBB_RETURN_IF_ERROR(shared->Sync());
  // The new file must survive a crash before any acknowledged record in it.
  EBB_RETURN_IF_ERROR(fs_->SyncDir(JournalDir(data_dir_)));
  MutexLock lock(&mu_);
  file_ = std::move(shared);
  file_path_ = path;
  current_number_ = number;
  unsynced_bytes_ = 0;
  durable_offset_ = kRecordLogHeaderBytes;
  files_.push_back({number, kRecordLogHeaderBytes});
  return Status::OK();
}

Status Journal::Submit(JournalRequest* request) {
  MutexLock lock(&mu_);
  if (!error_.ok()) {
    return Status::ReadOnly(
        fmt::format("the store is read-only after a journal failure ({}); reopen it to recover", error_.ToString()));
  }
  if (closed_) return Status::Aborted("the store is closing; the write was not applied");
  request->done.store(false, std::memory_order_relaxed);
  queue_.push_back(request);
  return Status::OK();
}

Status Journal::AwaitCommit(JournalRequest* request) {
  // A group commit takes a few microseconds without fsync: poll briefly
  // before sleeping, since a sleep and wakeup cost more than that.
  // Only while a leader is writing: with none, this thread takes the role
  // at once instead of waiting for nobody.
  SpinBriefly(kCommitSpinIterations, [&] {
    return !leader_busy_.load(std::memory_order_relaxed) || request->done.load(std::memory_order_acquire);
  });
  MutexLock lock(&mu_);
  while (!request->done.load(std::memory_order_acquire)) {
    if (!leader_active_) {
      LeadOneGroup();
    } else {
      cv_.Wait();
    }
  }
  return request->status;
}

void Journal::LeadOneGroup() {
  mu_.AssertHeld();
  if (queue_.empty()) return;
  leader_active_ = true;
  leader_busy_.store(true, std::memory_order_relaxed);
  // Reused across groups: a leader never leads again from inside its own
  // group's listeners (they complete writes; they do not write).
  thread_local std::vector<JournalRequest*> group;
  group.clear();
  uint64_t bytes = 0;
  bool sync = options_.sync == SyncMode::kAlways;
  while (!queue_.empty() && (group.empty() || bytes < options_.max_group_bytes)) {
    JournalRequest* r = queue_.front();
    queue_.pop_front();
    group.push_back(r);
    bytes += r->batch_rep.size();
    sync = sync || r->sync;
  }
  Status status;
  uint64_t file_number = 0;
  {
    MutexUnlock unlock(&mu_);
    {
      MutexLock w(&write_mu_);
      status = WriteGroup(group, sync, &file_number);
    }
    // Listeners run without the journal lock: they take item and database
    // locks, which are ordered before mu_.
    for (JournalRequest* r : group) {
      if (r->listener != nullptr) r->listener->OnJournalCommitted(r, status);
    }
    for (JournalRequest* r : group) {
      if (r->listener != nullptr) r->listener->AfterGroupCommitted(r);
    }
  }
  for (JournalRequest* r : group) {
    r->status = status;
    r->file_number = file_number;
    r->done.store(true, std::memory_order_release);
  }
  leader_active_ = false;
  leader_busy_.store(false, std::memory_order_relaxed);
  cv_.SignalAll();
}

void Journal::BuildGroupRecord(const std::vector<JournalRequest*>& group, uint64_t durable_through) {
  // Built in place: no payload copy on the write path.
  group_buffer_.clear();
  const size_t start = RecordLogWriter::BeginRecord(&group_buffer_, durable_through);
  for (const JournalRequest* r : group) {
    PutVarint64(&group_buffer_, r->db_id);
    PutVarint64(&group_buffer_, r->first_seq);
    PutLengthPrefixed(&group_buffer_, r->batch_rep);
  }
  RecordLogWriter::FinishRecord(&group_buffer_, start, kJournalRecordGroup);
}

uint64_t Journal::DurableOffset() const {
  MutexLock lock(&mu_);
  return durable_offset_;
}

Status Journal::WriteGroup(const std::vector<JournalRequest*>& group, bool sync, uint64_t* file_number) {
  EBB_SYNC_POINT("Journal::WriteGroup:start");
  std::shared_ptr<WritableFile> file;
  {
    MutexLock lock(&mu_);
    SettleStartedSyncLocked(/*wait=*/false);
    if (!error_.ok()) {
      return Status::IOError(fmt::format("not written: the journal failed earlier ({})", error_.message()));
    }
    file = file_;
  }
  BuildGroupRecord(group, DurableOffset());

  Status s;
  if (file->Size() > kRecordLogHeaderBytes && file->Size() + group_buffer_.size() > options_.segment_bytes) {
    // Rotate. The old file is finished (synced, and trimmed of a mapped
    // file's reservation, durably) whatever the mode, so only the newest
    // file can ever have a torn tail, reserved zeros or a power loss's hole.
    s = SettleStartedSync();
    if (s.ok()) s = file->Finish();
    if (s.ok()) s = OpenNewFile(next_file_number_());
    if (s.ok()) {
      MutexLock lock(&mu_);
      file = file_;
      stats_.syncs++;
    }
    if (s.ok()) BuildGroupRecord(group, DurableOffset());  // offsets of the new file
  }
  if (s.ok()) s = file->Append(group_buffer_);
  if (s.ok()) s = file->Flush();
  if (s.ok() && sync) s = SettleStartedSync();
  if (s.ok() && sync) s = file->Sync();

  bool wake_syncer = false;
  {
    MutexLock lock(&mu_);
    if (!s.ok()) {
      // file_path_ names `file`: only holders of write_mu_ (this thread) switch files.
      Status failed(s.code(), fmt::format("journal write to {} failed: {}", file_path_, s.message()));
      SetError(failed);
      return failed;
    }
    *file_number = current_number_;
    stats_.records += group.size();
    stats_.groups++;
    stats_.bytes_written += group_buffer_.size();
    if (!files_.empty()) files_.back().bytes = file->Size();
    if (sync) {
      stats_.syncs++;
      unsynced_bytes_ = 0;
      durable_offset_ = file->Size();
    } else {
      // Only the first unsynced group starts a sync: the sync covers every
      // group written before it. The syncer makes it, unless every writer
      // of the group will sync itself when done and the sync is due at
      // once: then the syncer is spared a wakeup (SyncOwed).
      if (UncoveredLocked() == 0) {
        const bool due_now = clock_->NowMicros() >= last_sync_micros_ + options_.sync_interval_ms * 1000;
        const bool callers_sync =
            std::all_of(group.begin(), group.end(), [](const JournalRequest* r) { return r->caller_syncs; });
        if (options_.sync == SyncMode::kBatch && due_now && callers_sync) {
          sync_owed_ = true;
        } else {
          wake_syncer = true;
        }
      }
      unsynced_bytes_ += group_buffer_.size();
    }
  }
  // Signalled without the lock, so the syncer does not wake only to wait for it.
  if (wake_syncer) syncer_cv_.Signal();
  return Status::OK();
}

void Journal::SetError(const Status& s) {
  if (error_.ok()) {
    error_ = s;
    EBB_LOG(kError, "{}; the store is read-only until reopened", s.ToString());
  }
}

void Journal::SyncerLoop() {
  MutexLock lock(&mu_);
  while (true) {
    // Asleep (no deadline, no wakeups) while nothing is unsynced, or while a
    // writer owes the sync.
    while (!stop_syncer_ && (UncoveredLocked() == 0 || sync_owed_ || !error_.ok())) syncer_cv_.Wait();
    if (stop_syncer_) return;
    // At most one sync per interval: at once when the last one is older
    // than that (a lone write costs the syncer one wakeup, not a wakeup to
    // arm a timer and another when it fires), else one interval after it,
    // covering everything written meanwhile. Either way a write is synced
    // at most sync_interval_ms after it was written.
    const int64_t deadline = last_sync_micros_ + options_.sync_interval_ms * 1000;
    while (!stop_syncer_ && clock_->NowMicros() < deadline) clock_->WaitUntil(&syncer_cv_, deadline);
    if (stop_syncer_) return;
    // Started where the file can (the kernel waits for the disk, not this
    // thread, which goes back to sleep); settled by the next write or sync.
    SettleStartedSyncLocked(/*wait=*/false);
    if (UncoveredLocked() == 0) continue;  // a sync started meanwhile covers it all
    if (started_sync_ == nullptr && StartSyncLocked()) continue;
    (void)SyncUnsyncedLocked();
  }
}

Status Journal::SyncUnsyncedLocked() {
  SettleStartedSyncLocked(/*wait=*/true);
  if (!error_.ok()) return error_;
  if (unsynced_bytes_ == 0) return Status::OK();  // the started sync covered everything
  std::shared_ptr<WritableFile> file = file_;
  const uint64_t covered = unsynced_bytes_;
  // Every byte counted here was handed to the OS before this sync starts.
  const uint64_t covered_offset = files_.empty() ? 0 : files_.back().bytes;
  last_sync_micros_ = clock_->NowMicros();
  Status s;
  {
    MutexUnlock unlock(&mu_);
    s = file->SyncFlushed();
  }
  FinishSyncLocked(file, s, covered, covered_offset);
  return s.ok() ? Status::OK() : error_;
}

bool Journal::StartSyncLocked() {
  // Returns at once: the kernel runs the sync (no disk wait under mu_).
  std::unique_ptr<SyncTicket> ticket = file_->StartSyncFlushed();
  if (ticket == nullptr) return false;
  started_sync_ = std::move(ticket);
  started_sync_file_ = file_;
  started_sync_covered_ = unsynced_bytes_;
  started_sync_offset_ = files_.empty() ? 0 : files_.back().bytes;
  last_sync_micros_ = clock_->NowMicros();
  return true;
}

void Journal::SettleStartedSyncLocked(bool wait) {
  if (settling_) {
    // Another thread waits for it (without mu_).
    if (!wait) return;
    while (settling_) settled_cv_.Wait();
  }
  if (started_sync_ == nullptr) return;
  std::optional<Status> s = started_sync_->Poll();
  if (!s && wait) {
    // Waited for without mu_, so writers go on meanwhile; settling_ keeps
    // every other sync, and the ticket, to this thread until it is done.
    settling_ = true;
    SyncTicket* ticket = started_sync_.get();
    {
      MutexUnlock unlock(&mu_);
      s = ticket->Wait();
    }
    settling_ = false;
    settled_cv_.SignalAll();
  }
  if (!s) return;  // still running
  started_sync_.reset();  // before its file
  std::shared_ptr<WritableFile> file = std::move(started_sync_file_);
  FinishSyncLocked(file, *s, started_sync_covered_, started_sync_offset_);
}

Status Journal::SettleStartedSync() {
  MutexLock lock(&mu_);
  SettleStartedSyncLocked(/*wait=*/true);
  return error_;
}

void Journal::FinishSyncLocked(const std::shared_ptr<WritableFile>& file, const Status& s, uint64_t covered,
                               uint64_t covered_offset) {
  if (!s.ok()) {
    SetError(Status(s.code(), fmt::format("journal sync of {} failed: {}", file_path_, s.message())));
    return;
  }
  stats_.syncs++;
  if (file == file_) {
    unsynced_bytes_ -= std::min(covered, unsynced_bytes_);
    durable_offset_ = std::max(durable_offset_, covered_offset);
  }
}

uint64_t Journal::UncoveredLocked() const {
  const uint64_t started = started_sync_ != nullptr && started_sync_file_ == file_ ? started_sync_covered_ : 0;
  return unsynced_bytes_ - std::min(started, unsynced_bytes_);
}

Status Journal::SyncOwed() {
  MutexLock lock(&mu_);
  if (!sync_owed_ || closed_) return Status::OK();
  sync_owed_ = false;
  SettleStartedSyncLocked(/*wait=*/false);
  if (!error_.ok()) return error_;
  Status s;
  // One started sync at a time: while the last still runs (a slow disk),
  // the syncer covers the rest.
  if (started_sync_ == nullptr && clock_->NowMicros() >= last_sync_micros_ + options_.sync_interval_ms * 1000) {
    if (!StartSyncLocked()) s = SyncUnsyncedLocked();
  }
  // Written after this sync started (a write that found bytes unsynced
  // started nothing), or a sync made meanwhile: the syncer keeps the
  // interval for the rest.
  if (s.ok() && UncoveredLocked() > 0 && !sync_owed_) syncer_cv_.Signal();
  return s;
}

Status Journal::SyncNow() {
  {
    // Write whatever is queued first.
    MutexLock lock(&mu_);
    while (!queue_.empty() || leader_active_) {
      if (!leader_active_) {
        LeadOneGroup();
      } else {
        cv_.Wait();
      }
    }
  }
  MutexLock w(&write_mu_);
  std::shared_ptr<WritableFile> file;
  {
    MutexLock lock(&mu_);
    SettleStartedSyncLocked(/*wait=*/true);
    if (!error_.ok()) return error_;
    file = file_;
  }
  Status s = file->Sync();
  MutexLock lock(&mu_);
  if (!s.ok()) {
    SetError(Status(s.code(), fmt::format("journal sync of {} failed: {}", file_path_, s.message())));
    return error_;
  }
  stats_.syncs++;
  if (file == file_) {
    unsynced_bytes_ = 0;
    sync_owed_ = false;
    durable_offset_ = std::max(durable_offset_, files_.empty() ? 0 : files_.back().bytes);
  }
  return Status::OK();
}

Status Journal::Rotate() {
  {
    MutexLock lock(&mu_);
    // Take the leader role so no group is written meanwhile.
    while (leader_active_) cv_.Wait();
    if (!error_.ok()) return error_;
    if (closed_) return Status::Aborted("the journal is closed");
    leader_active_ = true;
    leader_busy_.store(true, std::memory_order_relaxed);
  }
  Status s;
  {
    MutexLock w(&write_mu_);
    std::shared_ptr<WritableFile> file;
    {
      MutexLock lock(&mu_);
      file = file_;
    }
    if (file->Size() > kRecordLogHeaderBytes) {
      s = SettleStartedSync();
      if (s.ok()) s = file->Finish();
      if (s.ok()) s = OpenNewFile(next_file_number_());
      MutexLock lock(&mu_);
      if (s.ok()) {
        stats_.syncs++;
      } else {
        SetError(Status(s.code(), fmt::format("journal rotation failed: {}", s.message())));
      }
    }
  }
  MutexLock lock(&mu_);
  leader_active_ = false;
  leader_busy_.store(false, std::memory_order_relaxed);
  cv_.SignalAll();
  if (!queue_.empty()) cv_.SignalAll();
  return s;
}

uint64_t Journal::CurrentFileRecordBytes() const {
  MutexLock lock(&mu_);
  return files_.empty() ? 0 : files_.back().bytes - std::min<uint64_t>(files_.back().bytes, kRecordLogHeaderBytes);
}

uint64_t Journal::CurrentFileNumber() const {
  MutexLock lock(&mu_);
  return current_number_;
}

std::vector<JournalFileInfo> Journal::Files() const {
  MutexLock lock(&mu_);
  return files_;
}

uint64_t Journal::TotalBytes() const {
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& f : files_) total += f.bytes;
  return total;
}

void Journal::AdoptOldFiles(std::vector<JournalFileInfo> files) {
  MutexLock lock(&mu_);
  for (auto& f : files) {
    if (f.number < current_number_) files_.push_back(f);
  }
  std::sort(files_.begin(), files_.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
}

Result<uint64_t> Journal::DeleteFilesBefore(uint64_t number) {
  std::vector<JournalFileInfo> doomed;
  {
    MutexLock lock(&mu_);
    uint64_t limit = std::min(number, current_number_);
    for (auto it = files_.begin(); it != files_.end();) {
      if (it->number < limit) {
        doomed.push_back(*it);
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
  }
  uint64_t bytes = 0;
  for (const auto& f : doomed) {
    Status s = fs_->DeleteFile(JournalFileName(data_dir_, f.number));
    if (!s.ok() && !s.IsNotFound()) return s;
    bytes += f.bytes;
  }
  return bytes;
}

Status Journal::error() const {
  MutexLock lock(&mu_);
  return error_;
}

JournalStats Journal::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

Status Journal::Close() {
  {
    MutexLock lock(&mu_);
    if (closed_ && !syncer_.joinable()) return error_;
    closed_ = true;
    sync_owed_ = false;  // Finish below syncs everything
    // Requests already queued are written: their callers get a real result.
    while (!queue_.empty() || leader_active_) {
      if (!leader_active_) {
        LeadOneGroup();
      } else {
        cv_.Wait();
      }
    }
    stop_syncer_ = true;
    syncer_cv_.SignalAll();
  }
  if (syncer_.joinable()) syncer_.join();
  MutexLock w(&write_mu_);
  std::shared_ptr<WritableFile> file;
  {
    MutexLock lock(&mu_);
    SettleStartedSyncLocked(/*wait=*/true);
    if (!error_.ok()) return error_;
    file = file_;
  }
  if (file == nullptr) return Status::OK();
  Status s = file->Finish();
  if (s.ok()) s = file->Close();
  MutexLock lock(&mu_);
  if (!s.ok()) SetError(Status(s.code(), fmt::format("journal close of {} failed: {}", file_path_, s.message())));
  unsynced_bytes_ = 0;
  return error_;
}

}  // namespace ebb
