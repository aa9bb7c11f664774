// POSIX implementation of FileSystem: buffered appends, logs written through
// a shared mapping, fdatasync (also started asynchronously through Linux
// native AIO), mmap'd reads for immutable files (bounded count), fcntl locks.

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>

#include "base/mutex.h"
#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

// At most this many files are mmap'd at once; further ones use pread (and
// keep a descriptor open). Keeps the map count well below Linux's default
// vm.max_map_count (65530) with tens of thousands of segments.
constexpr int kMaxMmaps = 16384;
std::atomic<int> g_mmaps_available{kMaxMmaps};

constexpr size_t kWriteBufferBytes = 64 * 1024;

Status PosixError(std::string_view op, const std::string& path, int err) {
  std::string msg = fmt::format("{} {}: {}", op, path, std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) {
    return Status::NoSpace(msg + " (free space on that file system, then retry or reopen)");
  }
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EACCES || err == EPERM) return Status::PermissionDenied(msg);
  return Status::IOError(msg);
}

Status SyncFd(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return PosixError("sync", path, errno);
  return Status::OK();
}

// A file's Linux native AIO context, for syncs that do not block the
// caller: io_submit of IOCB_CMD_FDSYNC has a kernel worker run fdatasync
// and post its outcome, which io_getevents reads. Created at the first
// started sync and kept for the file's life (setting one up and tearing it
// down per sync would cost more than the sync's wait). Shared by the file
// and the ticket of the sync in flight, at most one at a time.
class AioSync {
 public:
  explicit AioSync(std::string path) : path_(std::move(path)) {}
  ~AioSync() {
    if (in_flight_) (void)Reap(true);
    if (ctx_ != 0) ::syscall(SYS_io_destroy, ctx_);
  }

  // Submits fdatasync(fd). False when it could not start (no native AIO
  // here, its context limit reached, one already in flight): the caller
  // then syncs itself.
  bool Submit(int fd) {
    if (in_flight_ || unavailable_) return false;
    if (ctx_ == 0 && ::syscall(SYS_io_setup, 1, &ctx_) != 0) {
      ctx_ = 0;
      unavailable_ = true;  // ENOSYS, or fs.aio-max-nr reached: sync on the caller's thread
      return false;
    }
    iocb cb{};
    cb.aio_fildes = static_cast<uint32_t>(fd);
    cb.aio_lio_opcode = IOCB_CMD_FDSYNC;
    iocb* cbs[1] = {&cb};
    long n;
    do {
      n = ::syscall(SYS_io_submit, ctx_, 1, cbs);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return false;  // e.g. EINVAL: this file system has no asynchronous fsync
    in_flight_ = true;
    return true;
  }

  // The sync's outcome; nullopt while it runs unless `wait`.
  std::optional<Status> Reap(bool wait) {
    io_event event{};
    timespec zero{0, 0};
    long n;
    do {
      n = ::syscall(SYS_io_getevents, ctx_, wait ? 1 : 0, 1, &event, wait ? nullptr : &zero);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return std::nullopt;
    in_flight_ = false;
    if (n < 0) return PosixError("wait for the sync of", path_, errno);
    if (event.res < 0) return PosixError("sync", path_, static_cast<int>(-event.res));
    return Status::OK();
  }

 private:
  const std::string path_;
  aio_context_t ctx_ = 0;
  bool in_flight_ = false;
  bool unavailable_ = false;
};

class AioSyncTicket final : public SyncTicket {
 public:
  explicit AioSyncTicket(std::shared_ptr<AioSync> aio) : aio_(std::move(aio)) {}
  ~AioSyncTicket() override {
    if (!result_) (void)Wait();
  }
  std::optional<Status> Poll() override {
    if (!result_) result_ = aio_->Reap(false);
    return result_;
  }
  Status Wait() override {
    if (!result_) result_ = aio_->Reap(true);
    return *result_;
  }

 private:
  std::shared_ptr<AioSync> aio_;
  std::optional<Status> result_;
};

// StartSyncFlushed for a file written through `fd`: nullptr when the sync
// cannot start asynchronously (the caller then uses SyncFlushed, which also
// reports a closed file).
std::unique_ptr<SyncTicket> StartFdSync(std::shared_ptr<AioSync>* aio, int fd, const std::string& path) {
  if (fd < 0) return nullptr;
  if (*aio == nullptr) *aio = std::make_shared<AioSync>(path);
  if ((*aio)->Submit(fd)) return std::make_unique<AioSyncTicket>(*aio);
  return nullptr;
}

// Closes *fd (and marks it closed); `s` is the status so far, kept if it is
// already an error.
Status CloseFd(int* fd, const std::string& path, Status s) {
  if (::close(*fd) != 0 && s.ok()) s = PosixError("close", path, errno);
  *fd = -1;
  return s;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {
    buffer_.reserve(kWriteBufferBytes);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) (void)Close();
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError(fmt::format("append {}: file is closed", path_));
    size_ += data.size();
    if (buffer_.size() + data.size() <= kWriteBufferBytes) {
      buffer_.append(data.data(), data.size());
      return Status::OK();
    }
    EBB_RETURN_IF_ERROR(FlushBuffer());
    if (data.size() <= kWriteBufferBytes) {
      buffer_.append(data.data(), data.size());
      return Status::OK();
    }
    return WriteFully(data);
  }

  Status Flush() override { return FlushBuffer(); }

  Status Sync() override {
    EBB_RETURN_IF_ERROR(FlushBuffer());
    return SyncFd(fd_, path_);
  }

  Status SyncFlushed() override {
    return SyncFd(fd_, path_);
  }

  std::unique_ptr<SyncTicket> StartSyncFlushed() override { return StartFdSync(&aio_, fd_, path_); }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Status s = FlushBuffer();
    return CloseFd(&fd_, path_, std::move(s));
  }

