#include "compaction/compaction_settings.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/logging.h"
#include "env/file_system.h"

namespace ebb {
namespace {

constexpr const char* kGlobal = "smoosh";
constexpr const char* kChannels = "smoosh.*";

std::string ChannelSection(std::string_view channel) { return fmt::format("smoosh.{}", channel); }

uint64_t BytesSetting(const Config& config, std::string_view section, std::string_view key) {
  int64_t v = config.GetInt(section, key);
  // "infinity" reads as INT64_MAX: no limit.
  if (v == std::numeric_limits<int64_t>::max()) return std::numeric_limits<uint64_t>::max();
  return v < 0 ? 0 : static_cast<uint64_t>(v);
}

}  // namespace

void RegisterCompactionSettings(ConfigSchema* schema) {
  // [smoosh]: the daemon.
  schema->Add({.section = kGlobal, .key = "db_channels", .type = SettingType::kList,
               .default_value = kDefaultDbChannels, .runtime = true,
               .description = "Channels a changed database is offered to, in this order; the first that accepts it "
                              "queues it. Ratio first (cheapest space per byte rewritten), slack next (large "
                              "databases), segments last (reclaims no space, only read amplification). A channel "
                              "left out is removed, built-in or not."});
  schema->Add({.section = kGlobal, .key = "staleness", .type = SettingType::kInt, .default_value = "5",
               .unit = "min", .runtime = true,
               .description = "How long a database's evaluation (accepted or rejected) is reused before a change "
                              "re-evaluates it; longer makes notifications cheaper, shorter reacts sooner.",
               .min = 0, .max = 24 * 60});
  schema->Add({.section = kGlobal, .key = "staleness_cache_entries", .type = SettingType::kInt,
               .default_value = "250000", .unit = "count", .runtime = true,
               .description = "Databases remembered by the staleness cache (oldest forgotten first); more keeps "
                              "notifications cheap with many databases at about 100 bytes each.",
               .min = 1, .max = static_cast<double>(kMaxStalenessCacheEntries)});
  schema->Add({.section = kGlobal, .key = "wait_secs", .type = SettingType::kInt, .default_value = "30", .unit = "s",
               .runtime = true,
               .description = "A new channel waits this long before starting jobs, to see several candidates and "
                              "start with the best; longer delays the first compaction after start. The wait ends "
                              "early when the work classes above compaction go idle, or when the work it holds "
                              "reaches work.compaction.band_high_bytes.",
               .min = 0, .max = 86400});
  schema->Add({.section = kGlobal, .key = "persist", .type = SettingType::kBool, .default_value = "true",
               .runtime = true,
               .description = "Save channel queues to state_dir and reload them on open, so a database queued "
                              "before a restart is compacted even if it is never written again; costs one small "
                              "file write per checkpoint_secs while queues change."});
  schema->Add({.section = kGlobal, .key = "state_dir", .type = SettingType::kString, .default_value = "smoosh",
               .runtime = false,
               .description = "Directory of the persisted queues (<channel>.smooshq), relative to the data "
                              "directory unless absolute."});
  schema->Add({.section = kGlobal, .key = "checkpoint_secs", .type = SettingType::kInt, .default_value = "180",
               .unit = "s", .runtime = true,
               .description = "Longest time a changed queue stays unsaved (only while something changed; queues "
                              "are always saved on close); shorter loses less on a crash, costs more writes.",
               .min = 1, .max = 86400});
  schema->Add({.section = kGlobal, .key = "retry_backoff_ms", .type = SettingType::kInt, .default_value = "5000",
               .unit = "ms", .runtime = true,
               .description = "Delay before a failed compaction is offered to the channels again; shorter retries "
                              "sooner, longer lets a transient cause (I/O error, full disk) clear.",
               .min = 0, .max = 3600 * 1000});
  schema->Add({.section = kGlobal, .key = "retry_limit", .type = SettingType::kInt, .default_value = "5",
               .unit = "count", .runtime = true,
               .description = "Consecutive failed compactions of one database before smoosh stops retrying it "
                              "(until it changes again or is enqueued by hand); bounds work spent on a database "
                              "that cannot be compacted.",
               .min = 0, .max = 1000});
  schema->Add({.section = kGlobal, .key = "free_disk_margin", .type = SettingType::kBytes, .default_value = "64MiB",
               .unit = "bytes", .runtime = true,
               .description = "Free disk a job must leave after writing its output (the database's live bytes); a "
                              "job that does not fit waits. Larger protects foreground writes, smaller lets "
                              "compaction run on fuller disks."});
  schema->Add({.section = kGlobal, .key = "free_disk_recheck_secs", .type = SettingType::kInt,
               .default_value = "60", .unit = "s", .runtime = true,
               .description = "While a job waits for free disk, how often smoosh checks again (a job finishing "
                              "also re-checks); shorter notices freed space sooner at the cost of wakeups.",
               .min = 1, .max = 86400});

  // [smoosh.<channel>]: one channel.
  schema->Add({.section = kChannels, .key = "priority", .type = SettingType::kEnum, .default_value = "ratio",
               .runtime = true,
               .description = "How the channel ranks databases: ratio = disk/live, slack = disk - live (bytes), "
                              "segments = segment files (read amplification).",
               .choices = {"ratio", "slack", "segments"}});
  schema->Add({.section = kChannels, .key = "capacity", .type = SettingType::kInt, .default_value = "9999",
               .unit = "count", .runtime = true,
               .description = "Databases the channel's queue holds; past it the lowest priority is dropped (until "
                              "its next change). Larger remembers more at about 100 bytes each.",
               .min = 1, .max = static_cast<double>(kMaxChannelCapacity)});
  schema->Add({.section = kChannels, .key = "concurrency", .type = SettingType::kInt, .default_value = "1",
               .unit = "count", .runtime = true,
               .description = "Jobs of this channel that may run at once; 0 disables the channel (it still "
                              "queues). More finishes sooner but competes with foreground I/O.",
               .min = 0, .max = static_cast<double>(kMaxChannelConcurrency)});
  schema->Add({.section = kChannels, .key = "min_priority", .type = SettingType::kDouble, .default_value = "",
               .runtime = true,
               .description = "A database is accepted only with a priority strictly above this. Default by kind: "
                              "ratio 2.0, slack 536870912 (512 MiB), segments 8. Lower compacts more often "
                              "(more write amplification).",
               .min = 0});
  schema->Add({.section = kChannels, .key = "max_priority", .type = SettingType::kDouble,
               .default_value = "infinity", .runtime = true,
               .description = "A database with a priority above this is left to later channels.", .min = 0});
  schema->Add({.section = kChannels, .key = "min_size", .type = SettingType::kBytes, .default_value = "1048576",
               .unit = "bytes", .runtime = true,
               .description = "A database must occupy more than this on disk to be accepted; small databases cost "
                              "more per job than they reclaim."});
  schema->Add({.section = kChannels, .key = "max_size", .type = SettingType::kBytes, .default_value = "infinity",
               .unit = "bytes", .runtime = true,
               .description = "A database larger than this on disk is left to later channels (e.g. a channel with a "
                              "night window for the biggest)."});
  schema->Add({.section = kChannels, .key = "min_changes", .type = SettingType::kInt, .default_value = "0",
               .unit = "count", .runtime = true,
               .description = "Writes since the last compaction required before a database is accepted; avoids "
                              "recompacting a database that barely changed.",
               .min = 0});
  schema->Add({.section = kChannels, .key = "from", .type = SettingType::kTimeOfDay, .default_value = "00:00",
               .runtime = true,
               .description = "Start of the daily UTC window in which the channel starts jobs (from == to: always; "
                              "from > to wraps past midnight)."});
  schema->Add({.section = kChannels, .key = "to", .type = SettingType::kTimeOfDay, .default_value = "24:00",
               .runtime = true, .description = "End of the daily UTC window (exclusive)."});
  schema->Add({.section = kChannels, .key = "strict_window", .type = SettingType::kBool, .default_value = "false",
               .runtime = true,
               .description = "Outside the window, suspend running jobs too (true) or only stop starting new ones "
                              "(false); strict keeps the window quiet, lenient finishes jobs sooner."});
}

void InstallCompactionChannelDefaults(Config* config) {
  // CouchDB hard-codes these by channel name; Ebb makes them defaults a user
  // value overrides.
  config->SetSectionDefault("smoosh.ratio_dbs", "priority", "ratio");
  config->SetSectionDefault("smoosh.slack_dbs", "priority", "slack");
  config->SetSectionDefault("smoosh.segments_dbs", "priority", "segments");
}

ChannelSettings ReadChannelSettings(const Config& config, std::string_view channel) {
  std::string section = ChannelSection(channel);
  ChannelSettings s;
  s.name = std::string(channel);
  auto kind = ParsePriorityKind(config.GetString(section, "priority"));
  s.rule.kind = kind.ok() ? *kind : PriorityKind::kRatio;
  auto min_text = config.Get(section, "min_priority");
  s.rule.min_priority = (min_text.ok() && !min_text->empty()) ? config.GetDouble(section, "min_priority")
                                                              : DefaultMinPriority(s.rule.kind);
  s.rule.max_priority = config.GetDouble(section, "max_priority");
  s.rule.min_size_bytes = BytesSetting(config, section, "min_size");
  s.rule.max_size_bytes = BytesSetting(config, section, "max_size");
  s.rule.min_changes = static_cast<uint64_t>(std::max<int64_t>(0, config.GetInt(section, "min_changes")));
  s.capacity = static_cast<size_t>(std::clamp<int64_t>(config.GetInt(section, "capacity"), 1, kMaxChannelCapacity));
  s.concurrency = std::clamp<int64_t>(config.GetInt(section, "concurrency"), 0, kMaxChannelConcurrency);
  auto window = TimeWindow::Parse(config.GetString(section, "from"), config.GetString(section, "to"));
  // Values were validated when set, so this only fails on a schema bug.
  EBB_CHECK_MSG(window.ok(), "smoosh.{}: {}", channel, window.status().ToString());
  s.window = *window;
  s.strict_window = config.GetBool(section, "strict_window");
  return s;
}

SmooshSettings ReadSmooshSettings(const Config& config) {
  SmooshSettings s;
  std::vector<std::string> names = config.GetList(kGlobal, "db_channels");
  for (const auto& name : names) {
    bool duplicate = std::any_of(s.channels.begin(), s.channels.end(),
                                 [&](const ChannelSettings& c) { return c.name == name; });
    if (duplicate) continue;
    if (s.channels.size() >= kMaxSmooshChannels) {
      s.ignored_channels.push_back(name);
      continue;
    }
    s.channels.push_back(ReadChannelSettings(config, name));
  }
  s.staleness_micros = config.GetInt(kGlobal, "staleness") * 60'000'000ll;
  s.staleness_cache_entries = static_cast<size_t>(config.GetInt(kGlobal, "staleness_cache_entries"));
  s.wait_micros = config.GetInt(kGlobal, "wait_secs") * 1'000'000ll;
  s.persist = config.GetBool(kGlobal, "persist");
  s.state_dir = config.GetString(kGlobal, "state_dir");
  s.checkpoint_micros = config.GetInt(kGlobal, "checkpoint_secs") * 1'000'000ll;
  s.retry_backoff_micros = config.GetInt(kGlobal, "retry_backoff_ms") * 1000ll;
  s.retry_limit = config.GetInt(kGlobal, "retry_limit");
  s.free_disk_margin_bytes = BytesSetting(config, kGlobal, "free_disk_margin");
  s.free_disk_recheck_micros = config.GetInt(kGlobal, "free_disk_recheck_secs") * 1'000'000ll;
  return s;
}

std::string ResolveSmooshStateDir(const Config& config, std::string_view data_dir) {
  std::string dir = config.GetString(kGlobal, "state_dir");
  if (dir.empty()) return std::string(data_dir);
  if (dir.front() == '/') return dir;
  return JoinPath(data_dir, dir);
}

}  // namespace ebb
