// Priority, quantisation and window tables ported from CouchDB's smoosh
// (smoosh_server get_priority tests, quantize_test, smoosh_utils
// t_allowed_window), plus Ebb's segments kind and settings defaults.

#include "compaction/priority.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/config.h"
#include "compaction/compaction_settings.h"

namespace ebb {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

PriorityRule Rule(PriorityKind kind) {
  PriorityRule rule;
  rule.kind = kind;
  rule.min_priority = DefaultMinPriority(kind);
  return rule;
}

CompactionInfo Sizes(uint64_t disk, uint64_t live, uint64_t segments = 1) {
  CompactionInfo info;
  info.disk_bytes = disk;
  info.live_bytes = live;
  info.segments = segments;
  return info;
}

const PriorityRule kRatio = Rule(PriorityKind::kRatio);
const PriorityRule kSlack = Rule(PriorityKind::kSlack);

TEST(PriorityTest, RatioOfFiveMiBOverHalfMiBIsTen) {
  // t_ratio_view: file 5242880, active 524288.
  EXPECT_DOUBLE_EQ(ComputePriority(kRatio, Sizes(5 * kMiB, 512 * kKiB)), 10.0);
  EXPECT_EQ(ComputePriority(kSlack, Sizes(5 * kMiB, 512 * kKiB)), 0);
}

TEST(PriorityTest, SlackOfOneGiBOverHalfGiBMinusOne) {
  // t_slack_view: file 1073741824, active 536870911.
  EXPECT_DOUBLE_EQ(ComputePriority(kSlack, Sizes(kGiB, 512 * kMiB - 1)), 536870913.0);
  EXPECT_DOUBLE_EQ(ComputePriority(kRatio, Sizes(kGiB, 512 * kMiB - 1)), 2.0000000037252903);
}

TEST(PriorityTest, NoLiveDataGivesMinPriority) {
  // t_no_data_view: CouchDB's quirk, kept: an emptied database qualifies.
  EXPECT_DOUBLE_EQ(ComputePriority(kRatio, Sizes(5 * kMiB, 0)), 2.0);
  EXPECT_DOUBLE_EQ(ComputePriority(kSlack, Sizes(5 * kMiB, 0)), 536870912.0);
}

TEST(PriorityTest, BelowMinPriorityOrMinSizeIsZero) {
  // t_below_min_priority_view: ratio 5.0 qualifies, slack 4 MiB does not.
  EXPECT_DOUBLE_EQ(ComputePriority(kRatio, Sizes(5 * kMiB, kMiB)), 5.0);
  EXPECT_EQ(ComputePriority(kSlack, Sizes(5 * kMiB, kMiB)), 0);
  // t_below_min_size_view: file == min_size (1 MiB) is not enough.
  EXPECT_EQ(ComputePriority(kRatio, Sizes(kMiB, 512000)), 0);
  EXPECT_EQ(ComputePriority(kSlack, Sizes(kMiB, 512000)), 0);
  // Strictly greater than min_priority: ratio exactly 2.0 is rejected.
  EXPECT_EQ(ComputePriority(kRatio, Sizes(4 * kMiB, 2 * kMiB)), 0);
}

TEST(PriorityTest, MissingDatabaseIsZero) {
  EXPECT_EQ(ComputePriority(kRatio, std::nullopt), 0);
  EXPECT_EQ(ComputePriority(kSlack, std::nullopt), 0);
  EXPECT_EQ(ComputePriority(Rule(PriorityKind::kSegments), std::nullopt), 0);
}

TEST(PriorityTest, MaxSizeMaxPriorityAndMinChanges) {
  PriorityRule rule = kRatio;
  rule.max_size_bytes = 4 * kMiB;
  EXPECT_EQ(ComputePriority(rule, Sizes(5 * kMiB, 512 * kKiB)), 0);
  rule = kRatio;
  rule.max_priority = 8;
  EXPECT_EQ(ComputePriority(rule, Sizes(5 * kMiB, 512 * kKiB)), 0);
  rule = kRatio;
  rule.min_changes = 100;
  CompactionInfo info = Sizes(5 * kMiB, 512 * kKiB);
  info.update_seq = 150;
  info.compacted_seq = 60;
  EXPECT_EQ(ComputePriority(rule, info), 0);
  info.update_seq = 160;
  EXPECT_DOUBLE_EQ(ComputePriority(rule, info), 10.0);
}

TEST(PriorityTest, SegmentsCountsReadAmplification) {
  PriorityRule rule = Rule(PriorityKind::kSegments);
  // No garbage at all, but 12 segment files to probe.
  EXPECT_DOUBLE_EQ(ComputePriority(rule, Sizes(64 * kMiB, 64 * kMiB, 12)), 12.0);
  EXPECT_EQ(ComputePriority(rule, Sizes(64 * kMiB, 64 * kMiB, 8)), 0);  // strictly above 8
  EXPECT_EQ(ComputePriority(rule, Sizes(kMiB, kMiB, 50)), 0);           // min_size still applies
  // The live == 0 quirk is about ratio and slack only.
  EXPECT_EQ(ComputePriority(rule, Sizes(64 * kMiB, 0, 3)), 0);
}

TEST(PriorityTest, QuantizeTable) {
  // CouchDB's quantize_test.
  EXPECT_EQ(QuantizePriority(0), 0);
  EXPECT_EQ(QuantizePriority(1), 1);
  EXPECT_EQ(QuantizePriority(16.0), 16);
  EXPECT_EQ(QuantizePriority(15.0), 15.0);
  EXPECT_EQ(QuantizePriority(0.01), 0.0);
  EXPECT_EQ(QuantizePriority(0.1), 0.125);
  EXPECT_EQ(QuantizePriority(0.1042), 0.125);
  EXPECT_EQ(QuantizePriority(0.125111111111), 0.125);
  EXPECT_EQ(QuantizePriority(10.0002), 10.0);
  // Integers (slack bytes, segment counts) are unchanged; >= 16 rounds.
  EXPECT_EQ(QuantizePriority(536870913.0), 536870913.0);
  EXPECT_EQ(QuantizePriority(16.4), 16);
  EXPECT_TRUE(std::isinf(QuantizePriority(kInfinitePriority)));
}

// Wall time at 2000-10-10 (any day) hh:mm:42 UTC, as CouchDB's meck_time.
int64_t WallAt(int hours, int minutes) {
  constexpr int64_t kDay = 971136000;  // 2000-10-10 00:00:00 UTC, seconds
  return (kDay + hours * 3600 + minutes * 60 + 42) * 1'000'000;
}

bool Inside(std::string_view from, std::string_view to, int hours, int minutes) {
  auto window = TimeWindow::Parse(from, to);
  EXPECT_TRUE(window.ok()) << window.status().ToString();
  return window.ok() && window->ContainsWall(WallAt(hours, minutes));
}

TEST(WindowTest, AllowedWindowTable) {
  // smoosh_utils t_allowed_window at 03:30 UTC.
  EXPECT_TRUE(Inside("00:00", "24:00", 3, 30));
  EXPECT_TRUE(Inside("02:30", "04:30", 3, 30));
  EXPECT_FALSE(Inside("3:35", "3:50", 3, 30));
  EXPECT_FALSE(Inside("1:20", "3:29", 3, 30));
  EXPECT_TRUE(Inside("23:30", "3:52", 3, 30));
  EXPECT_FALSE(Inside("23:30", "3:29", 3, 30));
  // from == to: always.
  EXPECT_TRUE(Inside("05:00", "05:00", 3, 30));
  EXPECT_TRUE(Inside("05:00", "05:00", 5, 0));
  // Start inclusive, end exclusive.
  EXPECT_TRUE(Inside("03:30", "04:00", 3, 30));
  EXPECT_FALSE(Inside("03:00", "03:30", 3, 30));
}

TEST(WindowTest, MalformedIsRejectedWithAClearError) {
  for (auto [from, to] : {std::pair{"X:Y", "9.5:Z"}, std::pair{"midnight", "04:00"}, std::pair{"02:00", "25:00"},
                          std::pair{"02:00", "infinity"}}) {
    auto window = TimeWindow::Parse(from, to);
    ASSERT_FALSE(window.ok()) << from << "-" << to;
    EXPECT_TRUE(window.status().IsInvalidArgument());
    EXPECT_NE(window.status().message().find("HH:MM"), std::string::npos) << window.status().ToString();
    EXPECT_NE(window.status().message().find("window"), std::string::npos) << window.status().ToString();
  }
  // Through configuration, the value is refused and the old one kept.
  auto schema = std::make_shared<ConfigSchema>();
  RegisterCompactionSettings(schema.get());
  Config config(schema);
  Status s = config.Set("smoosh.ratio_dbs", "from", "midnight", /*at_runtime=*/true);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("smoosh.ratio_dbs.from"), std::string::npos) << s.ToString();
  EXPECT_EQ(config.GetString("smoosh.ratio_dbs", "from"), "00:00");
}