  uint64_t Size() const override { return size_; }

 private:
  Status FlushBuffer() {
    if (buffer_.empty()) return Status::OK();
    Status s = WriteFully(buffer_);
    buffer_.clear();
    return s;
  }

  Status WriteFully(std::string_view data) {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return Status::OK();
  }

  const std::string path_;
  int fd_;
  uint64_t size_;
  std::string buffer_;
  std::shared_ptr<AioSync> aio_;  // set up by the first StartSyncFlushed
};

// A log written through a shared memory mapping (NewMappedLogFile). Append
// first reserves whole chunks with posix_fallocate, so a full disk fails the
// append before any byte of it is written, then copies into a
// kMappedLogChunkBytes window of the file mapped MAP_SHARED: the bytes are
// in the page cache at once (they survive a process crash, as after
// write(2)) without a system call per append. fdatasync writes dirty mapped
// pages as it does written ones. Close unmaps and trims the reservation.
class PosixMappedLogFile final : public WritableFile {
 public:
  PosixMappedLogFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixMappedLogFile() override {
    if (fd_ >= 0) (void)Close();
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError(fmt::format("append {}: file is closed", path_));
    if (finished_) return Status::IOError(fmt::format("append {}: the file was finished", path_));
    if (data.size() > reserved_ - size_) {
      const uint64_t chunk = kMappedLogChunkBytes;
      const uint64_t want = (size_ + data.size() + chunk - 1) / chunk * chunk;
      int err;
      do {
        err = ::posix_fallocate(fd_, static_cast<off_t>(reserved_), static_cast<off_t>(want - reserved_));
      } while (err == EINTR);
      if (err != 0) {
        // A failed reservation may have grown the file part of the way (a
        // block at a time): give that back, or the file would end in zeros
        // that are not a whole reservation.
        (void)::ftruncate(fd_, static_cast<off_t>(reserved_));
        return PosixError("reserve space in", path_, err);
      }
      reserved_ = want;
    }
    while (!data.empty()) {
      if (window_ == nullptr || size_ >= window_offset_ + kMappedLogChunkBytes) EBB_RETURN_IF_ERROR(MapWindow());
      const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), window_offset_ + kMappedLogChunkBytes - size_));
      std::memcpy(window_ + (size_ - window_offset_), data.data(), n);
      size_ += n;
      data.remove_prefix(n);
    }
    return Status::OK();
  }

  // Appended bytes are already in the page cache.
  Status Flush() override { return Status::OK(); }

  Status Sync() override { return SyncFlushed(); }

  Status SyncFlushed() override {
    return SyncFd(fd_, path_);
  }

  std::unique_ptr<SyncTicket> StartSyncFlushed() override { return StartFdSync(&aio_, fd_, path_); }

  Status Finish() override {
    if (fd_ < 0) return Status::IOError(fmt::format("finish {}: file is closed", path_));
    finished_ = true;
    Unmap();
    EBB_RETURN_IF_ERROR(Trim());
    return SyncFlushed();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    Unmap();
    Status s = Trim();
    return CloseFd(&fd_, path_, std::move(s));
  }

  uint64_t Size() const override { return size_; }

 private:
  // Maps the chunk that holds offset size_ (reserved already).
  Status MapWindow() {
    Unmap();
    const uint64_t offset = size_ / kMappedLogChunkBytes * kMappedLogChunkBytes;
    void* p = ::mmap(nullptr, kMappedLogChunkBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                     static_cast<off_t>(offset));
    if (p == MAP_FAILED) {
      const int err = errno;
      if (err == ENODEV || err == EACCES || err == EINVAL || err == EOPNOTSUPP) {
        return Status::NotSupported(fmt::format("map for writing {}: {}: the file system cannot map files for writing",
                                                path_, std::strerror(err)));
      }
      return PosixError("map for writing", path_, err);
    }
    window_ = static_cast<char*>(p);
    window_offset_ = offset;
    return Status::OK();
  }

  void Unmap() {
    if (window_ != nullptr) ::munmap(window_, kMappedLogChunkBytes);
    window_ = nullptr;
  }

  // Cuts the file to the bytes appended. Unconditional: a failed
  // reservation whose give-back failed too leaves a size reserved_ does
  // not know.
  Status Trim() {
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) return PosixError("trim the reserved space of", path_, errno);
    reserved_ = size_;
    return Status::OK();
  }

  const std::string path_;
  int fd_;
  uint64_t size_ = 0;      // bytes appended
  uint64_t reserved_ = 0;  // file size: size_ rounded up to whole chunks
  bool finished_ = false;
  char* window_ = nullptr;
  uint64_t window_offset_ = 0;
  std::shared_ptr<AioSync> aio_;  // set up by the first StartSyncFlushed
};

