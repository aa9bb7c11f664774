#include "env/file_system.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "base/status_macros.h"

namespace ebb {

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return fmt::format("{}{}", dir, name);
  return fmt::format("{}/{}", dir, name);
}

std::string DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool IsMappedLogZeroTail(std::string_view data, size_t pos) {
  if (pos >= data.size() || data.size() % kMappedLogChunkBytes != 0) return false;
  return std::all_of(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end(), [](char c) { return c == 0; });
}

Status WriteStringToFile(FileSystem* fs, std::string_view data, const std::string& path, bool sync) {
  EBB_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
  EBB_RETURN_IF_ERROR(file->Append(data));
  if (sync) EBB_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

Status WriteFileAtomically(FileSystem* fs, std::string_view data, const std::string& path) {
  std::string tmp = path + ".tmp";
  Status s = WriteStringToFile(fs, data, tmp, /*sync=*/true);
  if (s.ok()) s = fs->RenameFile(tmp, path);
  if (s.ok()) s = fs->SyncDir(DirName(path));
  if (!s.ok() && fs->FileExists(tmp)) (void)fs->DeleteFile(tmp);
  return s;
}

Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, fs->NewSequentialFile(path));
  std::string out;
  constexpr size_t kChunk = 64 * 1024;
  std::unique_ptr<char[]> scratch(new char[kChunk]);
  while (true) {
    EBB_ASSIGN_OR_RETURN(std::string_view piece, file->Read(kChunk, scratch.get()));
    if (piece.empty()) break;
    out.append(piece.data(), piece.size());
  }
  return out;
}

Status CreateDirDurably(FileSystem* fs, const std::string& dir) {
  std::vector<std::string> created;
  for (std::string d = dir; !d.empty() && d != "/" && d != "." && !fs->FileExists(d); d = DirName(d)) {
    created.push_back(d);
  }
  EBB_RETURN_IF_ERROR(fs->CreateDir(dir));
  for (auto it = created.rbegin(); it != created.rend(); ++it) EBB_RETURN_IF_ERROR(fs->SyncDir(DirName(*it)));
  return Status::OK();
}

Status DeleteRecursively(FileSystem* fs, const std::string& dir) {
  if (!fs->FileExists(dir)) return Status::OK();
  auto children = fs->GetChildren(dir);
  if (!children.ok()) {
    // A plain file.
    return fs->DeleteFile(dir);
  }
  for (const auto& child : *children) {
    std::string path = JoinPath(dir, child);
    if (fs->GetChildren(path).ok()) {
      EBB_RETURN_IF_ERROR(DeleteRecursively(fs, path));
    } else {
      EBB_RETURN_IF_ERROR(fs->DeleteFile(path));
    }
  }
  return fs->DeleteDir(dir);
}

}  // namespace ebb
