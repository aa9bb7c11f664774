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
#include "storage/segment_cache.h"

namespace ebb {

// Database core: construction, reads, snapshots, iterators, recovery replay,
// gauges, statistics and close. The write path is in database_write.cc,
// flushes in database_flush.cc, compaction in database_compaction.cc,
// segment files and eviction in segment_file.cc.

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
  for (const auto& seg : meta.segments) set->push_back(std::make_shared<SegmentFile>(ctx, seg, tier_name()));
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

std::string DatabaseCore::tier_name() const { return fmt::format("{}#{}", name_, id_); }

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

namespace {

// What a read returns for the newest visible entry of a key: a tombstone or
// an expired value is absent; a value with an expiry loses its deadline
// prefix (into *expire_at_ms).
Status ResolveFound(ValueType type, int64_t now_ms, std::string* value, int64_t* expire_at_ms) {
  if (ReadsAsAbsent(type, *value, now_ms)) return Status::NotFound(std::string());
  int64_t deadline = 0;
  if (type == ValueType::kValueWithDeadline) {
    std::string_view rest;
    DecodeValueWithDeadline(*value, &deadline, &rest);
    value->erase(0, kDeadlineBytes);
  }
  if (expire_at_ms != nullptr) *expire_at_ms = deadline;
  return Status::OK();
}

// The newest entry of key in the view's memtables; true if one is there.
bool FindInMemtables(const ReadView& view, std::string_view key, uint64_t bloom_hash, SequenceNumber seq,
                     std::string* value, ValueType* type) {
  if (view.mem && view.mem->MayContain(bloom_hash) && view.mem->Get(key, bloom_hash, seq, value, type)) return true;
  for (const auto& imm : view.imms) {
    if (imm->MayContain(bloom_hash) && imm->Get(key, bloom_hash, seq, value, type)) return true;
  }
  return false;
}

// Whether a segment can hold key at seq, by its metadata alone.
bool InRange(const SegmentMeta& meta, std::string_view key, SequenceNumber seq) {
  return meta.smallest_seq <= seq && key >= std::string_view(meta.smallest_key) &&
         key <= std::string_view(meta.largest_key);
}

// Searches an open segment for a key its file's filter let through;
// `resident` says that filter was the resident one (so the segment's own
// copy need not be probed again).
Result<bool> SearchSegment(const Segment& seg, bool resident, std::string_view key, uint64_t bloom_hash,
                           SequenceNumber seq, std::string* value, ValueType* type) {
  return resident ? seg.GetPastFilter(key, seq, value, type) : seg.Get(key, bloom_hash, seq, value, type);
}

}  // namespace

DatabaseCore::ReadPoint DatabaseCore::BeginRead(const ReadOptions& options) const {
  // The sequence first, then the view: any view taken after the sequence
  // holds every write that sequence covers.
  ReadPoint at;
  at.seq = options.snapshot ? options.snapshot->sequence() : visible_seq_.load(std::memory_order_acquire);
  at.view = CurrentView();
  if (!options.snapshot) at.seq = std::max(at.seq, at.view->min_read_seq);
  at.now_ms = options.expiry_as_of_ms != 0 ? options.expiry_as_of_ms : ctx_->clock->WallMicros() / 1000;
  return at;
}

Status DatabaseCore::Get(const ReadOptions& options, std::string_view key, std::string* value, int64_t* expire_at_ms) {
  if (!open_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    return closed_;
  }
  const auto [seq, view, now_ms] = BeginRead(options);
  ValueType type;
  const uint64_t bloom_hash = BloomHash(key);  // for every filter
  if (FindInMemtables(*view, key, bloom_hash, seq, value, &type)) {
    return ResolveFound(type, now_ms, value, expire_at_ms);
  }
  for (const auto& file : *view->segments) {
    if (!InRange(file->meta(), key, seq)) continue;
    const bool resident = file->HasResidentFilter();
    if (!file->MayContain(bloom_hash)) continue;  // resident filter: no open
    EBB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, file->Open());
    EBB_ASSIGN_OR_RETURN(bool found, SearchSegment(*seg, resident, key, bloom_hash, seq, value, &type));
    if (found) return ResolveFound(type, now_ms, value, expire_at_ms);
  }
  return Status::NotFound(std::string());
}

