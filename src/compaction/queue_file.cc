#include "compaction/queue_file.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>

#include "base/checksum.h"
#include "base/coding.h"

namespace ebb {
namespace {

constexpr size_t kHeaderBytes = 12;   // magic, version, count
constexpr size_t kTrailerBytes = 4;   // checksum

Status Corrupt(std::string_view file_name, size_t offset, std::string_view what) {
  return Status::Corruption(fmt::format("smoosh queue file {} at byte {}: {}", file_name, offset, what));
}

}  // namespace

Status ValidateQueuedName(std::string_view database) {
  if (database.empty()) {
    return Status::InvalidArgument("database name is empty; pass the name of an existing database");
  }
  if (database.size() > kMaxQueuedNameBytes) {
    return Status::InvalidArgument(fmt::format("database name of {} bytes is longer than the limit of {} bytes",
                                               database.size(), kMaxQueuedNameBytes));
  }
  for (size_t i = 0; i < database.size(); i++) {
    if (static_cast<unsigned char>(database[i]) < 0x20 || database[i] == 0x7f) {
      return Status::InvalidArgument(
          fmt::format("database name has a control character (0x{:02x}) at byte {}",
                      static_cast<unsigned char>(database[i]), i));
    }
  }
  return Status::OK();
}

std::string EncodeQueueFile(const std::vector<PersistedItem>& items) {
  std::string out;
  PutFixed32(&out, kQueueFileMagic);
  PutFixed32(&out, kQueueFileVersion);
  PutFixed32(&out, static_cast<uint32_t>(items.size()));
  for (const auto& item : items) {
    PutLengthPrefixed(&out, item.database);
    PutFixed64(&out, std::bit_cast<uint64_t>(item.priority));
    PutVarint64(&out, item.disk_bytes);
    PutVarint64(&out, item.live_bytes);
  }
  PutFixed32(&out, Checksum32(out));
  return out;
}

Result<std::vector<PersistedItem>> DecodeQueueFile(std::string_view data, std::string_view file_name) {
  if (data.size() > kMaxQueueFileBytes) {
    return Corrupt(file_name, 0, fmt::format("{} bytes is larger than any queue Ebb writes", data.size()));
  }
  if (data.size() < kHeaderBytes + kTrailerBytes) {
    return Corrupt(file_name, 0, fmt::format("truncated: {} bytes is shorter than the header", data.size()));
  }
  // Check the checksum before interpreting any byte.
  std::string_view body = data.substr(0, data.size() - kTrailerBytes);
  uint32_t stored = DecodeFixed32(data.data() + body.size());
  uint32_t actual = Checksum32(body);
  if (stored != actual) {
    return Corrupt(file_name, body.size(),
                   fmt::format("checksum mismatch (expected {:08x}, got {:08x})", stored, actual));
  }
  uint32_t magic = DecodeFixed32(body.data());
  if (magic != kQueueFileMagic) {
    return Corrupt(file_name, 0, fmt::format("bad magic {:08x} (expected {:08x})", magic, kQueueFileMagic));
  }
  uint32_t version = DecodeFixed32(body.data() + 4);
  if (version != kQueueFileVersion) {
    return Status::NotSupported(fmt::format(
        "smoosh queue file {} has version {}, this build reads version {}", file_name, version, kQueueFileVersion));
  }
  uint32_t count = DecodeFixed32(body.data() + 8);
  if (count > kMaxQueueFileItems) {
    return Corrupt(file_name, 8, fmt::format("item count {} exceeds the limit {}", count, kMaxQueueFileItems));
  }
  std::string_view in = body.substr(kHeaderBytes);
  std::vector<PersistedItem> items;
  items.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    size_t offset = body.size() - in.size();
    PersistedItem item;
    std::string_view name;
    uint64_t priority_bits = 0;
    if (!GetLengthPrefixed(&in, &name) || !GetFixed64(&in, &priority_bits) || !GetVarint64(&in, &item.disk_bytes) ||
        !GetVarint64(&in, &item.live_bytes)) {
      return Corrupt(file_name, offset, fmt::format("item {} of {} is truncated", i, count));
    }
    if (Status s = ValidateQueuedName(name); !s.ok()) {
      return Corrupt(file_name, offset, fmt::format("item {}: {}", i, s.message()));
    }
    item.database = std::string(name);
    item.priority = std::bit_cast<double>(priority_bits);
    if (std::isnan(item.priority) || item.priority < 0) {
      return Corrupt(file_name, offset, fmt::format("item {} has an invalid priority", i));
    }
    items.push_back(std::move(item));
  }
  if (!in.empty()) {
    return Corrupt(file_name, body.size() - in.size(), fmt::format("{} unexpected bytes after the items", in.size()));
  }
  return items;
}

}  // namespace ebb
