// The persisted form of a smoosh channel's queue: `<state_dir>/<channel>.smooshq`.
// Format (docs/smoosh.md, "Persisted queue files"), all integers little-endian:
//
//   magic    fixed32  0x51534245 ("EBSQ")
//   version  fixed32  1
//   count    fixed32  number of items
//   count x item:
//     database  varint32 length + bytes
//     priority  fixed64  IEEE-754 double bits (+infinity: a job that was running)
//     disk      varint64 disk_bytes at the last evaluation
//     live      varint64 live_bytes at the last evaluation
//   checksum fixed32  Checksum32 (XXH3) of every byte before it
//
// Items are in start order: running jobs first (at +infinity, like CouchDB),
// then the queue from highest priority down.
//
// Thread safety: pure functions.

#ifndef EBB_COMPACTION_QUEUE_FILE_H_
#define EBB_COMPACTION_QUEUE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"

namespace ebb {

inline constexpr uint32_t kQueueFileMagic = 0x51534245;  // "EBSQ"
inline constexpr uint32_t kQueueFileVersion = 1;
inline constexpr const char* kQueueFileSuffix = ".smooshq";
// A queue holds at most capacity + concurrency items; anything beyond this is
// not a file Ebb wrote.
inline constexpr uint32_t kMaxQueueFileItems = 1'000'000;
inline constexpr uint64_t kMaxQueueFileBytes = 256ull << 20;
// Longest database name the daemon accepts (and persists).
inline constexpr size_t kMaxQueuedNameBytes = 1024;

struct PersistedItem {
  std::string database;
  double priority = 0;
  uint64_t disk_bytes = 0;
  uint64_t live_bytes = 0;
};

std::string EncodeQueueFile(const std::vector<PersistedItem>& items);

// Decodes a queue file's contents. Corruption names `file_name`, the byte
// offset and what was wrong; an unknown version is NotSupported.
Result<std::vector<PersistedItem>> DecodeQueueFile(std::string_view data, std::string_view file_name);

// OK if `database` is a name the daemon can queue: 1..kMaxQueuedNameBytes
// bytes, no control characters. Otherwise InvalidArgument saying why.
Status ValidateQueuedName(std::string_view database);

}  // namespace ebb

#endif  // EBB_COMPACTION_QUEUE_FILE_H_
