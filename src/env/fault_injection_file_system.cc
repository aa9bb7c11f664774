#include "env/fault_injection_file_system.h"

#include <functional>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "base/status_macros.h"

namespace ebb {

std::string_view FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kAppend:
      return "append";
    case FaultOp::kSync:
      return "sync";
    case FaultOp::kSyncDir:
      return "sync-dir";
    case FaultOp::kRename:
      return "rename";
    case FaultOp::kCreate:
      return "create";
    case FaultOp::kMap:
      return "map";
    case FaultOp::kRead:
      return "read";
    case FaultOp::kDelete:
      return "delete";
    case FaultOp::kTruncate:
      return "truncate";
  }
  return "?";
}

class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    return fs_->Run(FaultOp::kAppend, "append", path_, true, [&]() -> Status {
      EBB_RETURN_IF_ERROR(fs_->BeforeAppend(path_, data.size()));
      EBB_RETURN_IF_ERROR(base_->Append(data));
      fs_->AfterAppend(data.size());
      return Status::OK();
    });
  }
  Status Flush() override { return base_->Flush(); }
  Status Sync() override { return SyncWith([this] { return base_->Sync(); }); }
  Status SyncFlushed() override { return SyncWith([this] { return base_->SyncFlushed(); }); }
  std::unique_ptr<SyncTicket> StartSyncFlushed() override;
  Status Finish() override { return SyncWith([this] { return base_->Finish(); }); }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  template <typename Op>
  Status SyncWith(Op op) {
    return fs_->Run(FaultOp::kSync, "sync", path_, true, [&]() -> Status {
      EBB_RETURN_IF_ERROR(op());
      MutexLock lock(&fs_->mu_);
      fs_->syncs_++;
      return Status::OK();
    });
  }

  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

// A started sync while syncs are held: it runs (on the thread that polls or
// waits) once they are released.
class FaultInjectionFileSystem::HeldSync final : public SyncTicket {
 public:
  HeldSync(FaultInjectionFileSystem* fs, std::function<Status()> sync) : fs_(fs), sync_(std::move(sync)) {}
  ~HeldSync() override {
    if (!result_) (void)Wait();
  }
  std::optional<Status> Poll() override {
    if (!result_) {
      MutexLock lock(&fs_->mu_);
      if (fs_->hold_syncs_) return std::nullopt;
    }
    return Wait();
  }
  Status Wait() override {
    if (!result_) {
      {
        MutexLock lock(&fs_->mu_);
        while (fs_->hold_syncs_) fs_->syncs_released_.Wait();
      }
      result_ = sync_();
    }
    return *result_;
  }

 private:
  FaultInjectionFileSystem* const fs_;
  std::function<Status()> sync_;
  std::optional<Status> result_;
};

std::unique_ptr<SyncTicket> FaultInjectionFileSystem::File::StartSyncFlushed() {
  bool held;
  {
    MutexLock lock(&fs_->mu_);
    fs_->started_syncs_++;
    held = fs_->hold_syncs_;
  }
  // Not held: nullptr, so the caller syncs with SyncFlushed, under the
  // armed faults.
  if (!held) return nullptr;
  return std::make_unique<HeldSync>(fs_, [this] { return SyncWith([this] { return base_->SyncFlushed(); }); });
}

class FaultInjectionFileSystem::ReadFile final : public RandomAccessFile {
 public:
  ReadFile(FaultInjectionFileSystem* fs, std::string path, std::unique_ptr<RandomAccessFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    return fs_->Run(FaultOp::kRead, "read", path_, false, [&] { return base_->Read(offset, n, scratch); });
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
    return fs_->Run(FaultOp::kRead, "read", path_, false, [&] { return base_->Read(n, scratch); });
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
  FaultSpec spec;
  spec.op = op;
  spec.nth = nth;
  spec.error = std::move(error);
  spec.sticky = sticky;
  Fail(std::move(spec));
}

void FaultInjectionFileSystem::Fail(FaultSpec spec) {
  MutexLock lock(&mu_);
  const FaultOp op = spec.op;
  const int countdown = spec.nth;
  faults_[op] = Fault{std::move(spec), countdown, false};
}

void FaultInjectionFileSystem::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
}