TEST(WindowTest, NextBoundary) {
  auto window = *TimeWindow::Parse("02:30", "04:30");
  EXPECT_EQ(*window.NextBoundaryWall(WallAt(1, 0) - 42'000'000), WallAt(2, 30) - 42'000'000);
  EXPECT_EQ(*window.NextBoundaryWall(WallAt(3, 0) - 42'000'000), WallAt(4, 30) - 42'000'000);
  // After the close, the next opening is tomorrow.
  EXPECT_EQ(*window.NextBoundaryWall(WallAt(5, 0) - 42'000'000), WallAt(2, 30) - 42'000'000 + 86'400'000'000);
  // Exactly at a boundary, the next one is the other.
  EXPECT_EQ(*window.NextBoundaryWall(WallAt(2, 30) - 42'000'000), WallAt(4, 30) - 42'000'000);
  EXPECT_FALSE(TimeWindow{}.NextBoundaryWall(WallAt(1, 0)).has_value());
  EXPECT_FALSE((*TimeWindow::Parse("07:00", "07:00")).NextBoundaryWall(WallAt(1, 0)).has_value());
  EXPECT_EQ(window.ToString(), "02:30-04:30");
}

TEST(CompactionSettingsTest, DefaultsAreCouchDBCodeDefaults) {
  auto schema = std::make_shared<ConfigSchema>();
  RegisterCompactionSettings(schema.get());
  Config config(schema);
  InstallCompactionChannelDefaults(&config);
  SmooshSettings s = ReadSmooshSettings(config);
  ASSERT_EQ(s.channels.size(), 3u);
  EXPECT_EQ(s.channels[0].name, "ratio_dbs");
  EXPECT_EQ(s.channels[1].name, "slack_dbs");
  EXPECT_EQ(s.channels[2].name, "segments_dbs");
  EXPECT_EQ(s.channels[0].rule.kind, PriorityKind::kRatio);
  EXPECT_EQ(s.channels[1].rule.kind, PriorityKind::kSlack);
  EXPECT_EQ(s.channels[2].rule.kind, PriorityKind::kSegments);
  EXPECT_DOUBLE_EQ(s.channels[0].rule.min_priority, 2.0);
  EXPECT_DOUBLE_EQ(s.channels[1].rule.min_priority, 536870912.0);
  EXPECT_DOUBLE_EQ(s.channels[2].rule.min_priority, 8.0);
  for (const auto& c : s.channels) {
    EXPECT_EQ(c.capacity, 9999u);
    EXPECT_EQ(c.concurrency, 1);
    EXPECT_EQ(c.rule.min_size_bytes, 1048576u);
    EXPECT_EQ(c.rule.max_size_bytes, std::numeric_limits<uint64_t>::max());
    EXPECT_TRUE(std::isinf(c.rule.max_priority));
    EXPECT_EQ(c.rule.min_changes, 0u);
    EXPECT_TRUE(c.window.always_open());
    EXPECT_FALSE(c.strict_window);
  }
  EXPECT_EQ(s.staleness_micros, 5 * 60'000'000ll);
  EXPECT_EQ(s.wait_micros, 30'000'000);
  EXPECT_TRUE(s.persist);
  EXPECT_EQ(s.retry_backoff_micros, 5'000'000);
  // A user channel ranking by slack gets slack's default threshold.
  ASSERT_TRUE(config.Set("smoosh", "db_channels", "big_dbs", true).ok());
  ASSERT_TRUE(config.Set("smoosh.big_dbs", "priority", "slack", true).ok());
  s = ReadSmooshSettings(config);
  ASSERT_EQ(s.channels.size(), 1u);
  EXPECT_DOUBLE_EQ(s.channels[0].rule.min_priority, 536870912.0);
  // A user value overrides a built-in channel's default kind.
  ASSERT_TRUE(config.Set("smoosh.slack_dbs", "priority", "ratio", true).ok());
  EXPECT_EQ(ReadChannelSettings(config, "slack_dbs").rule.kind, PriorityKind::kRatio);
  EXPECT_EQ(ResolveSmooshStateDir(config, "/data"), "/data/smoosh");
}

}  // namespace
}  // namespace ebb
