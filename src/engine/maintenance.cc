#include "engine/maintenance.h"

#include "base/logging.h"

namespace ebb {

SimpleMaintenance::SimpleMaintenance(Storage* storage) : storage_(storage) {
  thread_ = std::thread([this] { Run(); });
}

SimpleMaintenance::~SimpleMaintenance() { Stop(); }

void SimpleMaintenance::Notify(DatabaseCore* db) {
  MutexLock lock(&mu_);
  if (stop_ || queued_.size() >= kMaxQueued || !queued_.insert(db->name()).second) return;
  queue_.push_back(db->name());
  cv_.Signal();
}

void SimpleMaintenance::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t SimpleMaintenance::flushes() const {
  MutexLock lock(&mu_);
  return flushes_;
}

uint64_t SimpleMaintenance::compactions() const {
  MutexLock lock(&mu_);
  return compactions_;
}

void SimpleMaintenance::Run() {
  while (true) {
    std::string name;
    {
      MutexLock lock(&mu_);
      while (!stop_ && queue_.empty()) cv_.Wait();
      if (stop_) return;
      name = queue_.front();
      queue_.pop_front();
      queued_.erase(name);
    }
    if (auto db = storage_->FindDatabase(name)) Service(db);
    ReclaimJournal();
  }
}

void SimpleMaintenance::Service(const std::shared_ptr<DatabaseCore>& db) {
  while (db->ImmutableCount() > 0) {
    auto flushed = db->FlushOldestImmutable();
    if (!flushed.ok()) return;  // logged once, and sticky, by the database
    if (*flushed == 0) break;
    MutexLock lock(&mu_);
    flushes_++;
  }
  if (db->SegmentCount() >= kCompactionTriggerSegments) {
    auto r = db->Compact(CompactionOptions());
    if (r.ok()) {
      MutexLock lock(&mu_);
      compactions_++;
    } else if (!r.status().IsBusy()) {
      EBB_LOG(kWarn, "compaction of database {} failed: {}", db->name(), r.status().ToString());
    }
  }
}

void SimpleMaintenance::ReclaimJournal() {
  auto reclaimed = storage_->ReclaimJournal();
  if (!reclaimed.ok()) EBB_LOG(kWarn, "journal reclaim: {}", reclaimed.status().ToString());
  if (storage_->journal()->TotalBytes() <= kJournalTriggerBytes) return;
  // Small memtables pin the oldest journal file: flush them.
  uint64_t oldest = storage_->OldestJournalFileNeeded();
  for (const auto& db : storage_->DatabasesPinning(oldest)) {
    if (db->SwitchMemtable()) Notify(db.get());
  }
}

}  // namespace ebb
