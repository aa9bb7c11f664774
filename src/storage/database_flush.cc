#include "storage/database_core.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/bloom.h"
#include "storage/journal.h"
#include "storage/merging_iterator.h"
#include "storage/segment_cache.h"
#include "storage/store_errors.h"

namespace ebb {

// Flushes: immutable memtables written to segment files, oldest first.

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
  EBB_ASSIGN_OR_RETURN(std::optional<PreparedFlush> flush, PrepareFlush(wait_if_busy));
  if (!flush) return uint64_t{0};
  // The new segment's directory entry must be durable before the edit
  // that names it.
  Status s = ctx_->fs->SyncDir(SegmentDir(ctx_->options.data_dir));
  if (!s.ok()) {
    AbortFlush(&*flush, s);
    return s.WithContext(fmt::format("flush of database {}", name_));
  }
  ManifestEdit edit;
  AddFlushToEdit(*flush, &edit);
  s = ctx_->manifest->Apply(edit);
  if (!s.ok()) {
    AbortFlush(&*flush, s);
    return s.WithContext(fmt::format("flush of database {}", name_));
  }
  return InstallFlush(std::move(*flush));
}

Result<std::optional<DatabaseCore::PreparedFlush>> DatabaseCore::PrepareFlush(bool wait_if_busy) {
  PreparedFlush f;
  // A read-only store starts no flush: its edit could not be written, and
  // every attempt would leave another segment file behind.
  EBB_RETURN_IF_ERROR(ctx_->errors->CheckWritable());
  {
    MutexLock lock(&mu_);
    while (wait_if_busy && flushing_ && closed_.ok() && !has_error_.load()) cv_.Wait();
    if (!closed_.ok()) return closed_;
    if (has_error_.load()) return error();
    if (flushing_ || imms_.empty()) return std::optional<PreparedFlush>();
    flushing_ = true;
    f.imm = imms_.back().first;
    f.needed = imms_.back().second;
    // Every write into this memtable must be completed first (the
    // completion step wakes registered waiters).
    completion_waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (visible_seq_.load(std::memory_order_seq_cst) < f.needed && !has_error_.load() && closed_.ok()) cv_.Wait();
    completion_waiters_.fetch_sub(1, std::memory_order_relaxed);
    if (has_error_.load() || visible_seq_.load() < f.needed) {
      flushing_ = false;
      cv_.SignalAll();
      return has_error_.load() ? error() : closed_;
    }
    f.oldest_snapshot = OldestSnapshotLocked();
    f.older = segments_;
    // With nothing older on disk, a tombstone shadows nothing: drop it.
    f.drop_tombstones = f.older->empty() && imms_.size() == 1;
  }
  // Room first: a flush that runs out of space half-way wastes the work
  // and the disk's last bytes. Not enough is not an error of the store:
  // the memtable stays and the flush is tried again later.
  if (Status room = CheckRoomForFlush(f.imm->payload_bytes()); !room.ok()) {
    NotFlushing();
    return room;
  }
  auto written = WriteFlushSegment(f.imm, f.oldest_snapshot, f.drop_tombstones, f.older, &f.meta, &f.dead_updates);
  if (!written.ok()) {
    Status s = written.status().WithContext(fmt::format("flush of database {}", name_));
    if (!s.IsNoSpace()) {
      // Sticky, like a journal failure: a disk that fails writes would
      // fail the next flush too, and the memtables it leaves bound writers.
      SetError(s);
    }  // Out of space: the partial segment is gone and nothing names it; retried later.
    NotFlushing();
    return s;
  }
  f.written = *written;
  return std::optional<PreparedFlush>(std::move(f));
}

void DatabaseCore::NotFlushing() {
  MutexLock lock(&mu_);
  flushing_ = false;
  cv_.SignalAll();
}

void DatabaseCore::AbortFlush(PreparedFlush* flush, const Status& why) {
  // The edit may have landed (or was never written): the new segment is
  // kept (the next open uses it or moves it to lost+found/), and so is the
  // memtable, so reads go on. A manifest failure made the store read-only
  // (StoreErrors); a directory sync failure is this database's.
  if (!ctx_->errors->failed()) SetError(why.WithContext(fmt::format("flush of database {}", name_)));
  NotFlushing();
}

