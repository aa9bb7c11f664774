// FaultInjectionFileSystem: wraps another FileSystem (usually MemFileSystem
// or a PosixFileSystem in a temporary directory) and, for tests:
//   - models a crash: DropUnsyncedData() cuts every file written through it
//     back to its last synced size (optionally keeping a random prefix of the
//     unsynced tail, a "torn write"), and removes files created since their
//     directory was last synced;
//   - fails the Nth append, sync, rename, create or read with a chosen status;
//   - fills the disk: appends beyond a byte budget fail with NoSpace;
//   - corrupts bytes of a file in place;
//   - deactivates: every later write-type call fails (the process "died").
//
// Renames are not undone by a crash (modelled as durable once done); Ebb
// syncs the directory after every rename it relies on.
//
// Thread-safe.

#ifndef EBB_ENV_FAULT_INJECTION_FILE_SYSTEM_H_
#define EBB_ENV_FAULT_INJECTION_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "base/mutex.h"
#include "env/file_system.h"

namespace ebb {

enum class FaultOp { kAppend, kSync, kRename, kCreate, kRead, kDelete };

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  // The `nth` next call of `op` (1 = the very next) fails with `error`.
  // With `sticky`, every call after it fails too.
  void FailNth(FaultOp op, int nth, Status error, bool sticky = false);
  void ClearFaults();

  // Appends fail with NoSpace once `bytes` more have been appended in total.
  void SetSpaceBudget(uint64_t bytes);
  void ClearSpaceBudget();

  // Simulates the process dying: all later mutating calls fail with IOError.
  void Deactivate();
  void Reactivate();
  bool active() const;

  // Simulates a power loss (call after Deactivate and closing the store):
  // truncates files to their synced size, or with `torn_seed` set, to a
  // random point in their unsynced tail; deletes files created since their
  // directory's last sync. Then reactivates.
  Status DropUnsyncedData(std::optional<uint64_t> torn_seed = std::nullopt);

  // Flips (xor 0xff) `length` bytes at `offset` of `path`, bypassing tracking.
  Status CorruptBytes(const std::string& path, uint64_t offset, uint64_t length);

  uint64_t appends() const;
  uint64_t syncs() const;
  uint64_t bytes_appended() const;

  // FileSystem
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewMappedLogFile(const std::string& path) override;
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

 private:
  class File;
  class ReadFile;
  class SeqFile;
  friend class File;
  friend class ReadFile;
  friend class SeqFile;

  struct FileState {
    uint64_t size = 0;
    uint64_t flushed = 0;
    uint64_t synced = 0;
    bool new_since_dir_sync = false;
  };
  struct Fault {
    int countdown = 0;  // fires when it reaches 0
    Status error;
    bool sticky = false;
    bool fired = false;
  };

  // Returns the injected error for `op`, if one fires now. REQUIRES mu_.
  Status CheckFault(FaultOp op) REQUIRES(mu_);
  Status CheckActive(std::string_view op, const std::string& path) REQUIRES(mu_);
  // CheckActive and the kCreate fault, for the calls that create a file.
  Status CheckCreate(std::string_view op, const std::string& path) EXCLUDES(mu_);
  Status BeforeAppend(const std::string& path, size_t n);
  void AfterAppend(const std::string& path, size_t n);
  void AfterFlush(const std::string& path);
  Status BeforeSync(const std::string& path);
  // Marks `synced_size` bytes durable (at least; never moves backwards).
  void AfterSync(const std::string& path, uint64_t synced_size);
  uint64_t FlushedSize(const std::string& path);
  Status BeforeRead(const std::string& path);
  Result<std::unique_ptr<WritableFile>> Wrap(const std::string& path, Result<std::unique_ptr<WritableFile>> base,
                                             bool truncated);

  FileSystem* const base_;
  mutable Mutex mu_;
  bool active_ GUARDED_BY(mu_) = true;
  std::map<std::string, FileState> files_ GUARDED_BY(mu_);
  std::map<FaultOp, Fault> faults_ GUARDED_BY(mu_);
  std::optional<uint64_t> space_budget_ GUARDED_BY(mu_);
  uint64_t appends_ GUARDED_BY(mu_) = 0;
  uint64_t syncs_ GUARDED_BY(mu_) = 0;
  uint64_t bytes_appended_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb

#endif  // EBB_ENV_FAULT_INJECTION_FILE_SYSTEM_H_
