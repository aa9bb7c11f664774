// FaultInjectionFileSystem: wraps another FileSystem (usually a
// PowerLossFileSystem, MemFileSystem or a PosixFileSystem in a temporary
// directory) and, for tests:
//   - fails the Nth call of an operation (append, sync, directory sync,
//     rename, create, map, delete, truncate, read), optionally only on paths
//     containing a given text, optionally for every call after it too;
//   - fails it *after* it took effect (FaultTiming::kAfter): the bytes were
//     appended or synced, the rename or delete happened, and the caller is
//     told it failed, so the outcome is unknown to it, as after an EIO from
//     fsync or a lost reply;
//   - fills the disk: appends beyond a byte budget fail with NoSpace;
//   - corrupts bytes of a file in place;
//   - deactivates: every later write-type call fails (the process "died");
//   - holds started syncs (WritableFile::StartSyncFlushed): their tickets
//     stay running until released, as a slow disk's would.
// It counts the calls of each operation, so a test can run a scenario once
// to learn how many there are and then fail each of them in turn.
//
// What a power cut leaves behind is PowerLossFileSystem's job.
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

enum class FaultOp { kAppend, kSync, kSyncDir, kRename, kCreate, kMap, kRead, kDelete, kTruncate };
inline constexpr FaultOp kAllFaultOps[] = {FaultOp::kAppend, FaultOp::kSync,   FaultOp::kSyncDir,
                                           FaultOp::kRename, FaultOp::kCreate, FaultOp::kMap,
                                           FaultOp::kRead,   FaultOp::kDelete, FaultOp::kTruncate};
std::string_view FaultOpName(FaultOp op);

// Before: the call fails without effect. After: it takes effect, then fails.
enum class FaultTiming { kBefore, kAfter };

struct FaultSpec {
  FaultOp op = FaultOp::kAppend;
  int nth = 1;  // 1 = the very next matching call
  Status error = Status::IOError("injected fault");
  bool sticky = false;  // every matching call after it fails too
  FaultTiming timing = FaultTiming::kBefore;
  std::string path_contains;  // only calls on such paths count (empty: all)
};

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  // The `nth` next call of `op` (1 = the very next) fails with `error`.
  // With `sticky`, every call after it fails too. Replaces an earlier
  // fault of the same operation.
  void FailNth(FaultOp op, int nth, Status error, bool sticky = false);
  void Fail(FaultSpec spec);
  void ClearFaults();
  // Calls of `op` so far (matching or not, failed or not), and whether an
  // armed fault of `op` has fired.
  uint64_t calls(FaultOp op) const;
  // ... of those, the calls on paths containing `path_contains`.
  uint64_t calls(FaultOp op, std::string_view path_contains) const;
  bool fired(FaultOp op) const;

  // Appends fail with NoSpace once `bytes` more have been appended in total.
  void SetSpaceBudget(uint64_t bytes);
  void ClearSpaceBudget();

  // Simulates the process dying: all later mutating calls fail with IOError.
  void Deactivate();
  void Reactivate();
  bool active() const;

  // Flips (xor 0xff) `length` bytes at `offset` of `path`, bypassing tracking.
  Status CorruptBytes(const std::string& path, uint64_t offset, uint64_t length);

  // While held, a started sync's ticket runs until ReleaseStartedSyncs: Poll
  // gives nullopt and Wait blocks. The sync itself, and any armed sync
  // fault, happens at the first Poll or Wait after the release. Not held,
  // StartSyncFlushed gives nullptr (the caller syncs with SyncFlushed).
  void HoldStartedSyncs();
  void ReleaseStartedSyncs();
  // StartSyncFlushed calls so far.
  uint64_t started_syncs() const;

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
  class HeldSync;
  class ReadFile;
  class SeqFile;
  friend class File;
  friend class ReadFile;
  friend class SeqFile;

  struct Fault {
    FaultSpec spec;
    int countdown = 0;  // fires when it reaches 0
    bool fired = false;
  };
  // What a call does with an armed fault: nothing, fail before, or fail
  // after doing the operation.
  struct Check {
    Status before;
    Status after;
  };

  // Counts the call and returns the injected error for it, if one fires.
  // Fails every write-type call (`mutating`) once deactivated.
  Check Begin(FaultOp op, std::string_view what, const std::string& path, bool mutating) EXCLUDES(mu_);
  // Runs `call` under the armed faults of `op`.
  template <typename Call>
  auto Run(FaultOp op, std::string_view what, const std::string& path, bool mutating, Call call)
      -> decltype(call());
  Status BeforeAppend(const std::string& path, size_t n) EXCLUDES(mu_);
  void AfterAppend(size_t n) EXCLUDES(mu_);

  FileSystem* const base_;
  mutable Mutex mu_;
  bool active_ GUARDED_BY(mu_) = true;
  bool hold_syncs_ GUARDED_BY(mu_) = false;
  CondVar syncs_released_{&mu_};
  uint64_t started_syncs_ GUARDED_BY(mu_) = 0;
  std::map<FaultOp, Fault> faults_ GUARDED_BY(mu_);
  std::map<FaultOp, uint64_t> calls_ GUARDED_BY(mu_);
  std::map<std::pair<FaultOp, std::string>, uint64_t> calls_by_path_ GUARDED_BY(mu_);
  std::optional<uint64_t> space_budget_ GUARDED_BY(mu_);
  uint64_t appends_ GUARDED_BY(mu_) = 0;
  uint64_t syncs_ GUARDED_BY(mu_) = 0;
  uint64_t bytes_appended_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb

#endif  // EBB_ENV_FAULT_INJECTION_FILE_SYSTEM_H_
