// Smoosh's selection rules: how a channel computes a database's priority,
// how priorities are quantised, and time-of-day windows. Pure functions and
// values, so the tables of docs/smoosh.md are tested directly.
//
// The rules follow CouchDB's smoosh_server:get_priority/4 (its code, not its
// docs): a database is accepted by a channel when its priority is non-zero.
//
// Thread safety: everything here is a value or a pure function.

#ifndef EBB_COMPACTION_PRIORITY_H_
#define EBB_COMPACTION_PRIORITY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "compaction/compaction_target.h"
#include "ebb/status.h"

namespace ebb {

// How a channel ranks databases.
enum class PriorityKind {
  kRatio,     // disk_bytes / live_bytes: fraction of the file that is garbage
  kSlack,     // disk_bytes - live_bytes: absolute garbage in bytes
  kSegments,  // segment count: read amplification (Ebb's own; CouchDB's
              // b-tree files have none)
};

std::string_view PriorityKindName(PriorityKind kind);
// "ratio" | "slack" | "segments"; InvalidArgument otherwise.
Result<PriorityKind> ParsePriorityKind(std::string_view text);

// Defaults of min_priority when a channel does not set it, by kind, as
// CouchDB's code has them (its docs still say 5.0 and 16 MiB):
inline constexpr double kDefaultRatioMinPriority = 2.0;
inline constexpr double kDefaultSlackMinPriority = 536870912.0;  // 512 MiB
// A database is ranked by the segments kind once it has more than 8 segment
// files: see docs/smoosh.md ("segments_dbs") for why 8.
inline constexpr double kDefaultSegmentsMinPriority = 8.0;
double DefaultMinPriority(PriorityKind kind);

inline constexpr double kInfinitePriority = std::numeric_limits<double>::infinity();

// A channel's acceptance criteria (CouchDB's per-channel settings).
struct PriorityRule {
  PriorityKind kind = PriorityKind::kRatio;
  // The priority must be strictly greater than this.
  double min_priority = kDefaultRatioMinPriority;
  // ... and no greater than this.
  double max_priority = kInfinitePriority;
  // disk_bytes must be strictly greater than min_size_bytes ...
  uint64_t min_size_bytes = 1048576;
  // ... and no greater than max_size_bytes.
  uint64_t max_size_bytes = std::numeric_limits<uint64_t>::max();
  // update_seq - compacted_seq must be at least this.
  uint64_t min_changes = 0;
};

// The priority of a database for a channel with `rule`; 0 means the channel
// does not accept it. Exactly CouchDB's table:
//   missing database                        -> 0
//   update_seq - compacted_seq < min_changes -> 0
//   disk <= min_size or disk > max_size      -> 0
//   live == 0 (ratio, slack)                 -> min_priority (CouchDB quirk,
//                                               kept: an emptied database is
//                                               worth compacting)
//   p = ratio | slack | segments; p <= min_priority or p > max_priority -> 0
//   else                                     -> p
double ComputePriority(const PriorityRule& rule, const std::optional<CompactionInfo>& info);

// CouchDB's quantize/1: priorities >= 16 are rounded to integers, smaller ones
// to 1/16 steps, so tiny differences do not reorder the queue.
double QuantizePriority(double priority);

// A daily window of UTC time in which a channel may run jobs. Minutes since
// midnight; `to` may be 24:00. from < to: [from, to). from > to wraps past
// midnight: [from, 24:00) + [00:00, to). from == to (or 00:00-24:00): always.
struct TimeWindow {
  int from_minute = 0;
  int to_minute = 24 * 60;

  // Parses "HH:MM" pair; a malformed time is InvalidArgument naming it
  // (CouchDB silently treats it as "always").
  static Result<TimeWindow> Parse(std::string_view from, std::string_view to);

  bool always_open() const;
  bool Contains(int minute_of_day) const;
  bool ContainsWall(int64_t wall_micros) const;
  // The first wall time strictly after `wall_micros` at which the window
  // opens or closes; nullopt when it is always open.
  std::optional<int64_t> NextBoundaryWall(int64_t wall_micros) const;
  // "02:30-04:30".
  std::string ToString() const;
};

// Minute of the UTC day of a wall-clock time (micros since the epoch).
int MinuteOfDay(int64_t wall_micros);

}  // namespace ebb

#endif  // EBB_COMPACTION_PRIORITY_H_
