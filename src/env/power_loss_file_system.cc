#include "env/power_loss_file_system.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/random.h"
#include "base/status_macros.h"

namespace ebb {

struct PowerLossFileSystem::Inode {
  std::string data;  // what reads see: the page cache
  // The size on disk as of the last sync, and the on-disk contents of every
  // page below it that changed since (pages at or past it hold nothing on
  // disk: zeros if the size reached the disk).
  uint64_t durable_size = 0;
  std::map<uint64_t, std::string> undo;  // page index -> on-disk bytes
  // A mapped log: data.size() is the reservation, logical_size the bytes
  // appended.
  bool mapped = false;
  uint64_t logical_size = 0;
};

namespace {

std::string Normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

Status Gone(std::string_view op, const std::string& path) {
  return Status::IOError(
      fmt::format("{} {}: the handle was opened before a simulated power loss (its process is gone)", op, path));
}

}  // namespace

std::string PowerLossFileSystem::CrashReport::ToString() const {
  return fmt::format("{} files with unsynced data, {} pages lost, {} kept, {} files cut to their synced size, {} "
                     "directory entries reverted",
                     files_with_unsynced_data, pages_lost, pages_kept, files_cut_to_synced_size, entries_reverted);
}

// ---------------------------------------------------------------------------
// Handles

class PowerLossFileSystem::Writer final : public WritableFile {
 public:
  Writer(PowerLossFileSystem* fs, std::shared_ptr<Inode> inode, std::string path, uint64_t epoch, bool mapped)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)), epoch_(epoch), mapped_(mapped) {}
  ~Writer() override {
    if (mapped_ && !closed_) (void)fs_->Trim(inode_.get(), epoch_, path_);
  }

  Status Append(std::string_view data) override {
    if (closed_) return Status::IOError(fmt::format("append {}: file is closed", path_));
    if (finished_) return Status::IOError(fmt::format("append {}: the file was finished", path_));
    return fs_->WriteAt(inode_.get(), epoch_, path_, data, mapped_);
  }
  Status Flush() override { return Status::OK(); }  // appends go straight to the page cache
  Status Sync() override { return fs_->Sync(inode_.get(), epoch_, path_); }
  Status SyncFlushed() override { return fs_->Sync(inode_.get(), epoch_, path_); }
  Status Finish() override {
    finished_ = true;
    if (mapped_) EBB_RETURN_IF_ERROR(fs_->Trim(inode_.get(), epoch_, path_));
    return fs_->Sync(inode_.get(), epoch_, path_);
  }
  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    return mapped_ ? fs_->Trim(inode_.get(), epoch_, path_) : Status::OK();
  }
  uint64_t Size() const override {
    MutexLock lock(&fs_->mu_);
    return mapped_ ? inode_->logical_size : inode_->data.size();
  }

 private:
  PowerLossFileSystem* const fs_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t epoch_;
  const bool mapped_;
  bool finished_ = false;
  bool closed_ = false;
};

class PowerLossFileSystem::Reader final : public RandomAccessFile {
 public:
  Reader(const PowerLossFileSystem* fs, std::shared_ptr<Inode> inode) : fs_(fs), inode_(std::move(inode)) {}
  Result<std::string_view> Read(uint64_t offset, size_t n, char* scratch) const override {
    MutexLock lock(&fs_->mu_);
    const std::string& data = inode_->data;
    if (offset >= data.size()) return std::string_view();
    size_t len = std::min<size_t>(n, data.size() - static_cast<size_t>(offset));
    std::memcpy(scratch, data.data() + offset, len);
    return std::string_view(scratch, len);
  }
  uint64_t Size() const override {
    MutexLock lock(&fs_->mu_);
    return inode_->data.size();
  }

 private:
  const PowerLossFileSystem* const fs_;
  const std::shared_ptr<Inode> inode_;
};

