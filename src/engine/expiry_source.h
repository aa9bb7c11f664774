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
// every batch). It keeps, per database, when that
// estimate next grows, refreshed when the database's segments change
// (OnSegmentsChanged). Values still in memtables are not its concern: a
// flush writes an expired value as a tombstone.
//
// Pending bytes: the estimated bytes of due values in local segments. A pass
// compacts such databases, most due first, until the budget is spent; a
// database whose compaction is already running is left for the next pass.
//
// Thread-safe.

#ifndef EBB_ENGINE_EXPIRY_SOURCE_H_
#define EBB_ENGINE_EXPIRY_SOURCE_H_

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
  ExpirySource(Storage* storage, Clock* clock);

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

  // When the due estimate of some database next grows (Unix ms), if ever.
  std::optional<int64_t> NextDueMs();
  uint64_t compactions() const { return compactions_.load(std::memory_order_relaxed); }

 private:
  int64_t NowMs() const { return clock_->WallMicros() / 1000; }
  // Updates the entry of `name` from its summary; returns whether the next
  // due time of all moved earlier.
  bool UpdateLocked(const std::string& name, const DatabaseCore::ExpirySummary& summary) REQUIRES(mu_);
  int64_t NextDueLocked() const REQUIRES(mu_);

  Storage* const storage_;
  Clock* const clock_;
  Mutex mu_;
  // Databases with stored values that expire: when their due estimate next
  // grows (INT64_MAX: it cannot), and whether something is due now.
  struct Entry {
    int64_t next_due_ms = INT64_MAX;
    bool due = false;
  };
  std::map<std::string, Entry, std::less<>> dbs_ GUARDED_BY(mu_);
  std::atomic<uint64_t> compactions_{0};
};

}  // namespace ebb

#endif  // EBB_ENGINE_EXPIRY_SOURCE_H_