void DatabaseCore::AddFlushToEdit(const PreparedFlush& f, ManifestEdit* edit) {
  MutexLock lock(&mu_);
  uint64_t log_number = UINT64_MAX;
  for (size_t i = 0; i + 1 < imms_.size(); i++) log_number = std::min(log_number, imms_[i].first->min_journal_file());
  if (mem_ && !mem_->empty()) log_number = std::min(log_number, mem_->min_journal_file());
  if (log_number == UINT64_MAX) log_number = ctx_->journal->CurrentFileNumber();
  if (f.meta.entries > 0) edit->AddSegment(f.meta);
  edit->SetFlushed(id_, log_number, f.needed);
  for (const auto& [number, dead] : f.dead_updates) edit->SetDeadBytes(id_, number, dead);
  if (live_exact_ && !f.dead_updates.empty()) edit->SetCompacted(id_, compacted_seq_, false);
  edit->AddCounters(id_, f.written, 0, 0);
}

uint64_t DatabaseCore::InstallFlush(PreparedFlush f) {
  {
    MutexLock lock(&mu_);
    imms_.pop_back();
    if (ctx_->dirty_bytes) ctx_->dirty_bytes->fetch_sub(f.imm->payload_bytes(), std::memory_order_relaxed);
    auto set = std::make_shared<SegmentSet>(*segments_);
    std::unordered_map<uint64_t, uint64_t> dead(f.dead_updates.begin(), f.dead_updates.end());
    for (auto& file : *set) {
      auto it = dead.find(file->meta().number);
      if (it != dead.end()) file->set_dead_bytes(it->second);
    }
    if (f.meta.entries > 0) {
      set->insert(set->begin(), std::make_shared<SegmentFile>(ctx_, f.meta, tier_name()));
      std::sort(set->begin(), set->end(),
                [](const auto& a, const auto& b) { return a->meta().largest_seq > b->meta().largest_seq; });
    }
    segments_ = std::move(set);
    min_read_seq_ = std::max(min_read_seq_, f.oldest_snapshot);
    flushed_seq_ = f.needed;
    flush_bytes_written_ += f.written;
    if (!f.dead_updates.empty()) live_exact_ = false;
    flushing_ = false;
    InstallViewLocked();
    cv_.SignalAll();
  }
  if (ctx_->listener) ctx_->listener->OnSegmentsChanged(this);
  return f.imm->payload_bytes();
}

Status DatabaseCore::CheckRoomForFlush(uint64_t payload_bytes) const {
  // A segment holds the payload plus index, filter and framing: an eighth
  // more is ample; the margin covers the manifest edit.
  const uint64_t needed = payload_bytes + payload_bytes / 8 + kFlushSpaceMarginBytes;
  auto free = ctx_->fs->GetFreeSpace(ctx_->options.data_dir);
  if (!free.ok() || *free >= needed) return Status::OK();  // unknown: try
  return Status::NoSpace(fmt::format(
      "flush of database {} postponed: it needs about {} bytes and {} has {} free; free space there and it is "
      "retried (writes go on until the journal or memory limits stop them)",
      name_, needed, ctx_->options.data_dir, *free));
}

