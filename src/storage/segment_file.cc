#include "storage/segment_file.h"

#include "storage/database_core.h"

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/logging.h"
#include "base/sync_point.h"
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

// Segment files: opening (locally or from the object store once evicted),
// deletion once obsolete, and eviction of a database's segment.

SegmentFile::SegmentFile(const StorageContext* ctx, SegmentMeta meta, std::string database)
    : ctx_(ctx),
      meta_(std::move(meta)),
      database_(std::move(database)),
      path_(SegmentFileName(ctx_->options.data_dir, meta_.number)),
      evicted_(meta_.evicted),
      dead_bytes_(meta_.dead_bytes),
      last_access_micros_(meta_.created_unix_micros) {
  if (!evicted_ && ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_add(meta_.file_size);
  if (ctx_->open_segments) ctx_->open_segments->Add(meta_.number);
}

SegmentFile::~SegmentFile() {
  if (ctx_->open_segments) ctx_->open_segments->Remove(meta_.number);
  const uint64_t local_bytes = evicted_.load(std::memory_order_acquire) ? 0 : meta_.file_size;
  if (!obsolete_.load(std::memory_order_acquire)) {
    // Still on disk and named by the manifest (its database or the store
    // is closing): leaves the gauge with this object.
    if (ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_sub(local_bytes);
    return;
  }
  // Unmapped and deleted on the deleter's thread: this may be a reader
  // dropping the last view of a compaction's inputs (obsolete_files.h). Its
  // bytes leave the local gauge once the file is gone.
  ctx_->obsolete_files->Add(meta_.number, {path(), filter_path()}, local_bytes);
}

std::string SegmentFile::filter_path() const { return SegmentFilterFileName(ctx_->options.data_dir, meta_.number); }

bool SegmentFile::MayContain(uint64_t bloom_hash) const {
  const std::string* filter = filter_.load(std::memory_order_acquire);
  if (filter == nullptr && evicted()) {
    // Read the local filter file once; a missing or damaged one costs a
    // fetch (the segment's own filter is consulted), never a wrong answer.
    MutexLock lock(&filter_mu_);
    if (!filter_file_tried_ && filter_owner_ == nullptr) {
      filter_file_tried_ = true;
      auto read = ReadFilterFile(ctx_->fs, filter_path());
      if (read.ok()) {
        filter_owner_ = std::make_unique<const std::string>(std::move(*read));
        filter_.store(filter_owner_.get(), std::memory_order_release);
      } else {
        EBB_LOG(kWarn, "segment {:06}: {}; reads fetch the evicted segment to check its own filter", meta_.number,
                read.status().ToString());
      }
    }
    filter = filter_.load(std::memory_order_acquire);
  }
  return filter == nullptr || BloomMayContainHash(*filter, bloom_hash);
}

void SegmentFile::PrefetchFilter(uint64_t bloom_hash) const {
  const std::string* filter = filter_.load(std::memory_order_acquire);
  if (filter != nullptr) BloomPrefetch(*filter, bloom_hash);
}

void SegmentFile::KeepFilter(std::string filter) const {
  MutexLock lock(&filter_mu_);
  if (filter_owner_ != nullptr) return;
  filter_owner_ = std::make_unique<const std::string>(std::move(filter));
  filter_.store(filter_owner_.get(), std::memory_order_release);
}

bool SegmentFile::MarkEvicted() {
  if (evicted_.exchange(true, std::memory_order_acq_rel)) return false;
  if (ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_sub(meta_.file_size);
  return true;
}

bool SegmentFile::MarkLocal() {
  if (!evicted_.exchange(false, std::memory_order_acq_rel)) return false;
  if (ctx_->local_segment_bytes) ctx_->local_segment_bytes->fetch_add(meta_.file_size);
  return true;
}

void OpenSegments::Add(uint64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_[number]++;
}

void OpenSegments::Remove(uint64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(number);
  if (it != counts_.end() && --it->second <= 0) counts_.erase(it);
}

std::set<uint64_t> OpenSegments::Numbers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<uint64_t> out;
  for (const auto& [number, count] : counts_) out.insert(number);
  return out;
}

Result<std::shared_ptr<Segment>> SegmentFile::Open(bool touch) const {
  // Only eviction (tiering) uses the access time: no clock read otherwise.
  if (touch && ctx_->remote != nullptr && ctx_->remote->load(std::memory_order_relaxed) != nullptr) {
    last_access_micros_.store(ctx_->clock->WallMicros(), std::memory_order_relaxed);
  }
  if (!evicted()) {
    EBB_SYNC_POINT("SegmentFile::Open:local");
    auto local = ctx_->segment_cache->Get(meta_.number, path_);
    if (local.ok() && filter_.load(std::memory_order_relaxed) == nullptr) {
      KeepFilter(std::string((*local)->filter()));
    }
    if (local.ok() || !local.status().IsNotFound()) return local;
    // Evicted meanwhile (EvictSegment marks before it deletes): go remote.
    // Otherwise the manifest names a file the disk lacks: never "key absent".
    if (!evicted()) {
      return Status::Corruption(fmt::format(
          "segment file {} is missing, though the manifest names it (database id {}, {} entries, sequences {} to "
          "{}); its data cannot be read: restore the file or the data directory from a backup",
          path(), meta_.db_id, meta_.entries, meta_.smallest_seq, meta_.largest_seq));
    }
  }
  return ctx_->segment_cache->GetOrOpen(meta_.number, [this]() -> Result<std::shared_ptr<Segment>> {
    RemoteSegmentSource* remote = ctx_->remote ? ctx_->remote->load(std::memory_order_acquire) : nullptr;
    if (remote == nullptr) {
      return Status::Unavailable(fmt::format(
          "segment {:06}.seg was evicted to the object store, and tiering is not running; enable [tiering] with the "
          "same store to read it", meta_.number));
    }
    return remote->OpenEvicted(database_, meta_);
  }, /*remote=*/true);
}

// Iterates an evicted segment, fetching it (through SegmentFile::Open) only
// when a positioning call can land inside its key range: a bounded scan of
// recent keys does not download every cold segment of the database.
namespace {

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

std::unique_ptr<InternalIterator> NewEvictedSegmentIterator(std::shared_ptr<SegmentFile> file) {
  return std::make_unique<EvictedSegmentIterator>(std::move(file));
}

Status DatabaseCore::EvictSegment(uint64_t number) {
  MutexLock tier_lock(&tier_mu_);
  std::shared_ptr<SegmentFile> file;
  {
    MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    for (const auto& f : *segments_) {
      if (f->meta().number == number) file = f;
    }
  }
  if (!file) return Status::NotFound(fmt::format("segment {:06}.seg is not a live segment of database {}", number, name_));
  EBB_RETURN_IF_ERROR(ctx_->errors->CheckWritable());
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
  EBB_RETURN_IF_ERROR(ctx_->manifest->Apply(edit));
  file->MarkEvicted();
  ctx_->segment_cache->Evict(number);
  Status s = ctx_->fs->DeleteFile(file->path());
  if (!s.ok() && !s.IsNotFound()) return s.WithContext(fmt::format("evict segment {:06}.seg", number));
  return Status::OK();
}

Status DatabaseCore::RecallSegment(uint64_t number, std::string_view contents) {
  MutexLock tier_lock(&tier_mu_);
  std::shared_ptr<SegmentFile> file;
  {
    MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    for (const auto& f : *segments_) {
      if (f->meta().number == number) file = f;
    }
  }
  if (!file) return Status::NotFound(fmt::format("segment {:06}.seg is not a live segment of database {}", number, name_));
  EBB_RETURN_IF_ERROR(ctx_->errors->CheckWritable());
  if (!file->evicted()) return Status::OK();
  const SegmentMeta& meta = file->meta();
  auto context = [&](const Status& s) { return s.WithContext(fmt::format("recall segment {}", file->path())); };
  if (contents.size() != meta.file_size || (meta.checksum != 0 && Hash64(contents) != meta.checksum)) {
    return Status::Corruption(fmt::format(
        "recall segment {}: the fetched copy is {} bytes with checksum {:016x}; the manifest says {} bytes, "
        "checksum {:016x}; it is not this segment's file",
        file->path(), contents.size(), Hash64(contents), meta.file_size, meta.checksum));
  }
  // Written aside (".tmp": removed at open if a crash leaves it), checked
  // block by block, then renamed into place before the manifest says so.
  std::string tmp = file->path() + ".tmp";
  Status s = WriteStringToFile(ctx_->fs, contents, tmp, /*sync=*/true);
  if (s.ok()) {
    auto seg = Segment::Open(ctx_->fs, tmp, number);
    s = seg.ok() ? (*seg)->VerifyChecksums() : seg.status();
  }
  if (s.ok()) s = ctx_->fs->RenameFile(tmp, file->path());
  if (!s.ok()) {
    (void)ctx_->fs->DeleteFile(tmp);
    return context(s);
  }
  // Until the manifest edit is durable the file is an ordinary leftover (an
  // open deletes a local copy of an evicted segment).
  EBB_RETURN_IF_ERROR(context(ctx_->fs->SyncDir(SegmentDir(ctx_->options.data_dir))));
  ManifestEdit edit;
  edit.SetEvicted(id_, number, false);
  EBB_RETURN_IF_ERROR(ctx_->manifest->Apply(edit));
  file->MarkLocal();
  // Reads opened through the tier's cache reopen from the local file.
  ctx_->segment_cache->Evict(number);
  Status removed = ctx_->fs->DeleteFile(file->filter_path());
  if (!removed.ok() && !removed.IsNotFound()) {
    EBB_LOG(kWarn, "recall segment {}: could not remove its filter file: {}", file->path(), removed.ToString());
  }
  return Status::OK();
}

}  // namespace ebb
