#include "storage/database_core.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/bloom.h"
#include "storage/db_iterator.h"
#include "storage/journal.h"
#include "storage/merging_iterator.h"

namespace ebb {

// ---------------------------------------------------------------------------
// SegmentFile

SegmentFile::SegmentFile(const StorageContext* ctx, SegmentMeta meta)
    : ctx_(ctx),
      meta_(std::move(meta)),
      evicted_(meta_.evicted),
      dead_bytes_(meta_.dead_bytes),
      last_access_micros_(meta_.created_unix_micros) {
  if (!evicted_ && ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_add(meta_.file_size);
}

SegmentFile::~SegmentFile() {
  if (!evicted_.load(std::memory_order_acquire) && ctx_->local_segment_bytes) {
    ctx_->local_segment_bytes->fetch_sub(meta_.file_size);
  }
  if (!obsolete_.load(std::memory_order_acquire)) return;
  ctx_->segment_cache->Evict(meta_.number);
  for (const std::string& file : {path(), filter_path()}) {
    Status s = ctx_->fs->DeleteFile(file);
    if (!s.ok() && !s.IsNotFound()) EBB_LOG(kWarn, "could not delete obsolete segment file: {}", s.ToString());
  }
}

std::string SegmentFile::path() const { return SegmentFileName(ctx_->options.data_dir, meta_.number); }

std::string SegmentFile::filter_path() const { return SegmentFilterFileName(ctx_->options.data_dir, meta_.number); }

bool SegmentFile::EvictedMayContain(uint64_t bloom_hash) const {
  if (!evicted()) return true;
  std::shared_ptr<const std::string> filter;
  {
    MutexLock lock(&filter_mu_);
    if (!filter_loaded_) {
      filter_loaded_ = true;
      auto read = ReadFilterFile(ctx_->fs, filter_path());
      if (read.ok()) {
        filter_ = std::make_shared<const std::string>(std::move(*read));
      } else {
        EBB_LOG(kWarn, "segment {:06}: {}; reads fetch the evicted segment to check its own filter", meta_.number,
                read.status().ToString());
      }
    }
    filter = filter_;
  }
  return filter == nullptr || BloomMayContainHash(*filter, bloom_hash);
}

bool SegmentFile::MarkEvicted() {
  if (evicted_.exchange(true, std::memory_order_acq_rel)) return false;
  if (ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_sub(meta_.file_size);
  return true;
}

Result<std::shared_ptr<Segment>> SegmentFile::Open() const {
  last_access_micros_.store(ctx_->clock->WallMicros(), std::memory_order_relaxed);
  if (!evicted()) return ctx_->segment_cache->Get(meta_.number, path());
  return ctx_->segment_cache->GetOrOpen(meta_.number, [this]() -> Result<std::shared_ptr<Segment>> {
    RemoteSegmentSource* remote = ctx_->remote ? ctx_->remote->load(std::memory_order_acquire) : nullptr;
    if (remote == nullptr) {
      return Status::Unavailable(fmt::format(
          "segment {:06}.seg was evicted to the object store, and tiering is not running; enable [tiering] with the "
          "same store to read it", meta_.number));
    }
    return remote->OpenEvicted(meta_.number);
  }, /*remote=*/true);
}

namespace {

// Iterates an evicted segment, fetching it (through SegmentFile::Open) only
// when a positioning call can land inside its key range: a bounded scan of
// recent keys does not download every cold segment of the database.
class EvictedSegmentIterator final : public InternalIterator {
 public:
  explicit EvictedSegmentIterator(std::shared_ptr<SegmentFile> file) : file_(std::move(file)) {}

  bool Valid() const override { return inner_ != nullptr && inner_->Valid(); }
  void SeekToFirst() override {
    if (Fetch()) inner_->SeekToFirst();
  }
  void Seek(std::string_view target) override {
    if (ExtractUserKey(target) > std::string_view(file_->meta().largest_key)) {
      // Past this segment: exhausted without a fetch.
      if (inner_) inner_->Seek(target);
      return;
    }
    if (Fetch()) inner_->Seek(target);
  }
  void Next() override { inner_->Next(); }
  std::string_view key() const override { return inner_->key(); }
  std::string_view value() const override { return inner_->value(); }
  Status status() const override {
    if (!error_.ok()) return error_;
    return inner_ ? inner_->status() : Status::OK();
  }

 private:
  bool Fetch() {
    if (inner_) return true;
    if (!error_.ok()) return false;
    auto seg = file_->Open();
    if (!seg.ok()) {
      error_ = seg.status();
      return false;
    }
    inner_ = (*seg)->NewIterator();
    return true;
  }

  std::shared_ptr<SegmentFile> file_;
  std::unique_ptr<InternalIterator> inner_;
  Status error_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Write items and snapshots

// One write batch in flight. Lives on the writer's stack until its Write()
// returns; the writer returns only after the item is completed.
class DatabaseCore::WriteItem final : public CompletionItem, public JournalCommitListener {
 public:
  enum Part { kCommit = 0, kApply = 1 };

  // `owner_completes`: the db_lock baseline, where the writer completes its
  // own item under the database lock it holds, so the journal leader must
  // not request completion (it would wait for that lock).
  WriteItem(DatabaseCore* db, bool owner_completes) : CompletionItem(2), db_(db), owner_completes_(owner_completes) {}

  void OnJournalCommitted(JournalRequest* request, const Status& status) override {
    acknowledged_by_commit_ = CompletePart(kCommit, status) && !owner_completes_;
  }
  // Once the whole group is committed, so one completion pass drains it.
  void AfterGroupCommitted(JournalRequest* request) override {
    if (acknowledged_by_commit_) db_->RequestCompletion();
  }

  JournalRequest request;
  SequenceNumber first_seq = 0;
  SequenceNumber last_seq = 0;
  uint64_t bytes = 0;

 private:
  DatabaseCore* const db_;
  const bool owner_completes_;
  bool acknowledged_by_commit_ = false;  // touched only by the group's leader
};

class SnapshotImpl final : public Snapshot {
 public:
  SnapshotImpl(std::shared_ptr<DatabaseCore> db, SequenceNumber seq) : db_(std::move(db)), seq_(seq) {}
  ~SnapshotImpl() override { db_->ReleaseSnapshot(seq_); }
  SequenceNumber sequence() const override { return seq_; }

 private:
  std::shared_ptr<DatabaseCore> db_;
  SequenceNumber seq_;
};

// ---------------------------------------------------------------------------

DatabaseCore::DatabaseCore(const StorageContext* ctx, const DatabaseMeta& meta)
    : ctx_(ctx), id_(meta.id), name_(meta.name) {
  auto set = std::make_shared<SegmentSet>();
  for (const auto& seg : meta.segments) set->push_back(std::make_shared<SegmentFile>(ctx, seg));
  MutexLock lock(&mu_);
  segments_ = std::move(set);
  flushed_seq_ = meta.flushed_seq;
  last_seq_ = meta.flushed_seq;
  visible_seq_.store(meta.flushed_seq);
  compacted_seq_ = meta.compacted_seq;
  live_exact_ = meta.live_exact;
  flush_bytes_written_ = meta.flush_bytes_written;
  compaction_bytes_written_ = meta.compaction_bytes_written;
  compactions_ = meta.compactions;
  InstallViewLocked();
}

DatabaseCore::~DatabaseCore() = default;

Status DatabaseCore::ValidateBatch(const WriteBatch& batch) const {
  if (batch.PayloadBytes() > kHardMaxBatchBytes) {
    return Status::InvalidArgument(fmt::format("write batch of {} bytes exceeds the {} byte limit of one batch; split it",
                                               batch.PayloadBytes(), kHardMaxBatchBytes));
  }
  const StorageOptions& opts = ctx_->options;
  if (batch.MaxKeyBytes() > opts.max_key_bytes) {
    return Status::InvalidArgument(
        fmt::format("key of {} bytes exceeds store.max_key_bytes ({})", batch.MaxKeyBytes(), opts.max_key_bytes));
  }
  if (batch.MaxValueBytes() > opts.max_value_bytes) {
    return Status::InvalidArgument(fmt::format("value of {} bytes exceeds store.max_value_bytes ({})",
                                               batch.MaxValueBytes(), opts.max_value_bytes));
  }
  return Status::OK();
}

Status DatabaseCore::MakeRoomForWrite() {
  while (true) {
    if (!closed_.ok()) return closed_;
    if (!error_.ok()) {
      return Status::ReadOnly(fmt::format("database {} is read-only after an earlier failure ({}); reopen the store",
                                          name_, error_.ToString()));
    }
    if (mem_ == nullptr || mem_->payload_bytes() < ctx_->options.memtable_bytes) return Status::OK();
    if (static_cast<int>(imms_.size()) >= ctx_->options.max_immutable_memtables) {
      // Memory bound: wait for a flush. The background runtime throttles
      // writers long before this point; reaching it means flushes cannot keep up.
      if (ctx_->listener) {
        MutexUnlock unlock(&mu_);
        ctx_->listener->OnMemtableSwitched(this);
      }
      if (!closed_.ok() || !error_.ok()) continue;
      if (static_cast<int>(imms_.size()) >= ctx_->options.max_immutable_memtables &&
          mem_->payload_bytes() >= ctx_->options.memtable_bytes) {
        cv_.Wait();
      }
      continue;
    }
    SwitchMemtableLocked();
    return Status::OK();
  }
}

void DatabaseCore::SwitchMemtableLocked() {
  if (mem_ == nullptr || mem_->empty()) return;
  imms_.insert(imms_.begin(), {mem_, last_seq_});
  mem_ = std::make_shared<MemTable>(ctx_->journal->CurrentFileNumber());
  InstallViewLocked();
}

bool DatabaseCore::SwitchMemtable() {
  bool switched;
  {
    MutexLock lock(&mu_);
    size_t before = imms_.size();
    SwitchMemtableLocked();
    switched = imms_.size() > before;
  }
  return switched;
}

size_t DatabaseCore::BuildImmutableFilters() {
  std::vector<std::shared_ptr<MemTable>> ready;
  {
    MutexLock lock(&mu_);
    const SequenceNumber visible = visible_seq_.load(std::memory_order_acquire);
    for (const auto& [imm, last_seq] : imms_) {
      // Every write into the table must be in it (as for a flush).
      if (last_seq <= visible && !imm->has_filter()) ready.push_back(imm);
    }
  }
  for (const auto& imm : ready) imm->BuildFilter(ctx_->options.segment.bloom_bits_per_key);
  return ready.size();
}

void DatabaseCore::ApplyToMemtable(MemTable* mem, SequenceNumber first_seq, const WriteBatch& batch) {
  uint64_t bytes = mem->AddBatch(first_seq, batch);
  if (ctx_->dirty_bytes) ctx_->dirty_bytes->fetch_add(bytes, std::memory_order_relaxed);
}

Status DatabaseCore::Write(const WriteOptions& options, const WriteBatch& batch) {
  if (batch.Empty()) return Status::OK();
  EBB_RETURN_IF_ERROR(ValidateBatch(batch));
  const bool db_lock = ctx_->options.completion == WriteCompletion::kDbLock;
  WriteItem item(this, db_lock);
  std::shared_ptr<MemTable> mem;
  size_t imms_before;

  // Submit: the database lock only assigns sequence numbers, queues the item
  // and hands the record to the journal.
  LockCounted();
  imms_before = imms_.size();
  Status s = MakeRoomForWrite();
  if (s.ok()) {
    item.first_seq = last_seq_ + 1;
    item.last_seq = last_seq_ + batch.Count();
    item.bytes = batch.PayloadBytes();
    item.request.db_id = id_;
    item.request.first_seq = item.first_seq;
    item.request.batch_rep = batch.rep();
    item.request.sync = options.sync;
    item.request.listener = &item;
    s = ctx_->journal->Submit(&item.request);
  }
  if (!s.ok()) {
    mu_.Unlock();
    return s;
  }
  bool switched = imms_.size() > imms_before;
  last_seq_ = item.last_seq;
  if (mem_ == nullptr) {
    mem_ = std::make_shared<MemTable>(ctx_->journal->CurrentFileNumber());
    InstallViewLocked();
  }
  mem = mem_;
  inflight_.Push(&item);
  if (!db_lock) mu_.Unlock();
  if (switched && ctx_->listener && !db_lock) ctx_->listener->OnMemtableSwitched(this);

  // Apply: into the memtable, concurrently with other writers and with the
  // journal write of this very batch.
  ApplyToMemtable(mem.get(), item.first_seq, batch);
  if (item.CompletePart(WriteItem::kApply, Status::OK()) && !db_lock) RequestCompletion();

  // Commit: lead or follow the journal's group commit.
  (void)ctx_->journal->AwaitCommit(&item.request);

  if (db_lock) {
    // Baseline: complete under the lock held since submit.
    uint64_t writes = 0, bytes = 0;
    std::vector<Completed> done;
    DrainCompletionsLocked(&done, &writes, &bytes);
    mu_.Unlock();
    WakeCompleted(&done);
    if (ctx_->listener) {
      if (switched) ctx_->listener->OnMemtableSwitched(this);
      if (writes) ctx_->listener->OnWritesCompleted(this, writes, bytes);
    }
  }
  return item.WaitCompleted();
}

void DatabaseCore::LockCounted() {
  if (mu_.TryLock()) return;
  // A metric, not behaviour: measured with the hardware clock at ns
  // resolution (waits are often below a microsecond).
  auto start = std::chrono::steady_clock::now();
  mu_.Lock();
  lock_wait_ns_.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()),
      std::memory_order_relaxed);
}

void DatabaseCore::RequestCompletion() {
  inflight_.RequestDrain([this] {
    uint64_t writes = 0, bytes = 0;
    thread_local std::vector<Completed> done;
    LockCounted();
    DrainCompletionsLocked(&done, &writes, &bytes);
    mu_.Unlock();
    // Writers are woken after the database lock is released.
    WakeCompleted(&done);
    if (writes && ctx_->listener) ctx_->listener->OnWritesCompleted(this, writes, bytes);
  });
}

void DatabaseCore::WakeCompleted(std::vector<Completed>* done) {
  for (auto& c : *done) c.item->MarkCompleted(c.status);
  done->clear();
}

void DatabaseCore::DrainCompletionsLocked(std::vector<Completed>* done, uint64_t* writes, uint64_t* bytes) {
  mu_.AssertHeld();
  uint64_t drained = 0;
  while (CompletionItem* ci = inflight_.PopAcknowledgedFront()) {
    auto* item = static_cast<WriteItem*>(ci);
    Status s = item->status();
    if (s.ok() && error_.ok()) {
      // In submission order: the visible sequence only ever exposes a prefix.
      EBB_CHECK(item->first_seq == visible_seq_.load(std::memory_order_relaxed) + 1);
      visible_seq_.store(item->last_seq, std::memory_order_release);
      changes_ += item->last_seq - item->first_seq + 1;
      (*writes)++;
      *bytes += item->bytes;
    } else {
      if (s.ok()) {
        s = Status::ReadOnly(fmt::format("database {} failed an earlier write ({}); reopen the store", name_,
                                         error_.ToString()));
      }
      if (error_.ok()) {
        error_ = s;
        EBB_LOG(kError, "database {}: write failed ({}); read-only until the store is reopened", name_, s.ToString());
      }
    }
    done->push_back({item, std::move(s)});
    drained++;
  }
  if (drained > 0) {
    inflight_.CountDrained(drained);
    cv_.SignalAll();
  }
}

void DatabaseCore::InstallViewLocked() {
  auto view = std::make_shared<ReadView>();
  view->mem = mem_;
  for (const auto& [imm, seq] : imms_) view->imms.push_back(imm);
  view->segments = segments_;
  view->min_read_seq = min_read_seq_;
  MutexLock lock(&view_mu_);
  view_ = std::move(view);
}

std::shared_ptr<const ReadView> DatabaseCore::CurrentView() const {
  MutexLock lock(&view_mu_);
  return view_;
}

Status DatabaseCore::Get(const ReadOptions& options, std::string_view key, std::string* value) {
  if (!open_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    return closed_;
  }
  // The sequence first, then the view: any view taken after the sequence
  // holds every write that sequence covers.
  SequenceNumber seq = options.snapshot ? options.snapshot->sequence() : visible_seq_.load(std::memory_order_acquire);
  std::shared_ptr<const ReadView> view = CurrentView();
  if (!options.snapshot) seq = std::max(seq, view->min_read_seq);
  ValueType type;
  if (view->mem && view->mem->Get(key, seq, value, &type)) {
    return type == ValueType::kValue ? Status::OK() : Status::NotFound(std::string());
  }
  std::optional<uint64_t> bloom_hash;  // computed once, for every filter
  for (const auto& imm : view->imms) {
    if (!bloom_hash) bloom_hash = BloomHash(key);
    if (!imm->MayContain(*bloom_hash)) continue;
    if (imm->Get(key, seq, value, &type)) {
      return type == ValueType::kValue ? Status::OK() : Status::NotFound(std::string());
    }
  }
  for (const auto& file : *view->segments) {
    const SegmentMeta& meta = file->meta();
    if (meta.smallest_seq > seq) continue;
    if (key < std::string_view(meta.smallest_key) || key > std::string_view(meta.largest_key)) continue;
    if (!bloom_hash) bloom_hash = BloomHash(key);
    if (!file->EvictedMayContain(*bloom_hash)) continue;
    EBB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, file->Open());
    EBB_ASSIGN_OR_RETURN(bool found, seg->Get(key, *bloom_hash, seq, value, &type));
    if (found) return type == ValueType::kValue ? Status::OK() : Status::NotFound(std::string());
  }
  return Status::NotFound(std::string());
}

std::shared_ptr<const Snapshot> DatabaseCore::GetSnapshot() {
  SequenceNumber seq;
  {
    MutexLock lock(&mu_);
    seq = visible_seq_.load(std::memory_order_acquire);
    snapshots_.insert(seq);
  }
  return std::make_shared<SnapshotImpl>(shared_from_this(), seq);
}

void DatabaseCore::ReleaseSnapshot(SequenceNumber seq) {
  MutexLock lock(&mu_);
  auto it = snapshots_.find(seq);
  if (it != snapshots_.end()) snapshots_.erase(it);
}

SequenceNumber DatabaseCore::OldestSnapshotLocked() const {
  if (snapshots_.empty()) return visible_seq_.load(std::memory_order_acquire);
  return *snapshots_.begin();
}

std::unique_ptr<Iterator> DatabaseCore::NewIterator(const ReadOptions& options) {
  if (!open_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    return NewDBIterator(NewErrorIterator(closed_), 0, "", nullptr);
  }
  // An iterator pins a snapshot so compaction keeps the versions it reads.
  std::shared_ptr<const Snapshot> snapshot = options.snapshot ? options.snapshot : GetSnapshot();
  SequenceNumber seq = snapshot->sequence();
  std::shared_ptr<const ReadView> view = CurrentView();
  std::vector<std::unique_ptr<InternalIterator>> children;
  if (view->mem) children.push_back(view->mem->NewIterator());
  for (const auto& imm : view->imms) children.push_back(imm->NewIterator());
  Status open_error;
  for (const auto& file : *view->segments) {
    if (file->meta().smallest_seq > seq) continue;
    if (!options.upper_bound.empty() && file->meta().smallest_key >= options.upper_bound) continue;
    if (file->evicted()) {
      // Fetched only if a seek lands in its key range.
      children.push_back(std::make_unique<EvictedSegmentIterator>(file));
      continue;
    }
    auto seg = file->Open();
    if (!seg.ok()) {
      open_error = seg.status();
      break;
    }
    children.push_back((*seg)->NewIterator());
  }
  struct KeepAlive {
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const ReadView> view;
  };
  auto keepalive = std::make_shared<KeepAlive>(KeepAlive{snapshot, view});
  if (!open_error.ok()) {
    children.clear();
    children.push_back(NewErrorIterator(open_error));
  }
  return NewDBIterator(NewMergingIterator(std::move(children)), seq, options.upper_bound, std::move(keepalive));
}

Status DatabaseCore::ReplayBatch(SequenceNumber first_seq, std::string_view batch_rep, uint64_t journal_file) {
  WriteBatch batch;
  if (!batch.SetRep(std::string(batch_rep))) {
    return Status::Corruption(fmt::format("database {}: malformed write batch at sequence {} in journal file {:06}.log",
                                          name_, first_seq, journal_file));
  }
  MutexLock lock(&mu_);
  if (first_seq != last_seq_ + 1) {
    return Status::Corruption(fmt::format(
        "database {}: journal file {:06}.log continues at sequence {} but the database is at {}; a journal file "
        "is missing", name_, journal_file, first_seq, last_seq_));
  }
  if (mem_ == nullptr) mem_ = std::make_shared<MemTable>(journal_file);
  if (mem_->payload_bytes() >= ctx_->options.memtable_bytes) {
    imms_.insert(imms_.begin(), {mem_, last_seq_});
    mem_ = std::make_shared<MemTable>(journal_file);
  }
  ApplyToMemtable(mem_.get(), first_seq, batch);
  last_seq_ = first_seq + batch.Count() - 1;
  visible_seq_.store(last_seq_, std::memory_order_release);
  changes_ += batch.Count();
  InstallViewLocked();
  return Status::OK();
}

Status DatabaseCore::Flush() {
  SwitchMemtable();
  while (true) {
    EBB_ASSIGN_OR_RETURN(uint64_t bytes, FlushOldestImmutable());
    MutexLock lock(&mu_);
    if (imms_.empty()) return Status::OK();
    if (bytes == 0 && flushing_) {
      // Another thread is flushing; wait for it.
      cv_.Wait();
    }
  }
}

Result<uint64_t> DatabaseCore::FlushOldestImmutable(bool wait_if_busy) {
  std::shared_ptr<MemTable> imm;
  SequenceNumber needed, oldest_snapshot;
  bool drop_tombstones;
  std::shared_ptr<const SegmentSet> older;
  {
    MutexLock lock(&mu_);
    while (wait_if_busy && flushing_ && closed_.ok() && error_.ok()) cv_.Wait();
    if (!closed_.ok()) return closed_;
    if (!error_.ok()) return error_;
    if (flushing_ || imms_.empty()) return uint64_t{0};
    flushing_ = true;
    imm = imms_.back().first;
    needed = imms_.back().second;
    // Every write into this memtable must be completed first.
    while (visible_seq_.load(std::memory_order_acquire) < needed && error_.ok() && closed_.ok()) cv_.Wait();
    if (!error_.ok() || visible_seq_.load() < needed) {
      flushing_ = false;
      cv_.SignalAll();
      return error_.ok() ? closed_ : error_;
    }
    oldest_snapshot = OldestSnapshotLocked();
    older = segments_;
    // With nothing older on disk, a tombstone shadows nothing: drop it.
    drop_tombstones = older->empty() && imms_.size() == 1;
  }
  SegmentMeta meta;
  std::vector<std::pair<uint64_t, uint64_t>> dead_updates;
  auto written = WriteFlushSegment(imm, oldest_snapshot, drop_tombstones, older, &meta, &dead_updates);
  if (!written.ok()) {
    // Sticky, like a journal failure: with the memtable unflushable, taking
    // more writes would only grow memory until the process dies.
    Status s = written.status().WithContext(fmt::format("flush of database {}", name_));
    MutexLock lock(&mu_);
    flushing_ = false;
    if (error_.ok()) {
      error_ = s;
      EBB_LOG(kError, "{}; database {} is read-only until the store is reopened", s.ToString(), name_);
    }
    cv_.SignalAll();
    return s;
  }
  ManifestEdit edit;
  {
    MutexLock lock(&mu_);
    uint64_t log_number = UINT64_MAX;
    for (size_t i = 0; i + 1 < imms_.size(); i++) log_number = std::min(log_number, imms_[i].first->min_journal_file());
    if (mem_ && !mem_->empty()) log_number = std::min(log_number, mem_->min_journal_file());
    if (log_number == UINT64_MAX) log_number = ctx_->journal->CurrentFileNumber();
    if (meta.entries > 0) edit.AddSegment(meta);
    edit.SetFlushed(id_, log_number, needed);
    for (const auto& [number, dead] : dead_updates) edit.SetDeadBytes(id_, number, dead);
    if (live_exact_ && !dead_updates.empty()) edit.SetCompacted(id_, compacted_seq_, false);
    edit.AddCounters(id_, *written, 0, 0);
  }
  Status s = ctx_->manifest->Apply(edit, /*sync=*/true);
  if (!s.ok()) {
    (void)ctx_->fs->DeleteFile(SegmentFileName(ctx_->options.data_dir, meta.number));
    MutexLock lock(&mu_);
    flushing_ = false;
    if (error_.ok()) error_ = s;
    cv_.SignalAll();
    return s;
  }
  {
    MutexLock lock(&mu_);
    imms_.pop_back();
    if (ctx_->dirty_bytes) ctx_->dirty_bytes->fetch_sub(imm->payload_bytes(), std::memory_order_relaxed);
    auto set = std::make_shared<SegmentSet>(*segments_);
    std::unordered_map<uint64_t, uint64_t> dead(dead_updates.begin(), dead_updates.end());
    for (auto& file : *set) {
      auto it = dead.find(file->meta().number);
      if (it != dead.end()) file->set_dead_bytes(it->second);
    }
    if (meta.entries > 0) {
      set->insert(set->begin(), std::make_shared<SegmentFile>(ctx_, meta));
      std::sort(set->begin(), set->end(),
                [](const auto& a, const auto& b) { return a->meta().largest_seq > b->meta().largest_seq; });
    }
    segments_ = std::move(set);
    min_read_seq_ = std::max(min_read_seq_, oldest_snapshot);
    flushed_seq_ = needed;
    flush_bytes_written_ += *written;
    if (!dead_updates.empty()) live_exact_ = false;
    flushing_ = false;
    InstallViewLocked();
    cv_.SignalAll();
  }
  if (ctx_->listener) ctx_->listener->OnSegmentsChanged(this);
  return imm->payload_bytes();
}

Result<uint64_t> DatabaseCore::WriteFlushSegment(const std::shared_ptr<MemTable>& imm, SequenceNumber oldest_snapshot,
                                                 bool drop_tombstones, std::shared_ptr<const SegmentSet> older,
                                                 SegmentMeta* meta,
                                                 std::vector<std::pair<uint64_t, uint64_t>>* dead_updates) {
  const StorageOptions& opts = ctx_->options;
  uint64_t number = ctx_->manifest->NewFileNumber();
  std::string path = SegmentFileName(opts.data_dir, number);
  EBB_RETURN_IF_ERROR(ctx_->fs->CreateDir(SegmentDir(opts.data_dir)));
  EBB_ASSIGN_OR_RETURN(auto file, ctx_->fs->NewWritableFile(path));
  SegmentWriter writer(std::move(file), path, opts.segment, id_, ctx_->clock->WallMicros());

  // Older segments to probe for shadowed versions, with the bytes one entry
  // of each occupies on average.
  struct Probe {
    const SegmentFile* file;
    std::shared_ptr<Segment> seg;
    uint64_t bytes_per_entry;
    uint64_t dead;
  };
  std::vector<Probe> probes;
  for (const auto& f : *older) {
    if (static_cast<int>(probes.size()) >= opts.max_dead_probe_segments) break;
    if (f->meta().entries == 0) continue;
    auto seg = f->Open();
    if (!seg.ok()) continue;  // estimates only; a read error surfaces on the read path
    probes.push_back({f.get(), *seg, std::max<uint64_t>(1, f->meta().file_size / f->meta().entries), f->dead_bytes()});
  }

  uint64_t tombstone_bytes = 0;
  std::string current_key;
  bool has_current = false;
  SequenceNumber last_seq_for_key = kMaxSequenceNumber;
  auto it = imm->NewIterator();
  Status s;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey parsed;
    if (!ParseInternalKey(it->key(), &parsed)) return Status::Corruption("malformed key in memtable");
    bool first_version = !has_current || parsed.user_key != current_key;
    if (first_version) {
      current_key.assign(parsed.user_key);
      has_current = true;
      last_seq_for_key = kMaxSequenceNumber;
      // The newest older version of this key becomes garbage.
      uint64_t h = BloomHash(parsed.user_key);
      for (auto& p : probes) {
        const SegmentMeta& m = p.file->meta();
        if (parsed.user_key < std::string_view(m.smallest_key) || parsed.user_key > std::string_view(m.largest_key)) {
          continue;
        }
        if (p.seg->MayContainHash(h)) {
          p.dead = std::min(m.file_size, p.dead + p.bytes_per_entry);
          break;
        }
      }
    }
    bool drop = false;
    if (last_seq_for_key <= oldest_snapshot) {
      drop = true;  // a newer version is visible to every snapshot
    } else if (parsed.type == ValueType::kDeletion && drop_tombstones && parsed.sequence <= oldest_snapshot) {
      drop = true;  // nothing older exists for it to hide
    }
    last_seq_for_key = parsed.sequence;
    if (drop) continue;
    if (parsed.type == ValueType::kDeletion) tombstone_bytes += it->key().size() + 8;
    s = writer.Add(it->key(), it->value());
    if (!s.ok()) break;
  }
  if (s.ok()) s = it->status();
  if (!s.ok()) {
    (void)ctx_->fs->DeleteFile(path);
    return s;
  }
  EBB_ASSIGN_OR_RETURN(SegmentProperties props, writer.Finish());
  if (props.entries == 0) {
    (void)ctx_->fs->DeleteFile(path);
    *meta = SegmentMeta();
    meta->number = number;
    return uint64_t{0};
  }
  EBB_RETURN_IF_ERROR(ctx_->fs->SyncDir(SegmentDir(opts.data_dir)));
  meta->number = number;
  meta->db_id = id_;
  meta->file_size = writer.FileSize();
  meta->entries = props.entries;
  meta->tombstones = props.tombstones;
  meta->key_bytes = props.key_bytes;
  meta->value_bytes = props.value_bytes;
  meta->smallest_key = props.smallest_key;
  meta->largest_key = props.largest_key;
  meta->smallest_seq = props.smallest_seq;
  meta->largest_seq = props.largest_seq;
  meta->dead_bytes = std::min(tombstone_bytes, meta->file_size);
  meta->created_unix_micros = props.created_unix_micros;
  for (const auto& p : probes) {
    if (p.dead != p.file->dead_bytes()) dead_updates->emplace_back(p.file->meta().number, p.dead);
  }
  return meta->file_size;
}

Result<CompactionResult> DatabaseCore::Compact(const CompactionOptions& options) {
  std::vector<std::shared_ptr<SegmentFile>> inputs;
  SequenceNumber oldest_snapshot, start_seq;
  bool bottommost;
  {
    MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    if (!error_.ok()) return error_;
    if (compacting_) return Status::Busy(fmt::format("database {} is already being compacted", name_));
    const SegmentSet& set = *segments_;
    // Compaction works on local segments only: an evicted (tiered) segment is
    // cold data whose rewrite would mean fetching it back. Inputs are the
    // newest run of local segments, contiguous in age, so the output takes
    // their place in the order.
    size_t local_run = 0;
    while (local_run < set.size() && !set[local_run]->evicted()) local_run++;
    size_t n = options.full ? local_run : std::min(options.newest_segments, local_run);
    if (n == 0) return CompactionResult{};
    if (!options.full && n < 2) return CompactionResult{};
    if (options.full && n == 1 && set[0]->meta().tombstones == 0 && set[0]->dead_bytes() == 0) {
      return CompactionResult{};  // already one clean segment
    }
    inputs.assign(set.begin(), set.begin() + static_cast<long>(n));
    bottommost = n == set.size();
    oldest_snapshot = OldestSnapshotLocked();
    start_seq = visible_seq_.load(std::memory_order_acquire);
    compacting_ = true;
  }
  auto finish = [&](Status s) {
    MutexLock lock(&mu_);
    compacting_ = false;
    cv_.SignalAll();
    return s;
  };

  const StorageOptions& opts = ctx_->options;
  CompactionResult result;
  result.input_segments = inputs.size();
  std::vector<std::unique_ptr<InternalIterator>> children;
  for (const auto& f : inputs) {
    result.input_bytes += f->meta().file_size;
    auto seg = f->Open();
    if (!seg.ok()) return finish(seg.status().WithContext(fmt::format("compaction of database {}", name_)));
    children.push_back((*seg)->NewIterator());
  }
  auto merged = NewMergingIterator(std::move(children));

  std::vector<SegmentMeta> outputs;
  std::unique_ptr<SegmentWriter> writer;
  uint64_t tombstone_bytes = 0;
  auto close_output = [&]() -> Status {
    if (!writer) return Status::OK();
    EBB_ASSIGN_OR_RETURN(SegmentProperties props, writer->Finish());
    SegmentMeta m;
    m.number = 0;
    uint64_t number = 0;
    ParseNumberedName(BaseName(writer->path()), "", ".seg", &number);
    m.number = number;
    m.db_id = id_;
    m.file_size = writer->FileSize();
    m.entries = props.entries;
    m.tombstones = props.tombstones;
    m.key_bytes = props.key_bytes;
    m.value_bytes = props.value_bytes;
    m.smallest_key = props.smallest_key;
    m.largest_key = props.largest_key;
    m.smallest_seq = props.smallest_seq;
    m.largest_seq = props.largest_seq;
    m.dead_bytes = std::min(tombstone_bytes, m.file_size);
    m.created_unix_micros = props.created_unix_micros;
    outputs.push_back(std::move(m));
    writer.reset();
    tombstone_bytes = 0;
    return Status::OK();
  };
  auto abandon = [&](Status s) {
    // The output being written is not in `outputs` yet: delete it too.
    if (writer) {
      const std::string partial = writer->path();
      writer.reset();
      (void)ctx_->fs->DeleteFile(partial);
    }
    for (const auto& m : outputs) (void)ctx_->fs->DeleteFile(SegmentFileName(opts.data_dir, m.number));
    return finish(std::move(s));
  };

  std::string current_key;
  bool has_current = false;
  SequenceNumber last_seq_for_key = kMaxSequenceNumber;
  uint64_t since_stop_check = 0;
  Status s;
  for (merged->SeekToFirst(); merged->Valid(); merged->Next()) {
    if (++since_stop_check >= 1024) {
      since_stop_check = 0;
      if ((options.should_stop && options.should_stop()) || !open_.load(std::memory_order_acquire)) {
        return abandon(Status::Aborted(fmt::format("compaction of database {} was stopped", name_)));
      }
    }
    ParsedInternalKey parsed;
    if (!ParseInternalKey(merged->key(), &parsed)) {
      return abandon(Status::Corruption(fmt::format("compaction of database {}: malformed key", name_)));
    }
    bool first_version = !has_current || parsed.user_key != current_key;
    if (first_version) {
      // Split outputs only between keys, so every version of a key stays in
      // one segment.
      if (writer && writer->FileSize() >= opts.segment_target_bytes) {
        s = close_output();
        if (!s.ok()) return abandon(s);
      }
      current_key.assign(parsed.user_key);
      has_current = true;
      last_seq_for_key = kMaxSequenceNumber;
    }
    bool drop = false;
    if (last_seq_for_key <= oldest_snapshot) {
      drop = true;  // shadowed for every reader
    } else if (parsed.type == ValueType::kDeletion && bottommost && parsed.sequence <= oldest_snapshot) {
      drop = true;  // nothing older remains for the tombstone to hide
    }
    last_seq_for_key = parsed.sequence;
    if (drop) {
      result.dropped_entries++;
      continue;
    }
    if (!writer) {
      uint64_t number = ctx_->manifest->NewFileNumber();
      std::string path = SegmentFileName(opts.data_dir, number);
      auto file = ctx_->fs->NewWritableFile(path);
      if (!file.ok()) return abandon(file.status());
      writer = std::make_unique<SegmentWriter>(std::move(*file), path, opts.segment, id_, ctx_->clock->WallMicros());
      outputs.reserve(outputs.size() + 1);
    }
    if (parsed.type == ValueType::kDeletion) tombstone_bytes += merged->key().size() + 8;
    s = writer->Add(merged->key(), merged->value());
    if (!s.ok()) return abandon(s);
  }
  if (!merged->status().ok()) return abandon(merged->status().WithContext(fmt::format("compaction of database {}", name_)));
  s = close_output();
  if (!s.ok()) return abandon(s);
  s = ctx_->fs->SyncDir(SegmentDir(opts.data_dir));
  if (!s.ok()) return abandon(s);

  ManifestEdit edit;
  for (const auto& f : inputs) edit.RemoveSegment(id_, f->meta().number);
  for (const auto& m : outputs) {
    edit.AddSegment(m);
    result.output_bytes += m.file_size;
  }
  result.output_segments = outputs.size();
  bool exact;
  {
    MutexLock lock(&mu_);
    exact = options.full && segments_->size() == inputs.size();
  }
  if (options.full) edit.SetCompacted(id_, start_seq, exact);
  edit.AddCounters(id_, 0, result.output_bytes, 1);
  s = ctx_->manifest->Apply(edit, /*sync=*/true);
  if (!s.ok()) {
    {
      MutexLock lock(&mu_);
      if (error_.ok()) error_ = s;
    }
    return abandon(s);
  }
  {
    MutexLock lock(&mu_);
    auto set = std::make_shared<SegmentSet>();
    for (const auto& f : *segments_) {
      if (std::find(inputs.begin(), inputs.end(), f) == inputs.end()) set->push_back(f);
    }
    for (const auto& m : outputs) set->push_back(std::make_shared<SegmentFile>(ctx_, m));
    std::sort(set->begin(), set->end(),
              [](const auto& a, const auto& b) { return a->meta().largest_seq > b->meta().largest_seq; });
    segments_ = std::move(set);
    for (const auto& f : inputs) f->MarkObsolete();
    min_read_seq_ = std::max(min_read_seq_, oldest_snapshot);
    if (options.full) {
      compacted_seq_ = start_seq;
      live_exact_ = exact;
    }
    compaction_bytes_written_ += result.output_bytes;
    compactions_++;
    InstallViewLocked();
  }
  inputs.clear();  // the last references may delete the input files
  (void)finish(Status::OK());
  if (ctx_->listener) ctx_->listener->OnSegmentsChanged(this);
  return result;
}

std::shared_ptr<const SegmentSet> DatabaseCore::segment_set() const {
  MutexLock lock(&mu_);
  return segments_;
}

Status DatabaseCore::EvictSegment(uint64_t number) {
  std::shared_ptr<SegmentFile> file;
  {
    MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    for (const auto& f : *segments_) {
      if (f->meta().number == number) file = f;
    }
  }
  if (!file) return Status::NotFound(fmt::format("segment {:06}.seg is not a live segment of database {}", number, name_));
  if (file->evicted()) return Status::OK();
  // Keep the segment's filter locally, so point reads fetch only the
  // evicted segments that may hold their key. Written before the manifest
  // edit: once the segment is recorded as evicted its filter file exists.
  {
    EBB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, file->Open());
    EBB_RETURN_IF_ERROR(WriteFilterFile(ctx_->fs, file->filter_path(), seg->filter())
                            .WithContext(fmt::format("evict segment {:06}.seg", number)));
  }
  // Durable first: after a crash the manifest must not point reads at a
  // local file that is gone.
  ManifestEdit edit;
  edit.SetEvicted(id_, number, true);
  EBB_RETURN_IF_ERROR(ctx_->manifest->Apply(edit, /*sync=*/true));
  file->MarkEvicted();
  ctx_->segment_cache->Evict(number);
  Status s = ctx_->fs->DeleteFile(file->path());
  if (!s.ok() && !s.IsNotFound()) return s.WithContext(fmt::format("evict segment {:06}.seg", number));
  return Status::OK();
}

