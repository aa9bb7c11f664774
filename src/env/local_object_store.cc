#include "env/local_object_store.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

constexpr char kIncomingDir[] = ".incoming";
// Bytes copied per read by PutFile and hashed per read by Head.
constexpr size_t kCopyChunkBytes = 1 << 20;
// Directory depth List descends; keys deeper than this are not listed.
constexpr int kMaxListDepth = 32;
// The lock file of conditional writes, at the root (never listed).
constexpr char kCasLock[] = ".cas.lock";
// How long PutIf waits for another process's conditional write.
constexpr int kCasLockAttempts = 1000;  // about a second
constexpr int64_t kCasLockRetryMicros = 1000;

// The etag of contents: XXH3 chained over kCopyChunkBytes pieces, as Head
// computes it while streaming the file.
std::string ContentEtag(std::string_view data) {
  uint64_t hash = 0;
  for (size_t at = 0; at < data.size(); at += kCopyChunkBytes) hash = Hash64(data.substr(at, kCopyChunkBytes), hash);
  return fmt::format("{:016x}", hash);
}

}  // namespace

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(FileSystem* fs, std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::unique_ptr<LocalObjectStore> store(new LocalObjectStore(fs, root));
  std::string incoming = JoinPath(root, kIncomingDir);
  EBB_RETURN_IF_ERROR(fs->CreateDir(incoming).WithContext(store->Describe()));
  // Leftovers of writes interrupted by a crash; no reader ever sees them.
  // Another process may share the directory, so only old-enough names would
  // be safe in general; Ebb locks its data directory, and a second store on
  // the same root is a configuration error, so everything here is stale.
  auto children = fs->GetChildren(incoming);
  if (children.ok()) {
    for (const auto& name : *children) (void)fs->DeleteFile(JoinPath(incoming, name));
  }
  return store;
}

std::string LocalObjectStore::Describe() const { return "local:" + root_; }

std::string LocalObjectStore::NewIncomingPath() {
  static const uint64_t process_random = std::random_device{}();
  return JoinPath(JoinPath(root_, kIncomingDir),
                  fmt::format("{}-{:x}-{}", ::getpid(), process_random, next_tmp_.fetch_add(1)));
}

Status LocalObjectStore::Publish(const std::string& tmp, const std::string& key) {
  std::string path = PathOf(key);
  Status s = fs_->CreateDir(DirName(path));
  if (s.ok()) s = fs_->RenameFile(tmp, path);
  if (s.ok()) s = fs_->SyncDir(DirName(path));
  if (!s.ok()) {
    (void)fs_->DeleteFile(tmp);
    return s.WithContext(fmt::format("{}: put {}", Describe(), key));
  }
  return Status::OK();
}

Status LocalObjectStore::Put(const std::string& key, std::string_view data) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  std::string tmp = NewIncomingPath();
  Status s = WriteStringToFile(fs_, data, tmp, /*sync=*/true);
  if (!s.ok()) {
    (void)fs_->DeleteFile(tmp);
    return s.WithContext(fmt::format("{}: put {}", Describe(), key));
  }
  return Publish(tmp, key);
}

Status LocalObjectStore::PutFile(const std::string& key, FileSystem* src_fs, const std::string& src_path) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  std::string tmp = NewIncomingPath();
  auto copy = [&]() -> Status {
    EBB_ASSIGN_OR_RETURN(auto in, src_fs->NewSequentialFile(src_path));
    EBB_ASSIGN_OR_RETURN(auto out, fs_->NewWritableFile(tmp));
    std::unique_ptr<char[]> buf(new char[kCopyChunkBytes]);
    while (true) {
      EBB_ASSIGN_OR_RETURN(std::string_view piece, in->Read(kCopyChunkBytes, buf.get()));
      if (piece.empty()) break;
      EBB_RETURN_IF_ERROR(out->Append(piece));
    }
    EBB_RETURN_IF_ERROR(out->Sync());
    return out->Close();
  };
  Status s = copy();
  if (!s.ok()) {
    (void)fs_->DeleteFile(tmp);
    return s.WithContext(fmt::format("{}: put {} from {}", Describe(), key, src_path));
  }
  return Publish(tmp, key);
}

Result<std::string> LocalObjectStore::Get(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  auto data = ReadFileToString(fs_, PathOf(key));
  if (!data.ok()) return data.status().WithContext(fmt::format("{}: get {}", Describe(), key));
  return data;
}

Result<std::string> LocalObjectStore::GetWithEtag(const std::string& key, std::string* etag) {
  EBB_ASSIGN_OR_RETURN(std::string data, Get(key));
  *etag = ContentEtag(data);
  return data;
}