void DatabaseCore::MultiGet(const ReadOptions& options, const std::vector<std::string>& keys,
                            std::vector<std::string>* values, std::vector<Status>* statuses) {
  const size_t n = keys.size();
  values->assign(n, std::string());
  if (!open_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    statuses->assign(n, closed_);
    return;
  }
  statuses->assign(n, Status::NotFound(std::string()));
  // Named variables, not a structured binding: the lambda below uses them.
  const ReadPoint at = BeginRead(options);
  const SequenceNumber seq = at.seq;
  const std::shared_ptr<const ReadView>& view = at.view;
  const int64_t now_ms = at.now_ms;
  std::vector<uint64_t> hashes(n);
  std::vector<size_t> missing(n);  // keys not answered yet, in order
  for (size_t i = 0; i < n; i++) {
    hashes[i] = BloomHash(keys[i]);
    missing[i] = i;
  }
  // Memtable by memtable, newest first, as segments are below: every key's
  // filter line is prefetched before any is probed, then the index slot of
  // every key the filter lets through before any is looked up.
  std::vector<size_t> maybe;  // of missing, the ones the filter let through
  auto search_memtable = [&](const MemTable& mem) {
    for (size_t i : missing) mem.PrefetchFilter(hashes[i]);
    maybe.clear();
    for (size_t i : missing) {
      if (mem.MayContain(hashes[i])) {
        mem.PrefetchIndex(hashes[i]);
        maybe.push_back(i);
      }
    }
    if (maybe.empty()) return;
    size_t kept = 0;
    size_t next_maybe = 0;
    for (size_t i : missing) {
      ValueType type;
      if (next_maybe < maybe.size() && maybe[next_maybe] == i) {
        next_maybe++;
        if (mem.Get(keys[i], hashes[i], seq, &(*values)[i], &type)) {
          (*statuses)[i] = ResolveFound(type, now_ms, &(*values)[i], nullptr);
          continue;
        }
      }
      missing[kept++] = i;
    }
    missing.resize(kept);
  };
  if (view->mem) search_memtable(*view->mem);
  for (const auto& imm : view->imms) {
    if (missing.empty()) break;
    search_memtable(*imm);
  }
  std::vector<bool> in_range;  // of missing[m], for the segment at hand
  // Segment by segment, newest first, for every key still missing: each
  // key's filter line is prefetched before any is probed, so their cache
  // misses overlap instead of following one another.
  for (const auto& file : *view->segments) {
    if (missing.empty()) break;
    const SegmentMeta& meta = file->meta();
    in_range.assign(missing.size(), false);
    for (size_t m = 0; m < missing.size(); m++) {
      in_range[m] = InRange(meta, keys[missing[m]], seq);
      if (in_range[m]) file->PrefetchFilter(hashes[missing[m]]);
    }
    const bool resident = file->HasResidentFilter();
    std::shared_ptr<Segment> seg;
    Status open_status;
    size_t kept = 0;
    for (size_t m = 0; m < missing.size(); m++) {
      const size_t i = missing[m];
      bool answered = false;
      if (in_range[m] && file->MayContain(hashes[i])) {
        if (seg == nullptr && open_status.ok()) {
          auto opened = file->Open();
          if (opened.ok()) {
            seg = std::move(*opened);
          } else {
            open_status = opened.status();
          }
        }
        ValueType type;
        Result<bool> found = seg ? SearchSegment(*seg, resident, keys[i], hashes[i], seq, &(*values)[i], &type)
                                 : Result<bool>(open_status);
        if (!found.ok()) {
          (*statuses)[i] = found.status();
          answered = true;
        } else if (*found) {
          (*statuses)[i] = ResolveFound(type, now_ms, &(*values)[i], nullptr);
          answered = true;
        }
      }
      if (!answered) missing[kept++] = i;
    }
    missing.resize(kept);
  }
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
    return NewDBIterator(NewErrorIterator(closed_), 0, 0, "", nullptr);
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
      children.push_back(NewEvictedSegmentIterator(file));
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
  return NewDBIterator(NewMergingIterator(std::move(children)), seq, ctx_->clock->WallMicros() / 1000,
                       options.upper_bound, std::move(keepalive));
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
  if (mem_ == nullptr) mem_ = NewMemTable(journal_file);
  if (mem_->payload_bytes() >= ctx_->options.memtable_bytes) {
    imms_.insert(imms_.begin(), {mem_, last_seq_});
    mem_ = NewMemTable(journal_file);
  }
  ApplyToMemtable(mem_.get(), first_seq, batch);
  last_seq_ = first_seq + batch.Count() - 1;
  visible_seq_.store(last_seq_, std::memory_order_release);
  changes_.fetch_add(batch.Count(), std::memory_order_relaxed);
  InstallViewLocked();
  return Status::OK();
}

