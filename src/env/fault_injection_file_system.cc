#include "env/fault_injection_file_system.h"

#include <fmt/format.h>

#include "base/random.h"
#include "base/status_macros.h"

namespace ebb {

class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    EBB_RETURN_IF_ERROR(fs_->BeforeAppend(path_, data.size()));
    EBB_RETURN_IF_ERROR(base_->Append(data));
    fs_->AfterAppend(path_, data.size());
    return Status::OK();
  }
  Status Flush() override {
    EBB_RETURN_IF_ERROR(base_->Flush());
    fs_->AfterFlush(path_);
    return Status::OK();
  }
  Status Sync() override {
    return FlushAndSync([this] { return base_->Sync(); });
  }
  Status SyncFlushed() override {
    uint64_t flushed = fs_->FlushedSize(path_);
    EBB_RETURN_IF_ERROR(fs_->BeforeSync(path_));
    EBB_RETURN_IF_ERROR(base_->SyncFlushed());
    fs_->AfterSync(path_, flushed);
    return Status::OK();
  }
  Status Finish() override {
    return FlushAndSync([this] { return base_->Finish(); });
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  // Sync and Finish: the sync fault, then `op`, then everything appended
  // counts as flushed and synced.
  template <typename Op>
  Status FlushAndSync(Op op) {
    EBB_RETURN_IF_ERROR(fs_->BeforeSync(path_));
    EBB_RETURN_IF_ERROR(op());
    fs_->AfterFlush(path_);
    fs_->AfterSync(path_, fs_->FlushedSize(path_));
    return Status::OK();
  }

  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

class FaultInjectionFileSystem::ReadFile final : public RandomAccessFile {
 public:
  ReadFile(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<RandomAccessFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    EBB_RETURN_IF_ERROR(fs_->BeforeRead(path_));
    return base_->Read(offset, n, scratch);
  }
  uint64_t Size() const override { return base_->Size(); }
  bool ZeroCopy() const override { return base_->ZeroCopy(); }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<RandomAccessFile> base_;
};

class FaultInjectionFileSystem::SeqFile final : public SequentialFile {
 public:
  SeqFile(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<SequentialFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}
  Result<std::string_view> Read(size_t n, char* scratch) override {
    EBB_RETURN_IF_ERROR(fs_->BeforeRead(path_));
    return base_->Read(n, scratch);
  }
  Status Skip(uint64_t n) override { return base_->Skip(n); }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<SequentialFile> base_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}
FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::FailNth(FaultOp op, int nth, Status error, bool sticky) {
  MutexLock lock(&mu_);
  faults_[op] = Fault{nth, std::move(error), sticky, false};
}

void FaultInjectionFileSystem::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
}

void FaultInjectionFileSystem::SetSpaceBudget(uint64_t bytes) {
  MutexLock lock(&mu_);
  space_budget_ = bytes;
}

void FaultInjectionFileSystem::ClearSpaceBudget() {
  MutexLock lock(&mu_);
  space_budget_.reset();
}

void FaultInjectionFileSystem::Deactivate() {
  MutexLock lock(&mu_);
  active_ = false;
}

void FaultInjectionFileSystem::Reactivate() {
  MutexLock lock(&mu_);
  active_ = true;
}

bool FaultInjectionFileSystem::active() const {
  MutexLock lock(&mu_);
  return active_;
}

uint64_t FaultInjectionFileSystem::appends() const {
  MutexLock lock(&mu_);
  return appends_;
}
uint64_t FaultInjectionFileSystem::syncs() const {
  MutexLock lock(&mu_);
  return syncs_;
}
uint64_t FaultInjectionFileSystem::bytes_appended() const {
  MutexLock lock(&mu_);
  return bytes_appended_;
}

Status FaultInjectionFileSystem::CheckFault(FaultOp op) {
  auto it = faults_.find(op);
  if (it == faults_.end()) return Status::OK();
  Fault& f = it->second;
  if (f.fired) {
    if (f.sticky) return f.error;
    return Status::OK();
  }
  if (--f.countdown <= 0) {
    f.fired = true;
    return f.error;
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::CheckActive(std::string_view op, const std::string& path) {
  if (!active_) {
    return Status::IOError(fmt::format("{} {}: file system inactive (simulated crash)", op, path));
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::BeforeAppend(const std::string& path, size_t n) {
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckActive("append", path));
  EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kAppend));
  if (space_budget_) {
    if (n > *space_budget_) {
      *space_budget_ = 0;
      return Status::NoSpace(fmt::format("append {}: No space left on device (injected)", path));
    }
    *space_budget_ -= n;
  }
  return Status::OK();
}

void FaultInjectionFileSystem::AfterAppend(const std::string& path, size_t n) {
  MutexLock lock(&mu_);
  files_[path].size += n;
  appends_++;
  bytes_appended_ += n;
}

Status FaultInjectionFileSystem::BeforeSync(const std::string& path) {
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckActive("sync", path));
  return CheckFault(FaultOp::kSync);
}

void FaultInjectionFileSystem::AfterFlush(const std::string& path) {
  MutexLock lock(&mu_);
  auto& st = files_[path];
  st.flushed = st.size;
}

uint64_t FaultInjectionFileSystem::FlushedSize(const std::string& path) {
  MutexLock lock(&mu_);
  return files_[path].flushed;
}

void FaultInjectionFileSystem::AfterSync(const std::string& path, uint64_t synced_size) {
  MutexLock lock(&mu_);
  auto& st = files_[path];
  st.synced = std::max(st.synced, std::min(synced_size, st.size));
  syncs_++;
}

