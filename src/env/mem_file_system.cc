#include "env/mem_file_system.h"

#include <cstring>

#include <fmt/format.h>

namespace ebb {

struct MemFileSystem::FileData {
  Mutex mu;
  std::string data GUARDED_BY(mu);
};

namespace {

std::string Normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

class MemWritableFile final : public WritableFile {
 public:
  explicit MemWritableFile(std::shared_ptr<MemFileSystem::FileData> file) : file_(std::move(file)) {}
  Status Append(std::string_view data) override {
    MutexLock lock(&file_->mu);
    file_->data.append(data.data(), data.size());
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status SyncFlushed() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }
  uint64_t Size() const override {
    MutexLock lock(&file_->mu);
    return file_->data.size();
  }

 private:
  std::shared_ptr<MemFileSystem::FileData> file_;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemFileSystem::FileData> file) : file_(std::move(file)) {}
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    MutexLock lock(&file_->mu);
    if (offset >= file_->data.size()) return std::string_view();
    size_t len = std::min<size_t>(n, file_->data.size() - static_cast<size_t>(offset));
    std::memcpy(scratch, file_->data.data() + offset, len);
    return std::string_view(scratch, len);
  }
  uint64_t Size() const override {
    MutexLock lock(&file_->mu);
    return file_->data.size();
  }

 private:
  std::shared_ptr<MemFileSystem::FileData> file_;
};

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(std::shared_ptr<MemFileSystem::FileData> file) : file_(std::move(file)) {}
  Result<std::string_view> Read(size_t n, char* scratch) override {
    MutexLock lock(&file_->mu);
    if (pos_ >= file_->data.size()) return std::string_view();
    size_t len = std::min<size_t>(n, file_->data.size() - pos_);
    std::memcpy(scratch, file_->data.data() + pos_, len);
    pos_ += len;
    return std::string_view(scratch, len);
  }
  Status Skip(uint64_t n) override {
    pos_ += static_cast<size_t>(n);
    return Status::OK();
  }

 private:
  std::shared_ptr<MemFileSystem::FileData> file_;
  size_t pos_ = 0;
};

}  // namespace