class PowerLossFileSystem::SeqReader final : public SequentialFile {
 public:
  SeqReader(const PowerLossFileSystem* fs, std::shared_ptr<Inode> inode) : reader_(fs, std::move(inode)) {}
  Result<std::string_view> Read(size_t n, char* scratch) override {
    EBB_ASSIGN_OR_RETURN(std::string_view piece, reader_.Read(pos_, n, scratch));
    pos_ += piece.size();
    return piece;
  }
  Status Skip(uint64_t n) override {
    pos_ += n;
    return Status::OK();
  }

 private:
  Reader reader_;
  uint64_t pos_ = 0;
};

class PowerLossFileSystem::Lock final : public FileLock {
 public:
  Lock(PowerLossFileSystem* fs, std::string path, uint64_t epoch) : fs_(fs), path_(std::move(path)), epoch_(epoch) {}
  ~Lock() override { fs_->ReleaseLock(path_, epoch_); }

 private:
  PowerLossFileSystem* const fs_;
  const std::string path_;
  const uint64_t epoch_;
};

// ---------------------------------------------------------------------------

PowerLossFileSystem::PowerLossFileSystem() { dirs_["/"]; }
PowerLossFileSystem::~PowerLossFileSystem() = default;

void PowerLossFileSystem::Freeze() {
  MutexLock lock(&mu_);
  frozen_ = true;
}

Status PowerLossFileSystem::CheckWritable(std::string_view op, const std::string& path) const {
  if (frozen_) return Status::IOError(fmt::format("{} {}: the machine is down (simulated power loss)", op, path));
  return Status::OK();
}

std::shared_ptr<PowerLossFileSystem::Inode> PowerLossFileSystem::FindFile(const std::string& path) const {
  auto dir = dirs_.find(DirName(path));
  if (dir == dirs_.end()) return nullptr;
  auto it = dir->second.entries.find(BaseName(path));
  if (it == dir->second.entries.end()) return nullptr;
  return it->second.inode;
}

void PowerLossFileSystem::BeforeModify(Inode* inode, uint64_t offset, uint64_t n) {
  // Only bytes below the synced size have something on disk to keep.
  if (n == 0 || offset >= inode->durable_size) return;
  const uint64_t first = offset / kPageBytes;
  const uint64_t last = (std::min(offset + n, inode->durable_size) - 1) / kPageBytes;
  for (uint64_t p = first; p <= last; p++) {
    if (inode->undo.count(p)) continue;
    const uint64_t start = p * kPageBytes;
    const uint64_t end = std::min(start + kPageBytes, inode->durable_size);
    inode->undo.emplace(p, inode->data.substr(start, end - start));
  }
}

void PowerLossFileSystem::MarkDurable(Inode* inode) {
  inode->undo.clear();
  inode->durable_size = inode->data.size();
}

Result<std::unique_ptr<WritableFile>> PowerLossFileSystem::Open(const std::string& raw_path, bool truncate,
                                                                bool mapped) {
  const std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("open", path));
  auto dir = dirs_.find(DirName(path));
  if (dir == dirs_.end()) {
    return Status::NotFound(fmt::format("open {}: directory {} does not exist", path, DirName(path)));
  }
  if (dirs_.count(path)) return Status::IOError(fmt::format("open {}: is a directory", path));
  Entry& entry = dir->second.entries[BaseName(path)];
  if (entry.inode == nullptr) {
    entry.inode = std::make_shared<Inode>();
  } else if (truncate) {
    // O_TRUNC is modelled as reaching the disk at once (the old contents
    // are gone either way; Ebb never truncates a file it still needs).
    entry.inode->data.clear();
    MarkDurable(entry.inode.get());
  }
  entry.inode->mapped = mapped;
  entry.inode->logical_size = mapped ? 0 : entry.inode->data.size();
  return std::unique_ptr<WritableFile>(new Writer(this, entry.inode, path, epoch_, mapped));
}

