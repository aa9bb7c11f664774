#include "bench/counting_file_system.h"

namespace ebb::bench {

class CountingFileSystem::CountingWritableFile final : public WritableFile {
 public:
  CountingWritableFile(std::unique_ptr<WritableFile> base, std::atomic<uint64_t>* syncs)
      : base_(std::move(base)), syncs_(syncs) {}
  Status Append(std::string_view data) override { return base_->Append(data); }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override {
    syncs_->fetch_add(1, std::memory_order_relaxed);
    return base_->Sync();
  }
  Status SyncFlushed() override {
    syncs_->fetch_add(1, std::memory_order_relaxed);
    return base_->SyncFlushed();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  Status Finish() override {
    syncs_->fetch_add(1, std::memory_order_relaxed);
    return base_->Finish();
  }

 private:
  const std::unique_ptr<WritableFile> base_;
  std::atomic<uint64_t>* const syncs_;
};

FileSystemCounts CountingFileSystem::counts() const {
  FileSystemCounts c;
  c.syncs = syncs_.load(std::memory_order_relaxed);
  c.dir_syncs = dir_syncs_.load(std::memory_order_relaxed);
  c.random_access_opens = random_access_opens_.load(std::memory_order_relaxed);
  c.files_created = files_created_.load(std::memory_order_relaxed);
  c.files_deleted = files_deleted_.load(std::memory_order_relaxed);
  return c;
}

Result<std::unique_ptr<WritableFile>> CountingFileSystem::Wrap(Result<std::unique_ptr<WritableFile>> file) {
  if (!file.ok()) return file.status();
  files_created_.fetch_add(1, std::memory_order_relaxed);
  return std::unique_ptr<WritableFile>(std::make_unique<CountingWritableFile>(std::move(*file), &syncs_));
}

Result<std::unique_ptr<WritableFile>> CountingFileSystem::NewWritableFile(const std::string& path) {
  return Wrap(base_->NewWritableFile(path));
}
Result<std::unique_ptr<WritableFile>> CountingFileSystem::NewAppendableFile(const std::string& path) {
  return Wrap(base_->NewAppendableFile(path));
}
Result<std::unique_ptr<WritableFile>> CountingFileSystem::NewMappedLogFile(const std::string& path) {
  return Wrap(base_->NewMappedLogFile(path));
}
Result<std::unique_ptr<RandomAccessFile>> CountingFileSystem::NewRandomAccessFile(const std::string& path) {
  random_access_opens_.fetch_add(1, std::memory_order_relaxed);
  return base_->NewRandomAccessFile(path);
}
Status CountingFileSystem::DeleteFile(const std::string& path) {
  files_deleted_.fetch_add(1, std::memory_order_relaxed);
  return base_->DeleteFile(path);
}
Status CountingFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return base_->TruncateFile(path, size);
}
Status CountingFileSystem::SyncDir(const std::string& dir) {
  syncs_.fetch_add(1, std::memory_order_relaxed);
  dir_syncs_.fetch_add(1, std::memory_order_relaxed);
  return base_->SyncDir(dir);
}

}  // namespace ebb::bench
