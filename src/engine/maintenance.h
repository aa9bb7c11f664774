// SimpleMaintenance: the engine foundation's background trigger, in one
// place so the work-class runtime can replace it wholesale. It flushes full
// memtables, compacts a database once it has kCompactionTriggerSegments
// segments, and when the journal grows past kJournalTriggerBytes flushes the
// databases pinning its oldest file and deletes what is no longer needed.
//
// One thread that sleeps (no timer) while nothing is queued.

#ifndef EBB_ENGINE_MAINTENANCE_H_
#define EBB_ENGINE_MAINTENANCE_H_

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "storage/storage.h"

namespace ebb {

class SimpleMaintenance {
 public:
  static constexpr size_t kCompactionTriggerSegments = 8;
  static constexpr uint64_t kJournalTriggerBytes = 512ull << 20;
  // Bounds the queue of databases waiting for attention.
  static constexpr size_t kMaxQueued = 100000;

  explicit SimpleMaintenance(Storage* storage);
  ~SimpleMaintenance();

  // Queues `db` for a flush/compaction check. Cheap; never blocks on I/O.
  void Notify(DatabaseCore* db);
  // Stops the thread after the current job.
  void Stop();

  uint64_t flushes() const;
  uint64_t compactions() const;

 private:
  void Run();
  void Service(const std::shared_ptr<DatabaseCore>& db);
  void ReclaimJournal();

  Storage* const storage_;
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  std::set<std::string> queued_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t flushes_ GUARDED_BY(mu_) = 0;
  uint64_t compactions_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace ebb

#endif  // EBB_ENGINE_MAINTENANCE_H_