Status PowerLossFileSystem::WriteAt(Inode* inode, uint64_t epoch, const std::string& path, std::string_view data,
                                    bool mapped) {
  MutexLock lock(&mu_);
  if (epoch != epoch_) return Gone("append", path);
  EBB_RETURN_IF_ERROR(CheckWritable("append", path));
  if (!mapped) {
    BeforeModify(inode, inode->data.size(), data.size());
    inode->data.append(data.data(), data.size());
    return Status::OK();
  }
  const uint64_t offset = inode->logical_size;
  if (offset + data.size() > inode->data.size()) {
    // Reserve whole chunks of zeros, as posix_fallocate would.
    const uint64_t want = (offset + data.size() + kMappedLogChunkBytes - 1) / kMappedLogChunkBytes * kMappedLogChunkBytes;
    inode->data.resize(want, '\0');
  }
  BeforeModify(inode, offset, data.size());
  std::memcpy(inode->data.data() + offset, data.data(), data.size());
  inode->logical_size += data.size();
  return Status::OK();
}

Status PowerLossFileSystem::Sync(Inode* inode, uint64_t epoch, const std::string& path) {
  MutexLock lock(&mu_);
  if (epoch != epoch_) return Gone("sync", path);
  EBB_RETURN_IF_ERROR(CheckWritable("sync", path));
  MarkDurable(inode);
  return Status::OK();
}

Status PowerLossFileSystem::Trim(Inode* inode, uint64_t epoch, const std::string& path) {
  MutexLock lock(&mu_);
  if (epoch != epoch_) return Gone("trim", path);
  EBB_RETURN_IF_ERROR(CheckWritable("trim the reserved space of", path));
  if (inode->data.size() > inode->logical_size) inode->data.resize(inode->logical_size);
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> PowerLossFileSystem::NewWritableFile(const std::string& path) {
  return Open(path, /*truncate=*/true, /*mapped=*/false);
}

Result<std::unique_ptr<WritableFile>> PowerLossFileSystem::NewAppendableFile(const std::string& path) {
  return Open(path, /*truncate=*/false, /*mapped=*/false);
}

Result<std::unique_ptr<WritableFile>> PowerLossFileSystem::NewMappedLogFile(const std::string& path) {
  return Open(path, /*truncate=*/true, /*mapped=*/true);
}

Result<std::unique_ptr<RandomAccessFile>> PowerLossFileSystem::NewRandomAccessFile(const std::string& path) {
  MutexLock lock(&mu_);
  auto inode = FindFile(Normalize(path));
  if (inode == nullptr) return Status::NotFound(fmt::format("open {}: no such file", path));
  return std::unique_ptr<RandomAccessFile>(new Reader(this, std::move(inode)));
}

Result<std::unique_ptr<SequentialFile>> PowerLossFileSystem::NewSequentialFile(const std::string& path) {
  MutexLock lock(&mu_);
  auto inode = FindFile(Normalize(path));
  if (inode == nullptr) return Status::NotFound(fmt::format("open {}: no such file", path));
  return std::unique_ptr<SequentialFile>(new SeqReader(this, std::move(inode)));
}

bool PowerLossFileSystem::FileExists(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  return dirs_.count(path) || FindFile(path) != nullptr;
}

Result<uint64_t> PowerLossFileSystem::GetFileSize(const std::string& path) {
  MutexLock lock(&mu_);
  auto inode = FindFile(Normalize(path));
  if (inode == nullptr) return Status::NotFound(fmt::format("stat {}: no such file", path));
  return static_cast<uint64_t>(inode->data.size());
}

Result<std::vector<std::string>> PowerLossFileSystem::GetChildren(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return Status::NotFound(fmt::format("list {}: no such directory", dir));
  std::vector<std::string> out;
  out.reserve(it->second.entries.size());
  for (const auto& [name, entry] : it->second.entries) out.push_back(name);
  return out;
}

Status PowerLossFileSystem::CreateDir(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("create directory", dir));
  if (FindFile(dir) != nullptr) {
    return Status::IOError(fmt::format("create directory {}: a file with that name exists", dir));
  }
  // Parents first, each an entry of its own parent.
  std::vector<std::string> missing;
  for (std::string d = dir; d != "/" && d != "." && !dirs_.count(d); d = DirName(d)) missing.push_back(d);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    auto parent = dirs_.find(DirName(*it));
    if (parent == dirs_.end()) return Status::NotFound(fmt::format("create directory {}: bad path", dir));
    parent->second.entries[BaseName(*it)] = Entry{};
    dirs_[*it];
  }
  return Status::OK();
}

