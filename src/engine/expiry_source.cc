#include "engine/expiry_source.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/logging.h"

namespace ebb {

ExpirySource::ExpirySource(Storage* storage, Clock* clock) : storage_(storage), clock_(clock) {}

ExpirySource::Due ExpirySource::Assess(const DatabaseCore::ExpirySummary& summary, int64_t now_ms, bool sweep) const {
  Due due{.bytes = summary.due_bytes, .next_ms = summary.next_due_ms};
  if (summary.first_deadline_ms != INT64_MAX) {
    // Values due under an eighth of their segment's: reclaimed once they
    // have waited an age limit per kStragglerBytesPerAge to rewrite.
    // Ages capped so the product cannot overflow (the age limit is at most
    // a day: 2^27 ms).
    const uint64_t ages = std::min<uint64_t>(1 + summary.local_bytes / kStragglerBytesPerAge, 1 << 20);
    const int64_t wait_ms = max_pending_age_ms_.load(std::memory_order_relaxed) * static_cast<int64_t>(ages);
    const int64_t at =
        summary.first_deadline_ms > INT64_MAX / 2 - wait_ms ? INT64_MAX : summary.first_deadline_ms + wait_ms;
    const bool sweepable = summary.local_bytes <= kSweepMaxBytes;
    if (at <= now_ms || (sweep && sweepable && summary.first_deadline_ms <= now_ms)) {
      due.bytes += summary.value_bytes;  // at least one value
    } else {
      due.next_ms = std::min(due.next_ms, at);
      if (sweepable) due.sweep_from_ms = summary.first_deadline_ms;
    }
  }
  return due;
}

void ExpirySource::Refresh() {
  const int64_t now = NowMs();
  std::vector<std::pair<std::string, Due>> dues;
  for (const auto& db : storage_->Databases()) dues.emplace_back(db->name(), Assess(db->Expiry(now, kBatchWindowMs), now));
  MutexLock lock(&mu_);
  dbs_.clear();
  for (const auto& [name, due] : dues) UpdateLocked(name, due);
}

bool ExpirySource::OnSegmentsChanged(DatabaseCore* db) {
  const int64_t now = NowMs();
  const Due due = Assess(db->Expiry(now, kBatchWindowMs), now);
  MutexLock lock(&mu_);
  return UpdateLocked(db->name(), due);
}

void ExpirySource::OnDatabaseDropped(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = dbs_.find(name);
  if (it != dbs_.end()) dbs_.erase(it);
}

bool ExpirySource::UpdateLocked(const std::string& name, const Due& due) {
  const int64_t before = NextDueLocked();
  if (due.bytes == 0 && due.next_ms == INT64_MAX) {
    dbs_.erase(name);
  } else {
    dbs_[name] = Entry{.next_due_ms = due.next_ms, .due = due.bytes > 0, .sweep_from_ms = due.sweep_from_ms};
  }
  return NextDueLocked() < before;
}

int64_t ExpirySource::NextDueLocked() const {
  int64_t best = INT64_MAX;
  for (const auto& [name, e] : dbs_) best = std::min(best, e.next_due_ms);
  return best;
}

std::optional<int64_t> ExpirySource::NextDueMs() {
  MutexLock lock(&mu_);
  const int64_t best = NextDueLocked();
  if (best == INT64_MAX) return std::nullopt;
  return best;
}

bool ExpirySource::HoldsWorkForUpstreams() {
  const int64_t now = NowMs();
  MutexLock lock(&mu_);
  for (const auto& [name, e] : dbs_) {
    if (e.sweep_from_ms <= now) return true;
  }
  return false;
}

uint64_t ExpirySource::PendingBytes() {
  const int64_t now = NowMs();
  const bool sweep = sweep_.load(std::memory_order_relaxed);
  // Databases with something due, or whose estimate has grown since it was
  // last read (a deadline passed): read their segments' profiles again.
  std::vector<std::string> candidates;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, e] : dbs_) {
      if (e.Candidate(now, sweep)) candidates.push_back(name);
    }
  }
  uint64_t bytes = 0;
  for (const auto& name : candidates) {
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) continue;  // dropped; forgotten by OnDatabaseDropped or the next pass
    const Due due = Assess(db->Expiry(now, kBatchWindowMs), now, sweep);
    {
      MutexLock lock(&mu_);
      UpdateLocked(name, due);
    }
    bytes += due.bytes;
  }
  if (bytes == 0) sweep_.store(false, std::memory_order_relaxed);  // nothing to sweep: the rush is over
  return bytes;
}

std::optional<int64_t> ExpirySource::NextWorkMicros() {
  std::optional<int64_t> next = NextDueMs();
  if (!next) return std::nullopt;
  // Due times are wall-clock; the scheduler waits on the monotonic clock.
  // Converted now: a wall clock moved later is seen at the next evaluation
  // (after any write or flush).
  const int64_t wall_micros = clock_->WallMicros();
  const int64_t now_micros = clock_->NowMicros();
  const int64_t until = *next > INT64_MAX / 1000 ? INT64_MAX / 2 : *next * 1000;
  if (until <= wall_micros) return now_micros;
  return now_micros + std::min<int64_t>(until - wall_micros, INT64_MAX / 4);
}

Result<uint64_t> ExpirySource::DoWork(uint64_t budget_bytes) {
  const int64_t now = NowMs();
  const bool sweep = sweep_.exchange(false, std::memory_order_relaxed);
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, e] : dbs_) {
      if (e.Candidate(now, sweep)) names.push_back(name);
    }
  }
  std::vector<std::pair<uint64_t, std::shared_ptr<DatabaseCore>>> due;
  for (const auto& name : names) {
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) {
      OnDatabaseDropped(name);
      continue;
    }
    const uint64_t bytes = Assess(db->Expiry(now, kBatchWindowMs), now, sweep).bytes;
    if (bytes > 0) due.emplace_back(bytes, std::move(db));
  }
  // The most to reclaim first.
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  uint64_t done = 0;
  Status first_error;
  for (const auto& [bytes, db] : due) {
    if (done >= budget_bytes) break;
    CompactionOptions options;
    options.full = true;
    auto result = db->Compact(options);
    if (!result.ok()) {
      // Busy: a compaction of this database is running (it drops the due
      // values too); the next pass looks again.
      if (!result.status().IsBusy() && first_error.ok()) {
        first_error = result.status().WithContext(fmt::format("active expiry of database {}", db->name()));
      }
      continue;
    }
    compactions_.fetch_add(1, std::memory_order_relaxed);
    done += bytes;
    (void)OnSegmentsChanged(db.get());  // also done by the listener; here so the gauge is current
  }
  if (done == 0 && !first_error.ok()) return first_error;
  return done;
}

}  // namespace ebb