std::shared_ptr<const SegmentSet> DatabaseCore::segment_set() const {
  MutexLock lock(&mu_);
  return segments_;
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

namespace {

// The bytes of a segment's values with an expiry that are surely due at
// `now_ms`: its share of such entries, times the eighths of them due.
double ExpiringBytes(const SegmentMeta& m) {
  if (m.entries == 0 || m.expiry.empty()) return 0;
  return static_cast<double>(m.file_size) * static_cast<double>(m.expiry.count) / static_cast<double>(m.entries);
}

uint64_t DueBytes(const SegmentMeta& m, int64_t now_ms) {
  return static_cast<uint64_t>(ExpiringBytes(m) * m.expiry.DueEighths(now_ms) / 8);
}

}  // namespace

DatabaseCore::ExpirySummary DatabaseCore::Expiry(int64_t now_ms, int64_t coalesce_ms) {
  ExpirySummary summary;
  MutexLock lock(&mu_);
  for (const auto& f : *segments_) {
    if (f->evicted()) break;  // compaction stops at the first evicted segment
    const SegmentMeta& m = f->meta();
    summary.local_bytes += m.file_size;
    if (m.expiry.empty()) continue;
    summary.due_bytes += DueBytes(m, now_ms);
    summary.next_due_ms = std::min(summary.next_due_ms, m.expiry.NextDueMs(now_ms, coalesce_ms));
    if (m.expiry.DueEighths(now_ms) == 0 && m.expiry.earliest_ms() < summary.first_deadline_ms) {
      summary.first_deadline_ms = m.expiry.earliest_ms();
      summary.value_bytes = std::max<uint64_t>(1, static_cast<uint64_t>(ExpiringBytes(m) / m.expiry.count));
    }
  }
  return summary;
}

DatabaseStats DatabaseCore::GetStats() {
  DatabaseStats st;
  st.name = name_;
  const int64_t now_ms = ctx_->clock->WallMicros() / 1000;
  int64_t earliest = INT64_MAX;
  MutexLock lock(&mu_);
  for (const auto& f : *segments_) {
    const SegmentMeta& m = f->meta();
    st.disk_bytes += m.file_size;
    if (f->evicted()) st.tiered_bytes += m.file_size;
    st.live_bytes += m.file_size - std::min(m.file_size, f->dead_bytes());
    st.entries += m.entries;
    st.tombstones += m.tombstones;
    if (!m.expiry.empty()) {
      st.expiring += m.expiry.count;
      earliest = std::min(earliest, m.expiry.earliest_ms());
      st.expired += m.expiry.count * m.expiry.DueEighths(now_ms) / 8;
      st.expired_bytes += DueBytes(m, now_ms);
    }
  }
  st.segments = segments_->size();
  auto add_mem = [&](const MemTable& mem) {
    st.memtable_bytes += mem.payload_bytes();
    st.entries += mem.entries();
    st.tombstones += mem.tombstones();
    st.expiring += mem.expiring();
    earliest = std::min(earliest, mem.earliest_expiry_ms());
  };
  if (mem_) add_mem(*mem_);
  for (const auto& [imm, seq] : imms_) add_mem(*imm);
  st.earliest_expiry_ms = earliest == INT64_MAX ? 0 : earliest;
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
  st.lock_acquisitions = lock_acquisitions_.load(std::memory_order_relaxed);
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
  completion_waiters_.fetch_add(1, std::memory_order_seq_cst);
  while (!inflight_.empty()) cv_.Wait();
  completion_waiters_.fetch_sub(1, std::memory_order_relaxed);
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

}  // namespace ebb