class PosixPreadFile final : public RandomAccessFile {
 public:
  PosixPreadFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixPreadFile() override { ::close(fd_); }

  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("read", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return std::string_view(scratch, done);
  }
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  const int fd_;
  const uint64_t size_;
};

class PosixMmapFile final : public RandomAccessFile {
 public:
  PosixMmapFile(std::string path, void* base, uint64_t size) : path_(std::move(path)), base_(base), size_(size) {}
  ~PosixMmapFile() override {
    ::munmap(base_, size_);
    g_mmaps_available.fetch_add(1, std::memory_order_relaxed);
  }

  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= size_) return std::string_view();
    size_t available = static_cast<size_t>(size_ - offset);
    return std::string_view(static_cast<const char*>(base_) + offset, n < available ? n : available);
  }
  uint64_t Size() const override { return size_; }
  bool ZeroCopy() const override { return true; }

 private:
  const std::string path_;
  void* const base_;
  const uint64_t size_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Result<std::string_view> Read(size_t n, char* scratch) override {
    while (true) {
      ssize_t r = ::read(fd_, scratch, n);
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("read", path_, errno);
      }
      return std::string_view(scratch, static_cast<size_t>(r));
    }
  }

  Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return PosixError("seek", path_, errno);
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
};

// An open file description lock (F_OFD_SETLK) belongs to the open file,
// not to the process: a second open of the same file, in this process or
// another, conflicts whatever path spelling reached it (a symlink,
// "./dir"), and closing some other descriptor of the file does not drop it.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // releases the lock

 private:
  const int fd_;
};