uint64_t DatabaseCore::DirtyBytes() const {
  MutexLock lock(&mu_);
  uint64_t bytes = mem_ ? mem_->payload_bytes() : 0;
  for (const auto& [imm, seq] : imms_) bytes += imm->payload_bytes();
  return bytes;
}

uint64_t DatabaseCore::ImmutableBytes() const {
  MutexLock lock(&mu_);
  uint64_t bytes = 0;
  for (const auto& [imm, seq] : imms_) bytes += imm->payload_bytes();
  return bytes;
}

size_t DatabaseCore::ImmutableCount() const {
  MutexLock lock(&mu_);
  return imms_.size();
}

size_t DatabaseCore::SegmentCount() const {
  MutexLock lock(&mu_);
  return segments_->size();
}

uint64_t DatabaseCore::DiskBytes() const {
  MutexLock lock(&mu_);
  uint64_t bytes = 0;
  for (const auto& f : *segments_) bytes += f->meta().file_size;
  return bytes;
}

DatabaseCore::CompactableSizes DatabaseCore::Compactable() const {
  MutexLock lock(&mu_);
  CompactableSizes c;
  for (const auto& f : *segments_) {
    if (f->evicted()) break;
    const SegmentMeta& m = f->meta();
    c.disk_bytes += m.file_size;
    c.live_bytes += m.file_size - std::min(m.file_size, f->dead_bytes());
    c.segments++;
  }
  return c;
}