Status PowerLossFileSystem::DeleteDir(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("remove directory", dir));
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || dir == "/") return Status::NotFound(fmt::format("remove directory {}: no such directory", dir));
  if (!it->second.entries.empty()) return Status::IOError(fmt::format("remove directory {}: not empty", dir));
  dirs_.erase(it);
  dirs_[DirName(dir)].entries.erase(BaseName(dir));
  return Status::OK();
}

Status PowerLossFileSystem::DeleteFile(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("delete", path));
  if (FindFile(path) == nullptr) return Status::NotFound(fmt::format("delete {}: no such file", path));
  dirs_[DirName(path)].entries.erase(BaseName(path));
  return Status::OK();
}

Status PowerLossFileSystem::RenameFile(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = Normalize(raw_from), to = Normalize(raw_to);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("rename", from));
  auto inode = FindFile(from);
  if (inode == nullptr) return Status::NotFound(fmt::format("rename {}: no such file", from));
  auto to_dir = dirs_.find(DirName(to));
  if (to_dir == dirs_.end()) return Status::NotFound(fmt::format("rename {} to {}: no such directory", from, to));
  dirs_[DirName(from)].entries.erase(BaseName(from));
  to_dir->second.entries[BaseName(to)] = Entry{std::move(inode)};
  return Status::OK();
}

Status PowerLossFileSystem::TruncateFile(const std::string& raw_path, uint64_t size) {
  const std::string path = Normalize(raw_path);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("truncate", path));
  auto inode = FindFile(path);
  if (inode == nullptr) return Status::NotFound(fmt::format("truncate {}: no such file", path));
  inode->data.resize(size, '\0');
  inode->logical_size = std::min(inode->logical_size, size);
  MarkDurable(inode.get());  // TruncateFile makes the file durable at its new size
  return Status::OK();
}

