#include "engine/expiry_source.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/logging.h"

namespace ebb {

ExpirySource::ExpirySource(Storage* storage, Clock* clock) : storage_(storage), clock_(clock) {}

void ExpirySource::Refresh() {
  const int64_t now = NowMs();
  std::vector<std::pair<std::string, DatabaseCore::ExpirySummary>> summaries;
  for (const auto& db : storage_->Databases()) summaries.emplace_back(db->name(), db->Expiry(now));
  MutexLock lock(&mu_);
  dbs_.clear();
  for (const auto& [name, summary] : summaries) UpdateLocked(name, summary);
}

bool ExpirySource::OnSegmentsChanged(DatabaseCore* db) {
  DatabaseCore::ExpirySummary summary = db->Expiry(NowMs());
  MutexLock lock(&mu_);
  return UpdateLocked(db->name(), summary);
}

void ExpirySource::OnDatabaseDropped(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = dbs_.find(name);
  if (it != dbs_.end()) dbs_.erase(it);
}

bool ExpirySource::UpdateLocked(const std::string& name, const DatabaseCore::ExpirySummary& summary) {
  const int64_t before = NextDueLocked();
  if (summary.due_bytes == 0 && summary.next_due_ms == INT64_MAX) {
    dbs_.erase(name);
  } else {
    dbs_[name] = Entry{summary.next_due_ms, summary.due_bytes > 0};
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

uint64_t ExpirySource::PendingBytes() {
  const int64_t now = NowMs();
  // Databases with something due, or whose estimate has grown since it was
  // last read (a deadline passed): read their segments' profiles again.
  std::vector<std::string> candidates;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, e] : dbs_) {
      if (e.due || e.next_due_ms <= now) candidates.push_back(name);
    }
  }
  uint64_t bytes = 0;
  for (const auto& name : candidates) {
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) continue;  // dropped; forgotten by OnDatabaseDropped or the next pass
    const DatabaseCore::ExpirySummary summary = db->Expiry(now);
    {
      MutexLock lock(&mu_);
      UpdateLocked(name, summary);
    }
    bytes += summary.due_bytes;
  }
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
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, e] : dbs_) {
      if (e.due || e.next_due_ms <= now) names.push_back(name);
    }
  }
  std::vector<std::pair<uint64_t, std::shared_ptr<DatabaseCore>>> due;
  for (const auto& name : names) {
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) {
      OnDatabaseDropped(name);
      continue;
    }
    const uint64_t bytes = db->Expiry(now).due_bytes;
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
