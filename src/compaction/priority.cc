#include "compaction/priority.h"

#include <fmt/format.h>

#include <cmath>

#include "base/config.h"

namespace ebb {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int64_t kMicrosPerDay = kMicrosPerMinute * kMinutesPerDay;

}  // namespace

std::string_view PriorityKindName(PriorityKind kind) {
  switch (kind) {
    case PriorityKind::kRatio: return "ratio";
    case PriorityKind::kSlack: return "slack";
    case PriorityKind::kSegments: return "segments";
  }
  return "?";
}

Result<PriorityKind> ParsePriorityKind(std::string_view text) {
  if (text == "ratio") return PriorityKind::kRatio;
  if (text == "slack") return PriorityKind::kSlack;
  if (text == "segments") return PriorityKind::kSegments;
  return Status::InvalidArgument(
      fmt::format("'{}' is not a smoosh priority kind; use ratio, slack or segments", text));
}

double DefaultMinPriority(PriorityKind kind) {
  switch (kind) {
    case PriorityKind::kRatio: return kDefaultRatioMinPriority;
    case PriorityKind::kSlack: return kDefaultSlackMinPriority;
    case PriorityKind::kSegments: return kDefaultSegmentsMinPriority;
  }
  return kDefaultRatioMinPriority;
}

double ComputePriority(const PriorityRule& rule, const std::optional<CompactionInfo>& info) {
  // It is expected that a database is dropped while it waits in a queue.
  if (!info) return 0;
  uint64_t changes = info->update_seq >= info->compacted_seq ? info->update_seq - info->compacted_seq : 0;
  if (changes < rule.min_changes) return 0;
  if (info->disk_bytes <= rule.min_size_bytes) return 0;
  if (info->disk_bytes > rule.max_size_bytes) return 0;
  double priority = 0;
  switch (rule.kind) {
    case PriorityKind::kRatio:
      if (info->live_bytes == 0) return rule.min_priority;
      priority = static_cast<double>(info->disk_bytes) / static_cast<double>(info->live_bytes);
      break;
    case PriorityKind::kSlack:
      if (info->live_bytes == 0) return rule.min_priority;
      // Live data is an estimate between compactions and may exceed disk.
      priority = info->disk_bytes > info->live_bytes
                     ? static_cast<double>(info->disk_bytes - info->live_bytes)
                     : 0.0;
      break;
    case PriorityKind::kSegments:
      priority = static_cast<double>(info->segments);
      break;
  }
  if (priority <= rule.min_priority) return 0;
  if (priority > rule.max_priority) return 0;
  return priority;
}

double QuantizePriority(double priority) {
  if (std::isinf(priority)) return priority;
  // std::round rounds halves away from zero, like Erlang's round/1.
  if (priority >= 16) return std::round(priority);
  return std::round(priority * 16) / 16;
}

Result<TimeWindow> TimeWindow::Parse(std::string_view from, std::string_view to) {
  auto from_minute = ParseTimeOfDay(from);
  if (!from_minute.ok()) return from_minute.status().WithContext("window start (from)");
  auto to_minute = ParseTimeOfDay(to);
  if (!to_minute.ok()) return to_minute.status().WithContext("window end (to)");
  return TimeWindow{*from_minute, *to_minute};
}

bool TimeWindow::always_open() const {
  return from_minute % kMinutesPerDay == to_minute % kMinutesPerDay;
}

bool TimeWindow::Contains(int minute) const {
  if (always_open()) return true;
  if (from_minute < to_minute) return minute >= from_minute && minute < to_minute;
  return minute >= from_minute || minute < to_minute;
}

int MinuteOfDay(int64_t wall_micros) {
  int64_t in_day = wall_micros % kMicrosPerDay;
  if (in_day < 0) in_day += kMicrosPerDay;
  return static_cast<int>(in_day / kMicrosPerMinute);
}

bool TimeWindow::ContainsWall(int64_t wall_micros) const { return Contains(MinuteOfDay(wall_micros)); }

std::optional<int64_t> TimeWindow::NextBoundaryWall(int64_t wall_micros) const {
  if (always_open()) return std::nullopt;
  int64_t day_start = wall_micros - ((wall_micros % kMicrosPerDay) + kMicrosPerDay) % kMicrosPerDay;
  std::optional<int64_t> best;
  for (int minute : {from_minute % kMinutesPerDay, to_minute % kMinutesPerDay}) {
    int64_t at = day_start + minute * kMicrosPerMinute;
    if (at <= wall_micros) at += kMicrosPerDay;
    if (!best || at < *best) best = at;
  }
  return best;
}

std::string TimeWindow::ToString() const {
  return fmt::format("{:02}:{:02}-{:02}:{:02}", from_minute / 60, from_minute % 60, to_minute / 60,
                     to_minute % 60);
}

}  // namespace ebb