std::string ReadSmallFile(int fd) {
  char buf[64];
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return Open(path, O_WRONLY | O_CREAT | O_TRUNC);
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    return Open(path, O_WRONLY | O_CREAT | O_APPEND);
  }

  Result<std::unique_ptr<WritableFile>> NewMappedLogFile(const std::string& path) override {
    // Read and write: a shared writable mapping needs both.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open", path, errno);
    return std::unique_ptr<WritableFile>(new PosixMappedLogFile(path, fd));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status s = PosixError("stat", path, errno);
      ::close(fd);
      return s;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (size > 0 && g_mmaps_available.fetch_sub(1, std::memory_order_relaxed) > 0) {
      void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      ::close(fd);
      if (base == MAP_FAILED) {
        g_mmaps_available.fetch_add(1, std::memory_order_relaxed);
        return PosixError("mmap", path, errno);
      }
      return std::unique_ptr<RandomAccessFile>(new PosixMmapFile(path, base, size));
    }
    if (size > 0) g_mmaps_available.fetch_add(1, std::memory_order_relaxed);
    return std::unique_ptr<RandomAccessFile>(new PosixPreadFile(path, fd, size));
  }

  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(path, fd));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("list", dir, errno);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      out.emplace_back(name);
    }
    ::closedir(d);
    return out;
  }

  Status CreateDir(const std::string& dir) override {
    if (dir.empty()) return Status::OK();
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError(fmt::format("create directory {}: a file with that name exists", dir));
    }
    std::string parent = DirName(dir);
    if (parent != dir && parent != "." && parent != "/") EBB_RETURN_IF_ERROR(CreateDir(parent));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return PosixError("create directory", dir, errno);
    return Status::OK();
  }

  Status DeleteDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return PosixError("remove directory", dir, errno);
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("delete", path, errno);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError("rename " + from + " to", to, errno);
    return Status::OK();
  }

  Status TruncateFile(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path, errno);
    Status s = ::ftruncate(fd, static_cast<off_t>(size)) == 0 ? SyncFd(fd, path) : PosixError("truncate", path, errno);
    return CloseFd(&fd, path, std::move(s));
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open directory", dir, errno);
    Status s;
    if (::fsync(fd) != 0) s = PosixError("sync directory", dir, errno);
    ::close(fd);
    return s;
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open lock file", path, errno);
    struct flock fl;
    std::memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      int err = errno;
      std::string holder = ReadSmallFile(fd);
      ::close(fd);
      if (err == EACCES || err == EAGAIN) {
        return Status::Locked(fmt::format("{} is locked by process {}; stop it or use another data directory",
                                          path, holder.empty() ? "(unknown)" : holder));
      }
      return PosixError("lock", path, err);
    }
    std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      Status s = PosixError("write lock file", path, errno);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }

  Result<uint64_t> GetFreeSpace(const std::string& path) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return PosixError("statvfs", path, errno);
    return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }

 private:
  Result<std::unique_ptr<WritableFile>> Open(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open", path, errno);
    uint64_t size = 0;
    if (flags & O_APPEND) {
      struct stat st;
      if (::fstat(fd, &st) == 0) size = static_cast<uint64_t>(st.st_size);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, size));
  }
};

}  // namespace

FileSystem* DefaultFileSystem() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return fs;
}

}  // namespace ebb
