// MemFileSystem: a FileSystem held entirely in memory, for tests. Sync is a
// no-op (everything "survives"); wrap it in FaultInjectionFileSystem to model
// crashes. Named so nobody mistakes it for a real backend.

#ifndef EBB_ENV_MEM_FILE_SYSTEM_H_
#define EBB_ENV_MEM_FILE_SYSTEM_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/mutex.h"
#include "env/file_system.h"

namespace ebb {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();
  ~MemFileSystem() override;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  Status CreateDir(const std::string& dir) override;
  Status DeleteDir(const std::string& dir) override;
  Status DeleteFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<uint64_t> GetFreeSpace(const std::string& path) override;

  // Free space reported by GetFreeSpace (default: 1 TiB).
  void SetFreeSpace(uint64_t bytes);

  struct FileData;

 private:
  class MemLock;
  Result<std::unique_ptr<WritableFile>> Open(const std::string& path, bool truncate);

  Mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_ GUARDED_BY(mu_);
  std::set<std::string> dirs_ GUARDED_BY(mu_);
  std::set<std::string> locks_ GUARDED_BY(mu_);
  uint64_t free_space_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_ENV_MEM_FILE_SYSTEM_H_
