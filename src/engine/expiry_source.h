// ExpirySource: the `expiry` background work class (active expiry). A value
// past its expiry already reads as absent (reads check the time), so what is
// left is its space: the class compacts the databases whose local segments
// hold values that are due, and otherwise sleeps until the earliest deadline
// it knows, one deadline armed in the scheduler (WorkSource::NextWorkMicros)
// and no polling. Redis's active expiry samples keys ten times a second
// forever; this class makes no wakeup while nothing is due.
//
// What it knows comes from the segments' expiry profiles (how many values
// expire, and nine points of their deadlines: ExpiryProfile), so it never
// reads a key: a database is worth compacting once at least an eighth of a
// segment's values with an expiry are due, not at every single deadline (a
// store whose keys expire steadily rewrites about eight times its expiring
// bytes over their lifetime, a geometric series, not the whole database at
// every batch). A group of values due together that is under an eighth of
// its segment's is not seen by the eighths: it is reclaimed once its
// earliest deadline is max_pending_age_s old (the work age limit), times one
// more for every kStragglerBytesPerAge a full compaction of the database
// would rewrite, so a small database's stragglers wait about 30 s and a big
// one's wait for the next eighth — unless the store goes idle first: while
// writes come, a database of at most kSweepMaxBytes with stragglers due is
// held work (HoldsWorkForUpstreams), and when the writes stop its
// stragglers are reclaimed in the rush to idle with everything else
// (UpstreamsIdle), instead of costing a wakeup of their own later. It
// keeps, per database, when its estimate
// next grows, refreshed when the database's segments change
// (OnSegmentsChanged). Values still in memtables are not its concern: a
// flush writes an expired value as a tombstone.
//
// Pending bytes: the estimated bytes of due values in local segments. What
// is pending came due at the deadline the class armed, so it is a batch
// already (PendingCameDue): the scheduler runs it at once instead of
// deferring it like a trickle. A pass compacts such databases, most due
// first, until the budget is spent; a database whose compaction is already
// running is left for the next pass.
//
// Thread-safe.

#ifndef EBB_ENGINE_EXPIRY_SOURCE_H_
#define EBB_ENGINE_EXPIRY_SOURCE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "env/clock.h"
#include "runtime/work_source.h"
#include "storage/storage.h"

namespace ebb {

class ExpirySource final : public WorkSource {
 public:
  // A full compaction of this many bytes is worth one age limit's wait for
  // values due under an eighth of their segment's (see above).
  static constexpr uint64_t kStragglerBytesPerAge = 4ull << 20;
  // Eighths of a segment's deadlines that come due within this of each
  // other are one batch (ExpiryProfile::NextDueMs): keys written in a burst
  // with one TTL cost one compaction, not one per eighth.
  static constexpr int64_t kBatchWindowMs = 1000;
  // Databases up to this size have their due stragglers reclaimed in the
  // rush to idle (a full compaction of them costs about what a flush of a
  // memtable does).
  static constexpr uint64_t kSweepMaxBytes = 16ull << 20;

  ExpirySource(Storage* storage, Clock* clock);

  // work.max_pending_age_s, in ms (30 s until set). Returns whether it
  // changed (Refresh then, for the deadlines that depend on it).
  bool SetMaxPendingAgeMs(int64_t ms) {
    return max_pending_age_ms_.exchange(std::max<int64_t>(1, ms), std::memory_order_relaxed) != std::max<int64_t>(1, ms);
  }

  // Reads every database's summary (at start: recovered segments).
  void Refresh();
  // A flush or compaction changed `db`'s segments. Returns whether the
  // earliest deadline moved earlier (the scheduler must look again to arm
  // it).
  bool OnSegmentsChanged(DatabaseCore* db);
  void OnDatabaseDropped(std::string_view name);

  uint64_t PendingBytes() override;
  Result<uint64_t> DoWork(uint64_t budget_bytes) override;
  std::optional<int64_t> NextWorkMicros() override;
  bool PendingCameDue() override { return true; }
  bool FedByWrites() override { return false; }  // a flush's new deadlines come through OnSegmentsChanged
  bool HoldsWorkForUpstreams() override;
  void UpstreamsIdle() override { sweep_.store(true, std::memory_order_relaxed); }

  // When the due estimate of some database next grows (Unix ms), if ever.
  std::optional<int64_t> NextDueMs();
  uint64_t compactions() const { return compactions_.load(std::memory_order_relaxed); }

 private:
  int64_t NowMs() const { return clock_->WallMicros() / 1000; }
  // What a database's summary means at `now_ms`: the bytes due (0: nothing
  // worth a compaction yet) and when that next changes (INT64_MAX: never).
  // And from when stragglers are due that the rush to idle would sweep.
  struct Due {
    uint64_t bytes = 0;
    int64_t next_ms = INT64_MAX;
    int64_t sweep_from_ms = INT64_MAX;
  };
  // `sweep`: the rush to idle, which counts the stragglers of small
  // databases as soon as they are due.
  Due Assess(const DatabaseCore::ExpirySummary& summary, int64_t now_ms, bool sweep = false) const;
  // Updates the entry of `name`; returns whether the next due time of all
  // moved earlier.
  bool UpdateLocked(const std::string& name, const Due& due) REQUIRES(mu_);
  int64_t NextDueLocked() const REQUIRES(mu_);

  Storage* const storage_;
  Clock* const clock_;
  Mutex mu_;
  // Databases with stored values that expire: when their due estimate next
  // grows (INT64_MAX: it cannot), whether something is due now, and from
  // when the rush to idle would sweep stragglers.
  struct Entry {
    int64_t next_due_ms = INT64_MAX;
    bool due = false;
    int64_t sweep_from_ms = INT64_MAX;
    // Whether its segments are worth reading again at `now_ms`.
    bool Candidate(int64_t now_ms, bool sweep) const {
      return due || next_due_ms <= now_ms || (sweep && sweep_from_ms <= now_ms);
    }
  };
  std::map<std::string, Entry, std::less<>> dbs_ GUARDED_BY(mu_);
  std::atomic<uint64_t> compactions_{0};
  std::atomic<int64_t> max_pending_age_ms_{30'000};
  // Set by UpstreamsIdle; the next pass (or a gauge reading with nothing to
  // sweep) consumes it.
  std::atomic<bool> sweep_{false};
};

}  // namespace ebb

#endif  // EBB_ENGINE_EXPIRY_SOURCE_H_
