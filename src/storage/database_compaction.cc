#include "storage/database_core.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/bloom.h"
#include "storage/journal.h"
#include "storage/merging_iterator.h"
#include "storage/obsolete_files.h"
#include "storage/segment_cache.h"
#include "storage/store_errors.h"

namespace ebb {

// Compaction: merging a database's newest run of local segments into new
// ones, swapped in atomically while reads and writes go on.

Result<CompactionResult> DatabaseCore::Compact(const CompactionOptions& options) {
  std::vector<std::shared_ptr<SegmentFile>> inputs;
  SequenceNumber oldest_snapshot, start_seq;
  bool bottommost;
  // A read-only store starts no compaction (its edit could not be written).
  EBB_RETURN_IF_ERROR(ctx_->errors->CheckWritable());
  {
    MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    if (has_error_.load()) return error();
    if (options.wait_for_running) {
      while (compacting_ && closed_.ok() && !has_error_.load()) cv_.Wait();
      if (!closed_.ok()) return closed_;
      if (has_error_.load()) return error();
    }
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
    const SegmentMeta& only = set[0]->meta();
    const bool expired_inside = !only.expiry.empty() && only.expiry.earliest_ms() <= ctx_->clock->WallMicros() / 1000;
    if (options.full && n == 1 && only.tombstones == 0 && set[0]->dead_bytes() == 0 && !expired_inside) {
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
    m.checksum = writer->FileChecksum();
    m.entries = props.entries;
    m.tombstones = props.tombstones;
    m.expiry = props.expiry;
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
  const int64_t now_ms = ctx_->clock->WallMicros() / 1000;
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
    // A value past its expiry reads as absent for every reader that sees
    // it, whatever their snapshot: it is a tombstone from now on.
    const bool expired =
        parsed.type == ValueType::kValueWithDeadline && ReadsAsAbsent(parsed.type, merged->value(), now_ms);
    bool drop = false;
    if (last_seq_for_key <= oldest_snapshot) {
      drop = true;  // shadowed for every reader
    } else if ((parsed.type == ValueType::kDeletion || expired) && bottommost && parsed.sequence <= oldest_snapshot) {
      drop = true;  // nothing older remains for the tombstone to hide
    }
    last_seq_for_key = parsed.sequence;
    if (drop) {
      result.dropped_entries++;
      if (expired) result.expired_entries++;
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
    if (expired) {
      // Kept as a tombstone without its value: older versions in segments
      // outside this compaction may still need hiding.
      const std::string tombstone = MakeInternalKey(parsed.user_key, parsed.sequence, ValueType::kDeletion);
      tombstone_bytes += tombstone.size() + 8;
      result.expired_entries++;
      s = writer->Add(tombstone, {});
    } else {
      if (parsed.type == ValueType::kDeletion) tombstone_bytes += merged->key().size() + 8;
      s = writer->Add(merged->key(), merged->value());
    }
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
  s = ctx_->manifest->Apply(edit);
  if (!s.ok()) {
    // The edit may have landed: inputs and outputs are all kept (the next
    // open uses one set and moves the other to lost+found/); the store is
    // read-only now (StoreErrors). Reads go on from the inputs.
    return finish(s.WithContext(fmt::format("compaction of database {}", name_)));
  }
  {
    MutexLock lock(&mu_);
    auto set = std::make_shared<SegmentSet>();
    for (const auto& f : *segments_) {
      if (std::find(inputs.begin(), inputs.end(), f) == inputs.end()) set->push_back(f);
    }
    for (const auto& m : outputs) set->push_back(std::make_shared<SegmentFile>(ctx_, m, tier_name()));
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
  {
    // Inputs no reader holds any more are deleted here, by the compaction,
    // as it lets go of them (obsolete_files.h).
    ObsoleteFiles::InlineScope delete_here;
    inputs.clear();
  }
  (void)finish(Status::OK());
  if (ctx_->listener) ctx_->listener->OnSegmentsChanged(this);
  return result;
}

}  // namespace ebb