uint64_t FaultInjectionFileSystem::calls(FaultOp op) const {
  MutexLock lock(&mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

uint64_t FaultInjectionFileSystem::calls(FaultOp op, std::string_view path_contains) const {
  MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const auto& [key, count] : calls_by_path_) {
    if (key.first == op && key.second.find(path_contains) != std::string::npos) n += count;
  }
  return n;
}

bool FaultInjectionFileSystem::fired(FaultOp op) const {
  MutexLock lock(&mu_);
  auto it = faults_.find(op);
  return it != faults_.end() && it->second.fired;
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

void FaultInjectionFileSystem::HoldStartedSyncs() {
  MutexLock lock(&mu_);
  hold_syncs_ = true;
}

void FaultInjectionFileSystem::ReleaseStartedSyncs() {
  MutexLock lock(&mu_);
  hold_syncs_ = false;
  syncs_released_.SignalAll();
}

uint64_t FaultInjectionFileSystem::started_syncs() const {
  MutexLock lock(&mu_);
  return started_syncs_;
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

FaultInjectionFileSystem::Check FaultInjectionFileSystem::Begin(FaultOp op, std::string_view what,
                                                                const std::string& path, bool mutating) {
  MutexLock lock(&mu_);
  calls_[op]++;
  calls_by_path_[{op, path}]++;
  Check check;
  if (mutating && !active_) {
    check.before = Status::IOError(fmt::format("{} {}: file system inactive (simulated crash)", what, path));
    return check;
  }
  auto it = faults_.find(op);
  if (it == faults_.end()) return check;
  Fault& f = it->second;
  if (!f.spec.path_contains.empty() && path.find(f.spec.path_contains) == std::string::npos) return check;
  Status error;
  if (f.fired) {
    if (!f.spec.sticky) return check;
    error = f.spec.error;
  } else if (--f.countdown <= 0) {
    f.fired = true;
    error = f.spec.error;
  } else {
    return check;
  }
  // Injected errors read like a real file system's: operation, path, cause.
  error = Status(error.code(), fmt::format("{} {}: {}", what, path, error.message()));
  (f.spec.timing == FaultTiming::kAfter ? check.after : check.before) = std::move(error);
  return check;
}

template <typename Call>
auto FaultInjectionFileSystem::Run(FaultOp op, std::string_view what, const std::string& path, bool mutating,
                                   Call call) -> decltype(call()) {
  Check check = Begin(op, what, path, mutating);
  if (!check.before.ok()) return check.before;
  auto result = call();
  if (!check.after.ok()) return check.after;  // it happened; the caller is told it did not
  return result;
}

Status FaultInjectionFileSystem::BeforeAppend(const std::string& path, size_t n) {
  MutexLock lock(&mu_);
  if (space_budget_) {
    if (n > *space_budget_) {
      *space_budget_ = 0;
      return Status::NoSpace(fmt::format("append {}: No space left on device (injected)", path));
    }
    *space_budget_ -= n;
  }
  return Status::OK();
}

void FaultInjectionFileSystem::AfterAppend(size_t n) {
  MutexLock lock(&mu_);
  appends_++;
  bytes_appended_ += n;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, Run(FaultOp::kCreate, "create", path, true, [&] { return base_->NewWritableFile(path); }));
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(file)));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewMappedLogFile(const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, Run(FaultOp::kMap, "map", path, true, [&] { return base_->NewMappedLogFile(path); }));
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(file)));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, Run(FaultOp::kCreate, "open", path, true, [&] { return base_->NewAppendableFile(path); }));
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(file)));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, Run(FaultOp::kRead, "open", path, false, [&] { return base_->NewRandomAccessFile(path); }));
  return std::unique_ptr<RandomAccessFile>(new ReadFile(this, path, std::move(file)));
}

Result<std::unique_ptr<SequentialFile>> FaultInjectionFileSystem::NewSequentialFile(const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, Run(FaultOp::kRead, "open", path, false, [&] { return base_->NewSequentialFile(path); }));
  return std::unique_ptr<SequentialFile>(new SeqFile(this, path, std::move(file)));
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) { return base_->FileExists(path); }
Result<uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) { return base_->GetFileSize(path); }
Result<std::vector<std::string>> FaultInjectionFileSystem::GetChildren(const std::string& dir) {
  return base_->GetChildren(dir);
}

Status FaultInjectionFileSystem::CreateDir(const std::string& dir) {
  Check check = Begin(FaultOp::kCreate, "create directory", dir, true);
  if (!check.before.ok()) return check.before;
  EBB_RETURN_IF_ERROR(base_->CreateDir(dir));
  return check.after;
}

Status FaultInjectionFileSystem::DeleteDir(const std::string& dir) {
  return Run(FaultOp::kDelete, "remove directory", dir, true, [&] { return base_->DeleteDir(dir); });
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  return Run(FaultOp::kDelete, "delete", path, true, [&] { return base_->DeleteFile(path); });
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  return Run(FaultOp::kRename, "rename", from, true, [&] { return base_->RenameFile(from, to); });
}

Status FaultInjectionFileSystem::TruncateFile(const std::string& path, uint64_t size) {
  return Run(FaultOp::kTruncate, "truncate", path, true, [&] { return base_->TruncateFile(path, size); });
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  return Run(FaultOp::kSyncDir, "sync directory", dir, true, [&] { return base_->SyncDir(dir); });
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