class MemFileSystem::MemLock final : public FileLock {
 public:
  MemLock(MemFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  ~MemLock() override {
    MutexLock lock(&fs_->mu_);
    fs_->locks_.erase(path_);
  }

 private:
  MemFileSystem* const fs_;
  const std::string path_;
};

MemFileSystem::MemFileSystem() : free_space_(uint64_t{1} << 40) { dirs_.insert("/"); }
MemFileSystem::~MemFileSystem() = default;

Result<std::unique_ptr<WritableFile>> MemFileSystem::Open(const std::string& raw_path, bool truncate) {
  std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  std::string dir = DirName(path);
  if (dir != "." && !dirs_.count(dir)) {
    return Status::NotFound(fmt::format("open {}: directory {} does not exist", path, dir));
  }
  if (dirs_.count(path)) return Status::IOError(fmt::format("open {}: is a directory", path));
  auto& file = files_[path];
  if (!file) file = std::make_shared<FileData>();
  if (truncate) {
    MutexLock flock(&file->mu);
    file->data.clear();
  }
  return std::unique_ptr<WritableFile>(new MemWritableFile(file));
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewWritableFile(const std::string& path) {
  return Open(path, true);
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewAppendableFile(const std::string& path) {
  return Open(path, false);
}

Result<std::unique_ptr<RandomAccessFile>> MemFileSystem::NewRandomAccessFile(const std::string& path) {
  MutexLock lock(&mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return Status::NotFound(fmt::format("open {}: no such file", path));
  return std::unique_ptr<RandomAccessFile>(new MemRandomAccessFile(it->second));
}

Result<std::unique_ptr<SequentialFile>> MemFileSystem::NewSequentialFile(const std::string& path) {
  MutexLock lock(&mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return Status::NotFound(fmt::format("open {}: no such file", path));
  return std::unique_ptr<SequentialFile>(new MemSequentialFile(it->second));
}

bool MemFileSystem::FileExists(const std::string& raw_path) {
  std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  return files_.count(path) || dirs_.count(path);
}

Result<uint64_t> MemFileSystem::GetFileSize(const std::string& path) {
  MutexLock lock(&mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return Status::NotFound(fmt::format("stat {}: no such file", path));
  MutexLock flock(&it->second->mu);
  return static_cast<uint64_t>(it->second->data.size());
}

Result<std::vector<std::string>> MemFileSystem::GetChildren(const std::string& raw_dir) {
  std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  if (!dirs_.count(dir)) return Status::NotFound(fmt::format("list {}: no such directory", dir));
  std::string prefix = dir == "/" ? "/" : dir + "/";
  std::vector<std::string> out;
  auto collect = [&](const std::string& path) {
    if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
        path.find('/', prefix.size()) == std::string::npos) {
      out.push_back(path.substr(prefix.size()));
    }
  };
  for (const auto& [path, file] : files_) collect(path);
  for (const auto& d : dirs_) collect(d);
  return out;
}

Status MemFileSystem::CreateDir(const std::string& raw_dir) {
  std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  if (files_.count(dir)) return Status::IOError(fmt::format("create directory {}: a file with that name exists", dir));
  // Create parents too.
  std::string path = dir;
  while (!path.empty() && path != "." && path != "/") {
    dirs_.insert(path);
    path = DirName(path);
  }
  return Status::OK();
}

Status MemFileSystem::DeleteDir(const std::string& raw_dir) {
  std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  if (!dirs_.count(dir)) return Status::NotFound(fmt::format("remove directory {}: no such directory", dir));
  std::string prefix = dir + "/";
  for (const auto& [path, file] : files_) {
    if (path.compare(0, prefix.size(), prefix) == 0) {
      return Status::IOError(fmt::format("remove directory {}: not empty", dir));
    }
  }
  dirs_.erase(dir);
  return Status::OK();
}

Status MemFileSystem::DeleteFile(const std::string& path) {
  MutexLock lock(&mu_);
  if (files_.erase(Normalize(path)) == 0) return Status::NotFound(fmt::format("delete {}: no such file", path));
  return Status::OK();
}

Status MemFileSystem::RenameFile(const std::string& from, const std::string& to) {
  MutexLock lock(&mu_);
  auto it = files_.find(Normalize(from));
  if (it == files_.end()) return Status::NotFound(fmt::format("rename {}: no such file", from));
  auto data = it->second;
  files_.erase(it);
  files_[Normalize(to)] = std::move(data);
  return Status::OK();
}

Status MemFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  MutexLock lock(&mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return Status::NotFound(fmt::format("truncate {}: no such file", path));
  MutexLock flock(&it->second->mu);
  it->second->data.resize(static_cast<size_t>(size), '\0');
  return Status::OK();
}

Status MemFileSystem::SyncDir(const std::string& dir) { return Status::OK(); }

Result<std::unique_ptr<FileLock>> MemFileSystem::LockFile(const std::string& raw_path) {
  std::string path = Normalize(raw_path);
  {
    MutexLock lock(&mu_);
    if (locks_.count(path)) return Status::Locked(fmt::format("{} is locked by this process", path));
    locks_.insert(path);
    if (!files_.count(path)) files_[path] = std::make_shared<FileData>();
  }
  return std::unique_ptr<FileLock>(new MemLock(this, path));
}

Result<uint64_t> MemFileSystem::GetFreeSpace(const std::string& path) {
  MutexLock lock(&mu_);
  return free_space_;
}

void MemFileSystem::SetFreeSpace(uint64_t bytes) {
  MutexLock lock(&mu_);
  free_space_ = bytes;
}

}  // namespace ebb