uint64_t DatabaseCore::LiveBytes() const {
  MutexLock lock(&mu_);
  uint64_t bytes = 0;
  for (const auto& f : *segments_) bytes += f->meta().file_size - std::min(f->meta().file_size, f->dead_bytes());
  return bytes;
}

uint64_t DatabaseCore::MinJournalFileNeeded() const {
  MutexLock lock(&mu_);
  uint64_t n = UINT64_MAX;
  for (const auto& [imm, seq] : imms_) n = std::min(n, imm->min_journal_file());
  // A write in flight may have its record in the journal before it is in
  // the memtable.
  if (mem_ && (!mem_->empty() || !inflight_.empty())) n = std::min(n, mem_->min_journal_file());
  return n;
}

DatabaseStats DatabaseCore::GetStats() {
  DatabaseStats st;
  st.name = name_;
  MutexLock lock(&mu_);
  for (const auto& f : *segments_) {
    const SegmentMeta& m = f->meta();
    st.disk_bytes += m.file_size;
    if (f->evicted()) st.tiered_bytes += m.file_size;
    st.live_bytes += m.file_size - std::min(m.file_size, f->dead_bytes());
    st.entries += m.entries;
    st.tombstones += m.tombstones;
  }
  st.segments = segments_->size();
  auto add_mem = [&](const MemTable& mem) {
    st.memtable_bytes += mem.payload_bytes();
    st.entries += mem.entries();
    st.tombstones += mem.tombstones();
  };
  if (mem_) add_mem(*mem_);
  for (const auto& [imm, seq] : imms_) add_mem(*imm);
  st.live_bytes_exact = live_exact_ && st.memtable_bytes == 0;
  st.update_seq = visible_seq_.load(std::memory_order_acquire);
  st.compacted_seq = compacted_seq_;
  st.changes_since_compaction = st.update_seq - std::min(st.update_seq, compacted_seq_);
  st.flush_bytes_written = flush_bytes_written_;
  st.compaction_bytes_written = compaction_bytes_written_;
  st.compactions = compactions_;
  st.completion_passes = inflight_.drain_passes();
  st.completion_items = inflight_.drained_items();
  st.lock_wait_us = lock_wait_ns_.load(std::memory_order_relaxed) / 1000;
  return st;
}

void DatabaseCore::BeginClose(Status reason) {
  MutexLock lock(&mu_);
  open_.store(false, std::memory_order_release);
  if (closed_.ok()) closed_ = std::move(reason);
  cv_.SignalAll();
}

void DatabaseCore::WaitForWrites() {
  MutexLock lock(&mu_);
  while (!inflight_.empty()) cv_.Wait();
}

void DatabaseCore::WaitForBackgroundWork() {
  MutexLock lock(&mu_);
  while (flushing_ || compacting_) cv_.Wait();
}

void DatabaseCore::MarkDropped() {
  MutexLock lock(&mu_);
  open_.store(false, std::memory_order_release);
  if (ctx_->dirty_bytes) {
    uint64_t bytes = mem_ ? mem_->payload_bytes() : 0;
    for (const auto& [imm, seq] : imms_) bytes += imm->payload_bytes();
    ctx_->dirty_bytes->fetch_sub(bytes, std::memory_order_relaxed);
  }
  closed_ = Status::NotFound(fmt::format("database {} was dropped", name_));
  for (const auto& f : *segments_) f->MarkObsolete();
  cv_.SignalAll();
}

Status DatabaseCore::error() const {
  MutexLock lock(&mu_);
  return error_;
}

}  // namespace ebb
