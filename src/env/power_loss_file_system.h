// PowerLossFileSystem: an in-memory FileSystem, for tests, that knows what a
// power cut would leave on disk, and can simulate one.
//
// What it tracks, per file, is the difference between the page cache (what
// reads see) and the disk (what a sync made durable):
//   - file contents: bytes written since the file's last Sync (or
//     SyncFlushed, Finish, TruncateFile) are in the page cache only; at a
//     power cut each 4 KiB page written since then either reached the disk
//     or did not, independently (so a file can come back with holes: zero
//     pages, or the page's previous contents, followed by later pages that
//     did land), and the file's size is either its synced size or its
//     current size (the size is metadata and reaches the disk on its own);
//   - directory entries: creations, deletions and renames in a directory
//     are durable only after SyncDir of that directory. At a power cut a
//     directory reverts to its entries as of its last SyncDir: files
//     created since are gone, files deleted since are back (with whatever
//     their contents were on disk), renames are undone. A directory created
//     since its parent's last SyncDir is gone with everything in it. The
//     root "/" always exists.
//   - mapped logs (NewMappedLogFile): space is reserved in whole
//     kMappedLogChunkBytes chunks of zeros, as the POSIX file system does;
//     the reservation is part of the file's size, so after a power cut the
//     newest journal file can end in zeros (and have zero holes). Finish and
//     Close trim the reservation.
//
// SimulatePowerLoss() applies such a cut, chosen by a seed, and reports what
// it dropped. Handles opened before it fail afterwards (the process that
// held them is gone), and so do locks. Freeze() first makes every later
// mutating call fail, for a test that wants the store to stop writing at a
// point it chooses (the machine went dark) before the cut is applied.
//
// Error injection (fail the Nth sync, a full disk, ...) is
// FaultInjectionFileSystem's job; wrap this one in it.
//
// Thread-safe (one mutex; it is for tests).

#ifndef EBB_ENV_POWER_LOSS_FILE_SYSTEM_H_
#define EBB_ENV_POWER_LOSS_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/mutex.h"
#include "env/file_system.h"

namespace ebb {

class PowerLossFileSystem final : public FileSystem {
 public:
  // The unit in which unsynced data survives or is lost.
  static constexpr uint64_t kPageBytes = 4096;

  struct CrashOptions {
    uint64_t seed = 0;
    // What happens to data written since the last sync:
    //   kDropAll    nothing of it reached the disk, sizes revert;
    //   kKeepAll    all of it did (only directory entries revert);
    //   kRandomPages each page independently (page_survival), each file's
    //               size independently (size_survival).
    enum class Unsynced { kDropAll, kKeepAll, kRandomPages };
    Unsynced unsynced = Unsynced::kRandomPages;
    double page_survival = 0.5;
    double size_survival = 0.5;
  };

  struct CrashReport {
    uint64_t files_with_unsynced_data = 0;
    uint64_t pages_lost = 0;
    uint64_t pages_kept = 0;
    uint64_t files_cut_to_synced_size = 0;
    uint64_t entries_reverted = 0;  // creations undone, deletions and renames reverted
    std::string ToString() const;
  };

  PowerLossFileSystem();
  ~PowerLossFileSystem() override;

  // Every later mutating call fails with IOError (reads go on) until
  // SimulatePowerLoss.
  void Freeze();
  // Applies a power cut as described above, then thaws.
  CrashReport SimulatePowerLoss(const CrashOptions& options);

  // Bytes written since their file's last sync: past its synced size, plus
  // the synced bytes of pages overwritten since (0 once all is durable).
  uint64_t UnsyncedBytes() const;

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

  struct Inode;

 private:
  class Writer;
  class Reader;
  class SeqReader;
  class Lock;
  friend class Writer;
  friend class Lock;

  // A directory entry: a file (inode) or a subdirectory (inode == nullptr).
  struct Entry {
    std::shared_ptr<Inode> inode;
    bool operator==(const Entry& o) const { return inode == o.inode; }
  };
  struct Dir {
    std::map<std::string, Entry> entries;
    std::map<std::string, Entry> durable;  // as of the last SyncDir
  };

  Status CheckWritable(std::string_view op, const std::string& path) const REQUIRES(mu_);
  // The inode at `path`, or null.
  std::shared_ptr<Inode> FindFile(const std::string& path) const REQUIRES(mu_);
  Result<std::unique_ptr<WritableFile>> Open(const std::string& path, bool truncate, bool mapped);
  // Handle calls.
  Status WriteAt(Inode* inode, uint64_t epoch, const std::string& path, std::string_view data, bool mapped);
  Status Sync(Inode* inode, uint64_t epoch, const std::string& path);
  Status Trim(Inode* inode, uint64_t epoch, const std::string& path);
  // Saves the on-disk contents of the pages [offset, offset+n) touches
  // before they change. REQUIRES mu_.
  void BeforeModify(Inode* inode, uint64_t offset, uint64_t n) REQUIRES(mu_);
  void MarkDurable(Inode* inode) REQUIRES(mu_);
  void ReleaseLock(const std::string& path, uint64_t epoch);

  mutable Mutex mu_;
  std::map<std::string, Dir> dirs_ GUARDED_BY(mu_);  // by path; "/" always present
  std::set<std::string> locks_ GUARDED_BY(mu_);
  uint64_t epoch_ GUARDED_BY(mu_) = 1;  // bumped by every power loss
  bool frozen_ GUARDED_BY(mu_) = false;
};

}  // namespace ebb

#endif  // EBB_ENV_POWER_LOSS_FILE_SYSTEM_H_