Status LocalObjectStore::PutIf(const std::string& key, std::string_view data, WriteCondition condition,
                               const std::string& etag) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  auto context = [&] { return fmt::format("{}: conditional put {}", Describe(), key); };
  std::lock_guard<std::mutex> guard(cas_mu_);
  std::unique_ptr<FileLock> lock;
  for (int attempt = 0;; attempt++) {
    auto locked = fs_->LockFile(JoinPath(root_, kCasLock));
    if (locked.ok()) {
      lock = std::move(locked).value();
      break;
    }
    if (!locked.status().IsLocked() || attempt + 1 >= kCasLockAttempts) return locked.status().WithContext(context());
    ::usleep(kCasLockRetryMicros);
  }
  std::string current_etag;
  auto current = GetWithEtag(key, &current_etag);
  if (!current.ok() && !current.status().IsNotFound()) return current.status().WithContext(context());
  if (condition == WriteCondition::kIfAbsent && current.ok()) {
    return Status::AlreadyExists(fmt::format("{}: put {} if absent: the object exists", Describe(), key));
  }
  if (condition == WriteCondition::kIfMatch && (!current.ok() || current_etag != etag)) {
    return Status::AlreadyExists(fmt::format("{}: put {} if its etag is {}: it was replaced or removed", Describe(),
                                             key, etag));
  }
  return Put(key, data);
}

Result<std::string> LocalObjectStore::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  auto context = [&] { return fmt::format("{}: get {} range [{}, +{})", Describe(), key, offset, length); };
  auto file = fs_->NewRandomAccessFile(PathOf(key));
  if (!file.ok()) return file.status().WithContext(context());
  uint64_t size = (*file)->Size();
  if (offset >= size && !(offset == 0 && size == 0)) {
    return Status::InvalidArgument(fmt::format("{}: offset is past the end of the {}-byte object", context(), size));
  }
  uint64_t n = std::min(length, size - offset);
  std::string out(static_cast<size_t>(n), '\0');
  auto piece = (*file)->Read(offset, static_cast<size_t>(n), out.data());
  if (!piece.ok()) return piece.status().WithContext(context());
  if (piece->size() != n) {
    return Status::Corruption(fmt::format("{}: short read, {} of {} bytes", context(), piece->size(), n));
  }
  if (piece->data() != out.data()) out.assign(piece->data(), piece->size());
  return out;
}

Result<ObjectInfo> LocalObjectStore::Head(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  auto context = [&] { return fmt::format("{}: head {}", Describe(), key); };
  auto file = fs_->NewSequentialFile(PathOf(key));
  if (!file.ok()) return file.status().WithContext(context());
  // XXH3 over the contents, chunk by chunk: the seeded chain makes the
  // etag depend on every byte and its position.
  uint64_t hash = 0;
  uint64_t size = 0;
  std::unique_ptr<char[]> buf(new char[kCopyChunkBytes]);
  while (true) {
    auto piece = (*file)->Read(kCopyChunkBytes, buf.get());
    if (!piece.ok()) return piece.status().WithContext(context());
    if (piece->empty()) break;
    hash = Hash64(*piece, hash);
    size += piece->size();
  }
  return ObjectInfo{.key = key, .size_bytes = size, .etag = fmt::format("{:016x}", hash)};
}

Status LocalObjectStore::ListDir(const std::string& dir, const std::string& rel, const std::string& prefix,
                                 std::vector<ObjectInfo>* out) {
  if (std::count(rel.begin(), rel.end(), '/') >= kMaxListDepth) return Status::OK();
  auto children = fs_->GetChildren(dir);
  if (!children.ok()) return children.status().IsNotFound() ? Status::OK() : children.status();
  for (const auto& name : *children) {
    if (rel.empty() && (name == kIncomingDir || name == kCasLock)) continue;
    std::string key = rel.empty() ? name : rel + "/" + name;
    std::string path = JoinPath(dir, name);
    // Prune subtrees that cannot hold a match.
    size_t common = std::min(key.size(), prefix.size());
    if (key.compare(0, common, prefix, 0, common) != 0) continue;
    if (fs_->GetChildren(path).ok()) {
      EBB_RETURN_IF_ERROR(ListDir(path, key, prefix, out));
      continue;
    }
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    auto size = fs_->GetFileSize(path);
    if (!size.ok()) {
      if (size.status().IsNotFound()) continue;  // deleted while listing
      return size.status();
    }
    out->push_back(ObjectInfo{.key = key, .size_bytes = *size, .etag = ""});
  }
  return Status::OK();
}

Result<std::vector<ObjectInfo>> LocalObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  Status s = ListDir(root_, "", prefix, &out);
  if (!s.ok()) return s.WithContext(fmt::format("{}: list '{}'", Describe(), prefix));
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalObjectStore::Delete(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Status s = fs_->DeleteFile(PathOf(key));
  if (s.IsNotFound()) return Status::OK();
  return s.WithContext(fmt::format("{}: delete {}", Describe(), key));
}

}  // namespace ebb