Status FaultInjectionFileSystem::BeforeRead(const std::string& path) {
  MutexLock lock(&mu_);
  return CheckFault(FaultOp::kRead);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::Wrap(const std::string& path,
                                                                     Result<std::unique_ptr<WritableFile>> base,
                                                                     bool truncated) {
  if (!base.ok()) return base.status();
  uint64_t size = (*base)->Size();
  {
    MutexLock lock(&mu_);
    auto [it, inserted] = files_.try_emplace(path);
    if (inserted) {
      it->second.new_since_dir_sync = true;
      // A file that existed before we started tracking counts as synced.
      it->second.synced = truncated ? 0 : size;
    }
    if (truncated) it->second.synced = 0;
    it->second.size = size;
    it->second.flushed = size;
  }
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(*base)));
}

Status FaultInjectionFileSystem::CheckCreate(std::string_view op, const std::string& path) {
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckActive(op, path));
  return CheckFault(FaultOp::kCreate);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(const std::string& path) {
  EBB_RETURN_IF_ERROR(CheckCreate("create", path));
  return Wrap(path, base_->NewWritableFile(path), /*truncated=*/true);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewMappedLogFile(const std::string& path) {
  EBB_RETURN_IF_ERROR(CheckCreate("create", path));
  return Wrap(path, base_->NewMappedLogFile(path), /*truncated=*/true);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(const std::string& path) {
  bool existed = base_->FileExists(path);
  EBB_RETURN_IF_ERROR(CheckCreate("open", path));
  return Wrap(path, base_->NewAppendableFile(path), /*truncated=*/!existed);
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(const std::string& path) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kRead));
  }
  EBB_ASSIGN_OR_RETURN(auto file, base_->NewRandomAccessFile(path));
  return std::unique_ptr<RandomAccessFile>(new ReadFile(this, path, std::move(file)));
}

Result<std::unique_ptr<SequentialFile>> FaultInjectionFileSystem::NewSequentialFile(const std::string& path) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kRead));
  }
  EBB_ASSIGN_OR_RETURN(auto file, base_->NewSequentialFile(path));
  return std::unique_ptr<SequentialFile>(new SeqFile(this, path, std::move(file)));
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) { return base_->FileExists(path); }
Result<uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) { return base_->GetFileSize(path); }
Result<std::vector<std::string>> FaultInjectionFileSystem::GetChildren(const std::string& dir) {
  return base_->GetChildren(dir);
}

Status FaultInjectionFileSystem::CreateDir(const std::string& dir) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("create directory", dir));
  }
  return base_->CreateDir(dir);
}

Status FaultInjectionFileSystem::DeleteDir(const std::string& dir) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("remove directory", dir));
  }
  return base_->DeleteDir(dir);
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("delete", path));
    EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kDelete));
  }
  EBB_RETURN_IF_ERROR(base_->DeleteFile(path));
  MutexLock lock(&mu_);
  files_.erase(path);
  return Status::OK();
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("rename", from));
    EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kRename));
  }
  EBB_RETURN_IF_ERROR(base_->RenameFile(from, to));
  MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState st = it->second;
    files_.erase(it);
    files_[to] = st;
  } else {
    files_.erase(to);
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("truncate", path));
  }
  EBB_RETURN_IF_ERROR(base_->TruncateFile(path, size));
  MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    // TruncateFile makes the file durable at its new size.
    it->second.size = it->second.flushed = it->second.synced = size;
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(CheckActive("sync directory", dir));
    EBB_RETURN_IF_ERROR(CheckFault(FaultOp::kSync));
  }
  EBB_RETURN_IF_ERROR(base_->SyncDir(dir));
  MutexLock lock(&mu_);
  for (auto& [path, st] : files_) {
    if (DirName(path) == dir) st.new_since_dir_sync = false;
  }
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(const std::string& path) {
  return base_->LockFile(path);
}

Result<uint64_t> FaultInjectionFileSystem::GetFreeSpace(const std::string& path) {
  {
    MutexLock lock(&mu_);
    if (space_budget_) return *space_budget_;
  }
  return base_->GetFreeSpace(path);
}

Status FaultInjectionFileSystem::DropUnsyncedData(std::optional<uint64_t> torn_seed) {
  std::map<std::string, FileState> files;
  {
    MutexLock lock(&mu_);
    files = files_;
  }
  Random rnd(torn_seed.value_or(0));
  for (const auto& [path, st] : files) {
    if (!base_->FileExists(path)) continue;
    if (st.new_since_dir_sync && st.synced == 0) {
      EBB_RETURN_IF_ERROR(base_->DeleteFile(path));
      continue;
    }
    uint64_t keep = st.synced;
    if (torn_seed && st.size > st.synced) keep += rnd.Uniform(st.size - st.synced + 1);
    EBB_ASSIGN_OR_RETURN(uint64_t actual, base_->GetFileSize(path));
    if (actual > keep) EBB_RETURN_IF_ERROR(base_->TruncateFile(path, keep));
  }
  MutexLock lock(&mu_);
  for (auto& [path, st] : files_) {
    st.size = st.flushed = st.synced = base_->GetFileSize(path).value_or(0);
    st.new_since_dir_sync = false;
  }
  std::erase_if(files_, [&](const auto& kv) { return !base_->FileExists(kv.first); });
  active_ = true;
  return Status::OK();
}

Status FaultInjectionFileSystem::CorruptBytes(const std::string& path, uint64_t offset, uint64_t length) {
  EBB_ASSIGN_OR_RETURN(std::string data, ReadFileToString(base_, path));
  if (offset + length > data.size()) {
    return Status::InvalidArgument(fmt::format("corrupt {}: range {}+{} is past the end ({} bytes)", path, offset,
                                               length, data.size()));
  }
  for (uint64_t i = offset; i < offset + length; i++) data[i] = static_cast<char>(data[i] ^ 0xff);
  return WriteStringToFile(base_, data, path, /*sync=*/true);
}

}  // namespace ebb
