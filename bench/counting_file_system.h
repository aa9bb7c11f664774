// CountingFileSystem: passes every call to another FileSystem (the POSIX
// one, for benchmarks) and counts the calls that make data durable and the
// files opened for random reads, so a benchmark can report how many fsyncs
// a phase cost and how often reads reopened segment files.
//
// Thread-safe (the counters are atomic; the wrapped file system is).

#ifndef EBB_BENCH_COUNTING_FILE_SYSTEM_H_
#define EBB_BENCH_COUNTING_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>

#include "env/file_system.h"

namespace ebb::bench {

struct FileSystemCounts {
  // fdatasync/fsync-type calls: WritableFile Sync, SyncFlushed and Finish,
  // TruncateFile, SyncDir.
  uint64_t syncs = 0;
  uint64_t dir_syncs = 0;  // of syncs, SyncDir
  uint64_t random_access_opens = 0;
  uint64_t files_created = 0;
  uint64_t files_deleted = 0;
};

class CountingFileSystem final : public FileSystem {
 public:
  explicit CountingFileSystem(FileSystem* base) : base_(base) {}

  FileSystemCounts counts() const;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewMappedLogFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    return base_->NewSequentialFile(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> GetFileSize(const std::string& path) override { return base_->GetFileSize(path); }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override { return base_->GetChildren(dir); }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status DeleteDir(const std::string& dir) override { return base_->DeleteDir(dir); }
  Status DeleteFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override { return base_->LockFile(path); }
  Result<uint64_t> GetFreeSpace(const std::string& path) override { return base_->GetFreeSpace(path); }

 private:
  class CountingWritableFile;
  Result<std::unique_ptr<WritableFile>> Wrap(Result<std::unique_ptr<WritableFile>> file);

  FileSystem* const base_;
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> dir_syncs_{0};
  std::atomic<uint64_t> random_access_opens_{0};
  std::atomic<uint64_t> files_created_{0};
  std::atomic<uint64_t> files_deleted_{0};
};

}  // namespace ebb::bench

#endif  // EBB_BENCH_COUNTING_FILE_SYSTEM_H_
