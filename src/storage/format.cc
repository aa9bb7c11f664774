#include "storage/format.h"

#include <algorithm>

#include <fmt/format.h>

#include "env/file_system.h"

namespace ebb {

Status ValidateDatabaseName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("database name is empty");
  if (name.size() > kMaxDatabaseNameBytes) {
    return Status::InvalidArgument(
        fmt::format("database name is {} bytes; the limit is {}", name.size(), kMaxDatabaseNameBytes));
  }
  if (name[0] == '.') return Status::InvalidArgument(fmt::format("database name '{}' starts with '.'", name));
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok) {
      return Status::InvalidArgument(fmt::format(
          "database name '{}' has character 0x{:02x} at byte {}; use letters, digits, '_', '-' and '.'",
          name, static_cast<unsigned char>(c), i));
    }
  }
  return Status::OK();
}

std::string JournalDir(std::string_view data_dir) { return JoinPath(data_dir, "journal"); }
std::string SegmentDir(std::string_view data_dir) { return JoinPath(data_dir, "segments"); }

std::string JournalFileName(std::string_view data_dir, uint64_t number) {
  return JoinPath(JournalDir(data_dir), fmt::format("{:06}.log", number));
}

std::string SegmentFilterFileName(std::string_view data_dir, uint64_t number) {
  return JoinPath(SegmentDir(data_dir), fmt::format("{:06}.filter", number));
}

std::string SegmentFileName(std::string_view data_dir, uint64_t number) {
  return JoinPath(SegmentDir(data_dir), fmt::format("{:06}.seg", number));
}

std::string ManifestFileName(std::string_view data_dir, uint64_t number) {
  return JoinPath(data_dir, fmt::format("MANIFEST-{:06}", number));
}

std::string CurrentFileName(std::string_view data_dir) { return JoinPath(data_dir, "CURRENT"); }
std::string LockFileName(std::string_view data_dir) { return JoinPath(data_dir, "LOCK"); }
std::string LostFoundDir(std::string_view data_dir) { return JoinPath(data_dir, "lost+found"); }

bool ParseNumberedName(std::string_view name, std::string_view prefix, std::string_view suffix, uint64_t* number) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(name.size() - suffix.size()) != suffix) return false;
  std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = v;
  return true;
}

ExpiryProfile ExpiryProfile::Of(std::vector<int64_t>* deadlines) {
  ExpiryProfile p;
  p.count = deadlines->size();
  if (deadlines->empty()) return p;
  std::sort(deadlines->begin(), deadlines->end());
  const size_t last = deadlines->size() - 1;
  for (int j = 0; j < kExpiryPoints; j++) {
    p.points[j] = (*deadlines)[last * static_cast<size_t>(j) / (kExpiryPoints - 1)];
  }
  return p;
}

void ExpiryProfile::EncodeTo(std::string* dst) const {
  PutVarint64(dst, count);
  if (count == 0) return;
  for (int64_t point : points) PutFixed64(dst, static_cast<uint64_t>(point));
}

bool ExpiryProfile::DecodeFrom(std::string_view* in) {
  *this = ExpiryProfile();
  if (!GetVarint64(in, &count)) return false;
  if (count == 0) return true;
  for (int64_t& point : points) {
    uint64_t v = 0;
    if (!GetFixed64(in, &v)) return false;
    point = static_cast<int64_t>(v);
  }
  return std::is_sorted(points.begin(), points.end());
}

}  // namespace ebb
