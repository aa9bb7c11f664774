// Settings of the smoosh compaction daemon: `[smoosh]` (global) and
// `[smoosh.<channel>]` (one per channel, matched by the "smoosh.*" pattern).
// Reference: docs/configuration.md (generated) and docs/smoosh.md.
//
// Thread safety: RegisterCompactionSettings runs once while the schema is
// built; ReadSmooshSettings only reads the (thread-safe) Config.

#ifndef EBB_COMPACTION_COMPACTION_SETTINGS_H_
#define EBB_COMPACTION_COMPACTION_SETTINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "compaction/priority.h"

namespace ebb {

// Bounds on what configuration can ask for.
inline constexpr size_t kMaxSmooshChannels = 64;
inline constexpr int64_t kMaxChannelConcurrency = 64;
inline constexpr int64_t kMaxChannelCapacity = 1'000'000;
inline constexpr int64_t kMaxStalenessCacheEntries = 10'000'000;

// The built-in database channels, in their default evaluation order.
inline constexpr const char* kDefaultDbChannels = "ratio_dbs,slack_dbs,segments_dbs";

void RegisterCompactionSettings(ConfigSchema* schema);

// Per-channel defaults of the built-in channels (slack_dbs ranks by slack,
// segments_dbs by segment count), installed below user values with
// Config::SetSectionDefault. The engine calls it once after creating Config.
void InstallCompactionChannelDefaults(Config* config);

struct ChannelSettings {
  std::string name;
  PriorityRule rule;
  size_t capacity = 9999;
  int64_t concurrency = 1;  // 0: the channel queues but never starts jobs
  TimeWindow window;
  bool strict_window = false;
};

struct SmooshSettings {
  // Channels in configured evaluation order (at most kMaxSmooshChannels;
  // duplicates dropped).
  std::vector<ChannelSettings> channels;
  // Channel names configured beyond kMaxSmooshChannels (ignored).
  std::vector<std::string> ignored_channels;
  int64_t staleness_micros = 5 * 60'000'000ll;
  size_t staleness_cache_entries = 250'000;
  int64_t wait_micros = 30'000'000;
  bool persist = true;
  std::string state_dir = "smoosh";
  int64_t checkpoint_micros = 180'000'000;
  int64_t retry_backoff_micros = 5'000'000;
  int64_t retry_limit = 5;
  uint64_t free_disk_margin_bytes = 64ull << 20;
  int64_t free_disk_recheck_micros = 60'000'000;
};

ChannelSettings ReadChannelSettings(const Config& config, std::string_view channel);
SmooshSettings ReadSmooshSettings(const Config& config);

// The directory of the persisted queues: smoosh.state_dir, relative to
// `data_dir` unless absolute.
std::string ResolveSmooshStateDir(const Config& config, std::string_view data_dir);

}  // namespace ebb

#endif  // EBB_COMPACTION_COMPACTION_SETTINGS_H_
