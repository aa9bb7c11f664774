// The writeback work class's source: WritebackQueue, which databases to
// flush in order of need, and WritebackSource, the class's gauge and work.
//
// WritebackQueue: which databases the writeback class should flush, in order
// of need, without walking every database of the store for each memtable.
// With many databases (a store is meant to hold tens of thousands) a walk
// per flush makes flushing them all quadratic; the queue holds only the
// databases written since writeback last looked at them.
//
//   call                   when                       effect
//   NoteWrites(db)         a batch of writes to db    db joins the queue. A
//                          completed (hot path)       database already queued
//                                                     since the last Take costs
//                                                     a thread-local lookup, no
//                                                     lock.
//   NoteSwitched(db)       a memtable of db became    db joins the queue and is
//                          immutable                  marked switched (in order)
//   Take(storage)          a writeback pass starts    empties the queue; returns
//                                                     its live databases ordered
//                                                     by need (below); only those
//                                                     written since they were
//                                                     last probed are probed
//   Requeue(candidates)    the pass ends              what the pass did not
//                                                     finish goes back, with its
//                                                     probe (not probed again
//                                                     unless written again)
//   QueueAllDirty(storage) open; the gauge shows      queues every database with
//                          work but nothing is        memtable bytes: a full
//                          queued                     walk, the exception
//
// Order by need: databases with immutable memtables first (they hold writers
// back at store.max_immutable_memtables), in the order their memtables
// switched; then the others by memtable bytes, largest first (the most
// bytes per flush).
//
// The queue is a hint: a database it misses (recovered with unflushed data,
// or a write racing a Take) is found by QueueAllDirty, which the writeback
// class runs whenever its gauge is above zero and the queue is empty, so
// nothing stays dirty for good. A database dropped or closed meanwhile is skipped (the
// queue holds weak references: it never keeps a database's files alive).
//
// Thread-safe. NoteWrites and NoteSwitched are called by writers (storage
// listener callbacks, no database lock held); the rest by the writeback
// class, one pass at a time.

#ifndef EBB_ENGINE_WRITEBACK_H_
#define EBB_ENGINE_WRITEBACK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "runtime/work_source.h"
#include "storage/storage.h"

namespace ebb {

class WritebackQueue {
 public:
  struct Candidate {
    std::shared_ptr<DatabaseCore> db;
    size_t immutables = 0;        // immutable memtables at the probe
    uint64_t memtable_bytes = 0;  // key and value bytes in its memtables at the probe
    uint64_t switch_order = 0;    // NoteSwitched order (0: none since the last Take)
  };

  WritebackQueue();
  WritebackQueue(const WritebackQueue&) = delete;
  WritebackQueue& operator=(const WritebackQueue&) = delete;

  void NoteWrites(DatabaseCore* db);
  void NoteSwitched(DatabaseCore* db);

  // Empties the queue and returns its databases that are still open in
  // `storage` and hold memtable bytes, ordered by need (see above).
  std::vector<Candidate> Take(Storage* storage);
  // Puts candidates a pass did not finish back, sizes and switch order kept.
  void Requeue(std::vector<Candidate> candidates);
  // Queues every database of `storage` that holds memtable bytes.
  void QueueAllDirty(Storage* storage);

  // Databases queued now.
  size_t size() const;
  // Databases probed by Take (their locks taken to read sizes) and full
  // walks by QueueAllDirty since construction: what passes cost, for tests.
  uint64_t probes() const { return probes_.load(std::memory_order_relaxed); }
  uint64_t full_scans() const { return full_scans_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::weak_ptr<DatabaseCore> db;
    uint64_t switch_order = 0;
  };
  // Adds db under mu_ (replacing a stale entry left at the same address by a
  // database that has since been destroyed).
  void AddLocked(DatabaseCore* db, uint64_t switch_order) REQUIRES(mu_);

  // Bumped by every Take: a thread's cached "already queued" for a database
  // is valid only for the generation it was made in. Each queue starts in a
  // range of its own, so a queue (and databases) allocated where an old one
  // was never matches that one's cached generations.
  std::atomic<uint64_t> generation_;
  std::atomic<uint64_t> probes_{0};
  std::atomic<uint64_t> full_scans_{0};

  mutable Mutex mu_;
  // Written (or switched) since the last Take: probed by the next.
  std::unordered_map<const DatabaseCore*, Entry> queued_ GUARDED_BY(mu_);
  // Probed by an earlier Take, not finished, not written since (weak, like
  // queued_: a database dropped between passes is not kept alive).
  struct Carried {
    std::weak_ptr<DatabaseCore> db;
    size_t immutables;
    uint64_t memtable_bytes;
    uint64_t switch_order;
  };
  std::vector<Carried> carried_ GUARDED_BY(mu_);
  uint64_t next_switch_order_ GUARDED_BY(mu_) = 1;
};

// The writeback class (see engine/background.h): pending = key and value
// bytes in memtables. A pass takes the queue, flushes immutable memtables
// first, then switches and flushes whole memtables, the most bytes first,
// until the budget is spent (at least one memtable when any can be flushed),
// gives the immutable memtables it leaves a Bloom filter, and puts back what
// it did not reach. The engine forwards its storage events to queue().
class WritebackSource final : public WorkSource {
 public:
  // A memtable this small is flushed together with the other small ones of
  // a pass (Storage::FlushDatabases: one directory sync and one manifest
  // edit for all), not on its own (three syncs each).
  static constexpr uint64_t kSmallFlushBytes = 256 << 10;

  // Queues the databases recovery left memtable bytes in.
  explicit WritebackSource(Storage* storage);
  uint64_t PendingBytes() override { return storage_->DirtyBytes(); }
  Result<uint64_t> DoWork(uint64_t budget_bytes) override;
  WritebackQueue* queue() { return &queue_; }

 private:
  // Flushes from `order` (Take's order) until the budget is spent; what it
  // does not finish goes to `unfinished`.
  Result<uint64_t> Flush(uint64_t budget_bytes, std::vector<WritebackQueue::Candidate>* order,
                         std::vector<WritebackQueue::Candidate>* unfinished);

  // False once the database was dropped or its store closed.
  bool StillOpen(const std::shared_ptr<DatabaseCore>& db) const;

  Storage* const storage_;
  WritebackQueue queue_;
};

}  // namespace ebb

#endif  // EBB_ENGINE_WRITEBACK_H_