Status PowerLossFileSystem::SyncDir(const std::string& raw_dir) {
  const std::string dir = Normalize(raw_dir);
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(CheckWritable("sync directory", dir));
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return Status::NotFound(fmt::format("sync directory {}: no such directory", dir));
  it->second.durable = it->second.entries;
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> PowerLossFileSystem::LockFile(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  uint64_t epoch;
  {
    MutexLock lock(&mu_);
    if (locks_.count(path)) return Status::Locked(fmt::format("{} is locked by this process", path));
    auto dir = dirs_.find(DirName(path));
    if (dir == dirs_.end()) return Status::NotFound(fmt::format("lock {}: no such directory", path));
    Entry& entry = dir->second.entries[BaseName(path)];
    if (entry.inode == nullptr) entry.inode = std::make_shared<Inode>();
    locks_.insert(path);
    epoch = epoch_;
  }
  return std::unique_ptr<FileLock>(new Lock(this, path, epoch));
}

void PowerLossFileSystem::ReleaseLock(const std::string& path, uint64_t epoch) {
  MutexLock lock(&mu_);
  if (epoch == epoch_) locks_.erase(path);  // an older epoch's locks died with it
}

Result<uint64_t> PowerLossFileSystem::GetFreeSpace(const std::string& path) { return uint64_t{1} << 40; }

uint64_t PowerLossFileSystem::UnsyncedBytes() const {
  MutexLock lock(&mu_);
  std::set<const Inode*> seen;
  uint64_t bytes = 0;
  for (const auto& [path, dir] : dirs_) {
    for (const auto& [name, entry] : dir.entries) {
      const Inode* inode = entry.inode.get();
      if (inode == nullptr || !seen.insert(inode).second) continue;
      if (inode->data.size() > inode->durable_size) bytes += inode->data.size() - inode->durable_size;
      for (const auto& [page, old] : inode->undo) bytes += old.size();
    }
  }
  return bytes;
}

PowerLossFileSystem::CrashReport PowerLossFileSystem::SimulatePowerLoss(const CrashOptions& options) {
  MutexLock lock(&mu_);
  Random rnd(options.seed);
  CrashReport report;
  using Unsynced = CrashOptions::Unsynced;
  auto chance = [&](double p) {
    if (options.unsynced == Unsynced::kDropAll) return false;
    if (options.unsynced == Unsynced::kKeepAll) return true;
    return rnd.NextDouble() < p;
  };

  // Directories revert to their last synced entries; a directory whose
  // entry in its parent did not survive is gone with its contents.
  for (auto& [path, dir] : dirs_) {
    for (const auto& [name, entry] : dir.entries) {
      auto d = dir.durable.find(name);
      if (d == dir.durable.end() || !(d->second == entry)) report.entries_reverted++;
    }
    for (const auto& [name, entry] : dir.durable) {
      if (!dir.entries.count(name)) report.entries_reverted++;
    }
    dir.entries = dir.durable;
  }
  // Paths sort parents first, so one pass removes whole lost subtrees.
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    const std::string& path = it->first;
    if (path != "/") {
      auto parent = dirs_.find(DirName(path));
      if (parent == dirs_.end() || !parent->second.entries.count(BaseName(path)) ||
          parent->second.entries.at(BaseName(path)).inode != nullptr) {
        it = dirs_.erase(it);
        continue;
      }
    }
    ++it;
  }

  // File contents: pages written since the last sync survive or not.
  std::set<Inode*> done;
  for (auto& [path, dir] : dirs_) {
    for (auto& [name, entry] : dir.entries) {
      Inode* inode = entry.inode.get();
      if (inode == nullptr || !done.insert(inode).second) continue;
      const uint64_t current = inode->data.size();
      const uint64_t durable = inode->durable_size;
      if (current == durable && inode->undo.empty()) continue;
      report.files_with_unsynced_data++;
      uint64_t size = durable;
      if (current > durable && chance(options.size_survival)) size = current;
      if (current < durable) size = current;  // only TruncateFile shrinks, and it syncs
      if (size < current) report.files_cut_to_synced_size++;
      std::string disk = inode->data.substr(0, std::min(size, current));
      disk.resize(size, '\0');
      const uint64_t first_new_page = durable / kPageBytes;
      const uint64_t pages = (size + kPageBytes - 1) / kPageBytes;
      for (uint64_t p = 0; p < pages; p++) {
        auto undo = inode->undo.find(p);
        const bool touched = undo != inode->undo.end() || p >= first_new_page;
        if (!touched) continue;
        if (chance(options.page_survival)) {
          report.pages_kept++;
          continue;
        }
        report.pages_lost++;
        // The disk keeps what it had: the saved page, zeros past the synced size.
        const uint64_t start = p * kPageBytes;
        const uint64_t end = std::min(start + kPageBytes, size);
        const uint64_t zero_from = std::max(start, std::min(durable, end));
        std::fill(disk.begin() + static_cast<std::ptrdiff_t>(zero_from),
                  disk.begin() + static_cast<std::ptrdiff_t>(end), '\0');
        if (undo != inode->undo.end()) {
          const std::string& old = undo->second;
          std::memcpy(disk.data() + start, old.data(), std::min<uint64_t>(old.size(), end - start));
        }
      }
      inode->data = std::move(disk);
      inode->logical_size = inode->data.size();
      inode->mapped = false;
      MarkDurable(inode);
    }
  }
  locks_.clear();
  epoch_++;
  frozen_ = false;
  return report;
}

}  // namespace ebb
