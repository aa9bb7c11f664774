// FileSystem: every file Ebb touches goes through this interface, so tests
// can run on memory, drop unsynced data, fail the Nth write or sync, fill the
// disk or corrupt bytes (see fault_injection_file_system.h).
//
// Implementations: PosixFileSystem (the default, DefaultFileSystem()),
// MemFileSystem (tests), FaultInjectionFileSystem (wraps another).
//
// Errors name the operation and the path: "IOError: sync /data/journal/000012.log:
// Input/output error". A full disk is NoSpace, not IOError, so callers can
// tell the user to free space.
//
// Thread safety: FileSystem methods are thread-safe. A WritableFile or
// SequentialFile is used by one thread at a time; RandomAccessFile::Read is
// thread-safe.

#ifndef EBB_ENV_FILE_SYSTEM_H_
#define EBB_ENV_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebb/status.h"

namespace ebb {

// A mapped log file (FileSystem::NewMappedLogFile) reserves disk space in
// chunks of this many bytes; while open, or after a crash, its size is a
// multiple of it.
inline constexpr uint64_t kMappedLogChunkBytes = 1 << 20;

// True if data[pos..] is the unused reservation of a mapped log: all zero
// bytes up to an end that is a multiple of kMappedLogChunkBytes (and pos is
// before that end). A log reader that finds it where a record would start
// has reached the end of the log, not damage.
bool IsMappedLogZeroTail(std::string_view data, size_t pos);

// A sync started by WritableFile::StartSyncFlushed.
class SyncTicket {
 public:
  // Waits for the sync if it is still running.
  virtual ~SyncTicket() = default;
  // The sync's outcome once it has finished; nullopt while it runs. Never
  // blocks.
  virtual std::optional<Status> Poll() = 0;
  // Waits for the sync and returns its outcome.
  virtual Status Wait() = 0;
};

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends to the end; may buffer in user space until Flush or Sync.
  virtual Status Append(std::string_view data) = 0;
  // Hands buffered bytes to the operating system (survives a process crash,
  // not a power loss).
  virtual Status Flush() = 0;
  // Flush, then make the contents durable (fdatasync).
  virtual Status Sync() = 0;
  // Makes durable the bytes already handed to the OS by Flush, without
  // touching the user-space buffer. Unlike the other methods it may be called
  // from another thread concurrently with Append/Flush (a background syncer).
  virtual Status SyncFlushed() = 0;
  // SyncFlushed without waiting for the disk: the sync covers the bytes
  // handed to the OS before this call; its outcome is read from the
  // ticket. Like SyncFlushed it may run concurrently with Append/Flush; at
  // most one started sync per file at a time. PosixFileSystem has the
  // kernel run the fdatasync in its own worker (Linux native AIO), so the
  // calling thread never blocks on the disk. nullptr (the default) when the
  // file cannot sync that way: call SyncFlushed.
  virtual std::unique_ptr<SyncTicket> StartSyncFlushed() { return nullptr; }
  // Flush and close; further calls fail. Destruction closes without error
  // reporting, so callers that care call Close.
  virtual Status Close() = 0;
  // Bytes appended so far (including buffered ones).
  virtual uint64_t Size() const = 0;
  // The last write before the file is left for good (a log's rotation or
  // close): gives back space reserved past Size() (a mapped log's) and makes
  // the contents and the size durable. Appends may follow only for files
  // that reserve nothing. The default is Sync.
  virtual Status Finish() { return Sync(); }
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset. The result points either into `scratch`
  // (which must hold n bytes) or into memory owned by the file that stays
  // valid while the file is open. Fewer bytes than n means end of file.
  virtual Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual uint64_t Size() const = 0;
  // True if Read never uses `scratch` (the file is memory-mapped and results
  // point into the mapping); callers may then pass nullptr.
  virtual bool ZeroCopy() const { return false; }
};

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes into scratch; an empty result means end of file.
  virtual Result<std::string_view> Read(size_t n, char* scratch) = 0;
  virtual Status Skip(uint64_t n) = 0;
};

// Held while a data directory is in use; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens for appending, creating if missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // Creates or truncates a log that is appended to and flushed in small
  // pieces (the journal). A file system may write it through a shared memory
  // mapping, reserving disk space kMappedLogChunkBytes at a time, so that
  // Flush costs no system call and a full disk shows up when space is
  // reserved, before any byte of the append is written (on file systems
  // that allocate at fallocate; copy-on-write ones can still fail a write
  // fault with SIGBUS). Finish and Close trim the reservation; after a crash
  // the newest such file can end in zero bytes up to the next multiple of
  // kMappedLogChunkBytes, which log readers take as the end
  // (IsMappedLogZeroTail). A mapping the file system refuses is
  // NotSupported. The default writes it like NewWritableFile.
  virtual Result<std::unique_ptr<WritableFile>> NewMappedLogFile(const std::string& path) {
    return NewWritableFile(path);
  }
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, unsorted.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // Creates the directory and missing parents; OK if it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Removes an empty directory.
  virtual Status DeleteDir(const std::string& dir) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from`.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Sets the file's size and makes it durable.
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Makes creations, deletions and renames in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (creating it) for this process. A second
  // holder, in this or another process, gets Locked naming the holder's pid.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Bytes available to an unprivileged writer on the file system holding `path`.
  virtual Result<uint64_t> GetFreeSpace(const std::string& path) = 0;
};

// The process-wide POSIX file system.
FileSystem* DefaultFileSystem();

// Helpers over any FileSystem.
Status WriteStringToFile(FileSystem* fs, std::string_view data, const std::string& path, bool sync);
// Writes to path + ".tmp", syncs, renames over `path` and syncs the directory:
// after a crash, `path` holds either the old or the new contents.
Status WriteFileAtomically(FileSystem* fs, std::string_view data, const std::string& path);
Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path);
// CreateDir, then syncs the parent of every directory it created, so the
// new entries survive a power loss (a file synced in a directory whose own
// entry is not durable can vanish with it).
Status CreateDirDurably(FileSystem* fs, const std::string& dir);
// Deletes a directory and everything below it.
Status DeleteRecursively(FileSystem* fs, const std::string& dir);

// Path helpers.
std::string JoinPath(std::string_view dir, std::string_view name);
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);

}  // namespace ebb

#endif  // EBB_ENV_FILE_SYSTEM_H_
