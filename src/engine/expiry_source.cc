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
  earliest_.clear();
  for (const auto& [name, summary] : summaries) UpdateLocked(name, summary);
}

bool ExpirySource::OnSegmentsChanged(DatabaseCore* db) {
  DatabaseCore::ExpirySummary summary = db->Expiry(NowMs());
  MutexLock lock(&mu_);
  return UpdateLocked(db->name(), summary);
}

void ExpirySource::OnDatabaseDropped(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = earliest_.find(name);
  if (it != earliest_.end()) earliest_.erase(it);
}

bool ExpirySource::UpdateLocked(const std::string& name, const DatabaseCore::ExpirySummary& summary) {
  const int64_t before = EarliestLocked();
  if (summary.earliest_ms == INT64_MAX) {
    earliest_.erase(name);
  } else {
    earliest_[name] = summary.earliest_ms;
  }
  return EarliestLocked() < before;
}

int64_t ExpirySource::EarliestLocked() const {
  int64_t best = INT64_MAX;
  for (const auto& [name, ms] : earliest_) best = std::min(best, ms);
  return best;
}

std::optional<int64_t> ExpirySource::EarliestMs() {
  MutexLock lock(&mu_);
  const int64_t best = EarliestLocked();
  if (best == INT64_MAX) return std::nullopt;
  return best;
}

uint64_t ExpirySource::PendingBytes() {
  const int64_t now = NowMs();
  std::vector<std::string> due;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, ms] : earliest_) {
      if (ms <= now) due.push_back(name);
    }
  }
  uint64_t bytes = 0;
  for (const auto& name : due) {
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) continue;  // dropped; forgotten at the next pass
    // At least one byte: the gauge must say there is work while a due
    // value remains, however small the estimate.
    bytes += std::max<uint64_t>(1, db->Expiry(now).due_bytes);
  }
  return bytes;
}

std::optional<int64_t> ExpirySource::NextWorkMicros() {
  std::optional<int64_t> earliest = EarliestMs();
  if (!earliest) return std::nullopt;
  // The deadline is wall-clock time; the scheduler waits on the monotonic
  // clock. Converted now: a wall clock moved later is seen at the next
  // evaluation (after any write or flush), as Redis sees it at its next tick.
  const int64_t wall_micros = clock_->WallMicros();
  const int64_t now_micros = clock_->NowMicros();
  const int64_t until = *earliest > INT64_MAX / 1000 ? INT64_MAX / 2 : *earliest * 1000;
  if (until <= wall_micros) return now_micros;
  return now_micros + std::min<int64_t>(until - wall_micros, INT64_MAX / 4);
}

Result<uint64_t> ExpirySource::DoWork(uint64_t budget_bytes) {
  const int64_t now = NowMs();
  std::vector<std::pair<int64_t, std::string>> due;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, ms] : earliest_) {
      if (ms <= now) due.emplace_back(ms, name);
    }
  }
  std::sort(due.begin(), due.end());  // the longest overdue first
  uint64_t done = 0;
  Status first_error;
  for (const auto& [ms, name] : due) {
    if (done >= budget_bytes) break;
    auto db = storage_->FindDatabase(name);
    if (db == nullptr) {
      OnDatabaseDropped(name);
      continue;
    }
    const uint64_t due_bytes = std::max<uint64_t>(1, db->Expiry(now).due_bytes);
    CompactionOptions options;
    options.full = true;
    auto result = db->Compact(options);
    if (!result.ok()) {
      // Busy: a compaction of this database is running (it drops the due
      // values too); the next pass looks again.
      if (!result.status().IsBusy() && first_error.ok()) {
        first_error = result.status().WithContext(fmt::format("active expiry of database {}", name));
      }
      continue;
    }
    compactions_.fetch_add(1, std::memory_order_relaxed);
    done += due_bytes;
    (void)OnSegmentsChanged(db.get());  // also done by the listener; here so the gauge is current
  }
  if (done == 0 && !first_error.ok()) return first_error;
  return done;
}

}  // namespace ebb