Result<uint64_t> DatabaseCore::WriteFlushSegment(const std::shared_ptr<MemTable>& imm, SequenceNumber oldest_snapshot,
                                                 bool drop_tombstones, std::shared_ptr<const SegmentSet> older,
                                                 SegmentMeta* meta,
                                                 std::vector<std::pair<uint64_t, uint64_t>>* dead_updates) {
  const StorageOptions& opts = ctx_->options;
  uint64_t number = ctx_->manifest->NewFileNumber();
  std::string path = SegmentFileName(opts.data_dir, number);
  EBB_RETURN_IF_ERROR(CreateDirDurably(ctx_->fs, SegmentDir(opts.data_dir)));
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
    // Never an evicted one: an estimate is not worth a download from the
    // object store on every flush (nor a flush waiting on an outage).
    if (f->evicted()) continue;
    auto seg = f->Open(/*touch=*/false);  // an estimate, not a read: eviction's LRU ignores it
    if (!seg.ok()) continue;  // estimates only; a read error surfaces on the read path
    probes.push_back({f.get(), *seg, std::max<uint64_t>(1, f->meta().file_size / f->meta().entries), f->dead_bytes()});
  }

  // The newest older version of each flushed key becomes garbage: its
  // segment (the first, newest first, whose filter may hold the key) gets
  // the bytes of an average entry. Keys are probed a batch at a time, every
  // filter line of the batch prefetched before any is read, so the cache
  // misses (a key times the probed segments) overlap instead of following
  // one another: one at a time, a flush of random keys over many segments
  // spent most of its CPU waiting on them.
  constexpr size_t kProbeBatch = 16;
  struct Pending {
    std::string_view user_key;  // in the memtable, which outlives the flush
    uint64_t hash;
  };
  std::vector<Pending> pending;
  pending.reserve(kProbeBatch);
  auto in_range = [](const Probe& p, std::string_view user_key) {
    const SegmentMeta& m = p.file->meta();
    return user_key >= std::string_view(m.smallest_key) && user_key <= std::string_view(m.largest_key);
  };
  auto probe_pending = [&] {
    for (const Pending& k : pending) {
      for (const Probe& p : probes) {
        if (in_range(p, k.user_key)) p.seg->PrefetchFilter(k.hash);
      }
    }
    for (const Pending& k : pending) {
      for (Probe& p : probes) {
        if (in_range(p, k.user_key) && p.seg->MayContainHash(k.hash)) {
          p.dead = std::min(p.file->meta().file_size, p.dead + p.bytes_per_entry);
          break;
        }
      }
    }
    pending.clear();
  };

  uint64_t tombstone_bytes = 0;
  std::string_view current_key;
  bool has_current = false;
  SequenceNumber last_seq_for_key = kMaxSequenceNumber;
  const int64_t now_ms = ctx_->clock->WallMicros() / 1000;
  auto it = imm->NewIterator();
  Status s;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey parsed;
    if (!ParseInternalKey(it->key(), &parsed)) return Status::Corruption("malformed key in memtable");
    bool first_version = !has_current || parsed.user_key != current_key;
    if (first_version) {
      current_key = parsed.user_key;
      has_current = true;
      last_seq_for_key = kMaxSequenceNumber;
      if (!probes.empty()) {
        pending.push_back({parsed.user_key, BloomHash(parsed.user_key)});
        if (pending.size() == kProbeBatch) probe_pending();
      }
    }
    // A value past its expiry is a tombstone from now on (see compaction).
    const bool expired =
        parsed.type == ValueType::kValueWithDeadline && ReadsAsAbsent(parsed.type, it->value(), now_ms);
    bool drop = false;
    if (last_seq_for_key <= oldest_snapshot) {
      drop = true;  // a newer version is visible to every snapshot
    } else if ((parsed.type == ValueType::kDeletion || expired) && drop_tombstones &&
               parsed.sequence <= oldest_snapshot) {
      drop = true;  // nothing older exists for it to hide
    }
    last_seq_for_key = parsed.sequence;
    if (drop) continue;
    if (expired) {
      const std::string tombstone = MakeInternalKey(parsed.user_key, parsed.sequence, ValueType::kDeletion);
      tombstone_bytes += tombstone.size() + 8;
      s = writer.Add(tombstone, {});
    } else {
      if (parsed.type == ValueType::kDeletion) tombstone_bytes += it->key().size() + 8;
      s = writer.Add(it->key(), it->value());
    }
    if (!s.ok()) break;
  }
  if (s.ok()) s = it->status();
  if (!s.ok()) {
    (void)ctx_->fs->DeleteFile(path);
    return s;
  }
  probe_pending();
  EBB_ASSIGN_OR_RETURN(SegmentProperties props, writer.Finish());
  if (props.entries == 0) {
    (void)ctx_->fs->DeleteFile(path);
    *meta = SegmentMeta();
    meta->number = number;
    return uint64_t{0};
  }
  // The caller syncs the segment directory (once for a batch of flushes).
  meta->number = number;
  meta->db_id = id_;
  meta->file_size = writer.FileSize();
  meta->checksum = writer.FileChecksum();
  meta->entries = props.entries;
  meta->tombstones = props.tombstones;
  meta->expiry = props.expiry;
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

}  // namespace ebb
