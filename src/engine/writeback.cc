#include "engine/writeback.h"

#include <algorithm>

namespace ebb {
namespace {

// Per writer thread: databases this thread has seen queued, and in which
// generation. Direct-mapped by address; a miss only costs the locked path.
struct QueuedMemo {
  const WritebackQueue* queue = nullptr;
  const DatabaseCore* db = nullptr;
  uint64_t generation = 0;
};
constexpr size_t kQueuedMemoSlots = 16;
thread_local QueuedMemo queued_memo[kQueuedMemoSlots];

size_t MemoSlot(const DatabaseCore* db) { return (reinterpret_cast<uintptr_t>(db) >> 6) % kQueuedMemoSlots; }

// Generations of different queues never meet: 2^40 Takes per queue.
std::atomic<uint64_t> next_generation_base{1};
constexpr uint64_t kGenerationsPerQueue = uint64_t{1} << 40;

}  // namespace

WritebackQueue::WritebackQueue()
    : generation_(next_generation_base.fetch_add(kGenerationsPerQueue, std::memory_order_relaxed)) {}

void WritebackQueue::AddLocked(DatabaseCore* db, uint64_t switch_order) {
  auto [it, inserted] = queued_.try_emplace(db);
  if (inserted || it->second.db.expired()) {
    it->second.db = db->weak_from_this();
    it->second.switch_order = 0;
  }
  if (switch_order != 0 && it->second.switch_order == 0) it->second.switch_order = switch_order;
}

void WritebackQueue::NoteWrites(DatabaseCore* db) {
  QueuedMemo& memo = queued_memo[MemoSlot(db)];
  if (memo.queue == this && memo.db == db && memo.generation == generation_.load(std::memory_order_acquire)) {
    return;  // queued since the last Take
  }
  MutexLock lock(&mu_);
  AddLocked(db, 0);
  // Read under mu_: a Take after this sees the database and bumps past it.
  memo = QueuedMemo{this, db, generation_.load(std::memory_order_relaxed)};
}

void WritebackQueue::NoteSwitched(DatabaseCore* db) {
  MutexLock lock(&mu_);
  AddLocked(db, next_switch_order_++);
}

std::vector<WritebackQueue::Candidate> WritebackQueue::Take(Storage* storage) {
  std::unordered_map<const DatabaseCore*, Entry> taken;
  std::vector<Carried> carried;
  {
    MutexLock lock(&mu_);
    taken.swap(queued_);
    carried.swap(carried_);
    // Every thread's memo now misses: the next write to any database queues
    // it again.
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  std::vector<Candidate> out;
  // Carried candidates keep their probe unless written since (then the
  // fresh probe below replaces it).
  for (auto& c : carried) {
    std::shared_ptr<DatabaseCore> db = c.db.lock();
    if (!db || taken.count(db.get()) > 0) continue;
    out.push_back(Candidate{std::move(db), c.immutables, c.memtable_bytes, c.switch_order});
  }
  out.reserve(out.size() + taken.size());
  for (auto& [ptr, entry] : taken) {
    std::shared_ptr<DatabaseCore> db = entry.db.lock();
    if (!db) continue;  // destroyed since it was queued
    // Dropped or closed since: a flush would fail and nothing needs it.
    if (storage->FindDatabase(db->name()) != db) continue;
    probes_.fetch_add(1, std::memory_order_relaxed);
    Candidate c;
    c.immutables = db->ImmutableCount();
    c.memtable_bytes = db->DirtyBytes();
    c.switch_order = entry.switch_order;
    if (c.immutables == 0 && c.memtable_bytes == 0) continue;  // flushed meanwhile
    c.db = std::move(db);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    // Waiting memtables first, in switch order (a database whose switch went
    // unnoticed sorts after the noticed ones); then the most bytes first.
    if ((a.immutables > 0) != (b.immutables > 0)) return a.immutables > 0;
    if (a.immutables > 0) {
      uint64_t ao = a.switch_order ? a.switch_order : UINT64_MAX;
      uint64_t bo = b.switch_order ? b.switch_order : UINT64_MAX;
      if (ao != bo) return ao < bo;
    }
    return a.memtable_bytes > b.memtable_bytes;
  });
  return out;
}

void WritebackQueue::Requeue(std::vector<Candidate> candidates) {
  MutexLock lock(&mu_);
  for (auto& c : candidates) {
    if (c.db) carried_.push_back(Carried{c.db, c.immutables, c.memtable_bytes, c.switch_order});
  }
}

void WritebackQueue::QueueAllDirty(Storage* storage) {
  full_scans_.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::shared_ptr<DatabaseCore>> dirty;
  for (const auto& db : storage->Databases()) {
    if (db->DirtyBytes() > 0) dirty.push_back(db);
  }
  MutexLock lock(&mu_);
  for (const auto& db : dirty) AddLocked(db.get(), 0);
}

// writeback: pending = key/value bytes in memtables. Work: flush immutable
// memtables, then the largest mutable ones, picking databases from the
// WritebackQueue (ordered by need) rather than walking the store.
WritebackSource::WritebackSource(Storage* storage) : storage_(storage) { queue_.QueueAllDirty(storage); }

Result<uint64_t> WritebackSource::DoWork(uint64_t budget_bytes) {
  std::vector<WritebackQueue::Candidate> order = queue_.Take(storage_);
  if (order.empty() && storage_->DirtyBytes() > 0) {
    // Memtable bytes the queue does not know of (recovered at open, or a
    // write that raced the last Take): look at every database once.
    queue_.QueueAllDirty(storage_);
    order = queue_.Take(storage_);
  }
  std::vector<WritebackQueue::Candidate> unfinished;
  Result<uint64_t> flushed = Flush(budget_bytes, &order, &unfinished);
  // What stays in memory is searched by every read until it is flushed:
  // give each complete immutable memtable its Bloom filter.
  for (const auto& c : unfinished) {
    if (c.immutables > 0) c.db->BuildImmutableFilters();
  }
  queue_.Requeue(std::move(unfinished));
  return flushed;
}

bool WritebackSource::StillOpen(const std::shared_ptr<DatabaseCore>& db) const {
  return storage_->FindDatabase(db->name()) == db;
}

Result<uint64_t> WritebackSource::Flush(uint64_t budget_bytes, std::vector<WritebackQueue::Candidate>* order,
                                        std::vector<WritebackQueue::Candidate>* unfinished) {
  uint64_t done = 0;
  Status last_error;
  // Immutable memtables first: they hold writers back.
  size_t first_mutable = 0;
  while (first_mutable < order->size() && (*order)[first_mutable].immutables > 0) first_mutable++;
  for (size_t i = 0; i < first_mutable; i++) {
    auto& c = (*order)[i];
    while (done < budget_bytes && c.db->ImmutableCount() > 0) {
      auto bytes = c.db->FlushOldestImmutable(/*wait_if_busy=*/true);
      if (!bytes.ok()) {
        last_error = bytes.status();
        if (!StillOpen(c.db)) c = {};  // dropped or closed: nothing to retry
        break;
      }
      done += *bytes;
      if (*bytes == 0) break;
    }
    if (!c.db) continue;
    c.immutables = c.db->ImmutableCount();
    if (c.immutables > 0) {
      unfinished->push_back(std::move(c));
      c = {};
    }
  }
  // Then whole memtables, the most bytes first (a database whose
  // immutables were just flushed comes after the others). Small ones are
  // flushed together at the end: one directory sync and one manifest edit
  // for all of them instead of three syncs each.
  std::vector<std::shared_ptr<DatabaseCore>> small;
  uint64_t small_bytes = 0;
  auto switch_and_flush = [&](WritebackQueue::Candidate& c) {
    if (!c.db) return;
    if (done + small_bytes >= budget_bytes && done + small_bytes > 0) {
      unfinished->push_back(std::move(c));
      return;
    }
    if (!c.db->error().ok()) return;  // read-only: nothing can flush it
    const uint64_t bytes_now = c.db->DirtyBytes();
    if (bytes_now <= kSmallFlushBytes) {
      small.push_back(c.db);
      small_bytes += bytes_now;
      return;
    }
    if (!c.db->SwitchMemtable()) return;
    auto bytes = c.db->FlushOldestImmutable(/*wait_if_busy=*/true);
    if (!bytes.ok()) {
      last_error = bytes.status();
      if (!StillOpen(c.db)) return;  // dropped or closed: nothing to retry
      c.immutables = c.db->ImmutableCount();
      unfinished->push_back(std::move(c));
      return;
    }
    done += *bytes;
  };
  for (size_t i = first_mutable; i < order->size(); i++) switch_and_flush((*order)[i]);
  for (size_t i = 0; i < first_mutable; i++) switch_and_flush((*order)[i]);
  if (!small.empty()) {
    auto bytes = storage_->FlushDatabases(small);
    if (bytes.ok()) {
      done += *bytes;
    } else {
      last_error = bytes.status();
      for (auto& db : small) {
        if (StillOpen(db) && db->DirtyBytes() > 0) unfinished->push_back({db, db->ImmutableCount(), db->DirtyBytes(), 0});
      }
    }
  }
  if (done == 0 && !last_error.ok()) return last_error;
  return done;
}

size_t WritebackQueue::size() const {
  MutexLock lock(&mu_);
  return queued_.size() + carried_.size();
}

}  // namespace ebb
