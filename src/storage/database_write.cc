#include "storage/database_core.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "storage/bloom.h"
#include "storage/journal.h"
#include "storage/merging_iterator.h"
#include "storage/store_errors.h"

namespace ebb {

// The write path (DatabaseCore::Write): submit under the database lock,
// apply and commit without it, and the ordered completion step. See
// database_core.h for the protocol.

// One write batch in flight. Lives on the writer's stack until its Write()
// returns; the writer returns only after the item is completed.
class DatabaseCore::WriteItem final : public CompletionItem, public JournalCommitListener {
 public:
  enum Part { kCommit = 0, kApply = 1 };

  // `owner_completes`: the db_lock baseline, where the writer completes its
  // own item under the database lock it holds, so the journal leader must
  // not request completion (it would wait for that lock).
  WriteItem(DatabaseCore* db, bool owner_completes) : CompletionItem(2), db_(db), owner_completes_(owner_completes) {}

  void OnJournalCommitted(JournalRequest* request, const Status& status) override {
    acknowledged_by_commit_ = CompletePart(kCommit, status) && !owner_completes_;
  }
  // Once the whole group is committed, so one completion pass drains it.
  void AfterGroupCommitted(JournalRequest* request) override {
    if (acknowledged_by_commit_) db_->RequestCompletion();
  }

  JournalRequest request;
  SequenceNumber first_seq = 0;
  SequenceNumber last_seq = 0;
  uint64_t bytes = 0;

 private:
  DatabaseCore* const db_;
  const bool owner_completes_;
  bool acknowledged_by_commit_ = false;  // touched only by the group's leader
};

Status DatabaseCore::ValidateBatch(const WriteBatch& batch) const {
  if (batch.PayloadBytes() > kHardMaxBatchBytes) {
    return Status::InvalidArgument(fmt::format("write batch of {} bytes exceeds the {} byte limit of one batch; split it",
                                               batch.PayloadBytes(), kHardMaxBatchBytes));
  }
  const StorageOptions& opts = ctx_->options;
  if (batch.MaxKeyBytes() > opts.max_key_bytes) {
    return Status::InvalidArgument(
        fmt::format("key of {} bytes exceeds store.max_key_bytes ({})", batch.MaxKeyBytes(), opts.max_key_bytes));
  }
  if (batch.MaxValueBytes() > opts.max_value_bytes) {
    return Status::InvalidArgument(fmt::format("value of {} bytes exceeds store.max_value_bytes ({})",
                                               batch.MaxValueBytes(), opts.max_value_bytes));
  }
  return Status::OK();
}

Status DatabaseCore::MakeRoomForWrite(bool no_slowdown) {
  EBB_RETURN_IF_ERROR(ctx_->errors->CheckWritable());
  while (true) {
    if (!closed_.ok()) return closed_;
    if (has_error_.load(std::memory_order_acquire)) {
      return Status::ReadOnly(fmt::format("database {} is read-only after an earlier failure ({}); reopen the store",
                                          name_, error().ToString()));
    }
    if (mem_ == nullptr || mem_->payload_bytes() < ctx_->options.memtable_bytes) return Status::OK();
    if (static_cast<int>(imms_.size()) >= ctx_->options.max_immutable_memtables) {
      // Memory bound: wait for a flush. The background runtime throttles
      // writers long before this point; reaching it means flushes cannot keep up.
      if (no_slowdown) {
        return Status::Busy(fmt::format("database {} waits for a flush to make room ({} immutable memtables)", name_,
                                        imms_.size()));
      }
      if (ctx_->listener) {
        MutexUnlock unlock(&mu_);
        ctx_->listener->OnMemtableSwitched(this);
      }
      if (!closed_.ok() || has_error_.load()) continue;
      if (static_cast<int>(imms_.size()) >= ctx_->options.max_immutable_memtables &&
          mem_->payload_bytes() >= ctx_->options.memtable_bytes) {
        cv_.Wait();
      }
      continue;
    }
    SwitchMemtableLocked();
    return Status::OK();
  }
}

void DatabaseCore::SwitchMemtableLocked() {
  if (mem_ == nullptr || mem_->empty()) return;
  imms_.insert(imms_.begin(), {mem_, last_seq_});
  mem_ = NewMemTable(ctx_->journal->CurrentFileNumber());
  InstallViewLocked();
}

bool DatabaseCore::SwitchMemtable() {
  bool switched;
  {
    MutexLock lock(&mu_);
    size_t before = imms_.size();
    SwitchMemtableLocked();
    switched = imms_.size() > before;
  }
  return switched;
}

std::shared_ptr<MemTable> DatabaseCore::NewMemTable(uint64_t journal_file) const {
  // 1/64 of the memtable budget (128 KiB of 8 MiB: about 16 bits per key
  // at 130-byte entries), made once the table holds four times that.
  const uint64_t filter_bytes = std::clamp<uint64_t>(ctx_->options.memtable_bytes / 64, 4 << 10, 4 << 20);
  return std::make_shared<MemTable>(journal_file, static_cast<size_t>(filter_bytes));
}

void DatabaseCore::ApplyToMemtable(MemTable* mem, SequenceNumber first_seq, const WriteBatch& batch) {
  uint64_t bytes = mem->AddBatch(first_seq, batch);
  if (ctx_->dirty_bytes) ctx_->dirty_bytes->fetch_add(bytes, std::memory_order_relaxed);
}

Status DatabaseCore::Write(const WriteOptions& options, const WriteBatch& batch) {
  if (batch.Empty()) return Status::OK();
  EBB_RETURN_IF_ERROR(ValidateBatch(batch));
  return ctx_->options.completion == WriteCompletion::kDbLock ? WriteDbLock(options, batch)
                                                              : WriteOpLock(options, batch);
}

Status DatabaseCore::SubmitLocked(const WriteOptions& options, const WriteBatch& batch, WriteItem* item,
                                  std::shared_ptr<MemTable>* mem, bool* switched) {
  mu_.AssertHeld();
  if (options.no_slowdown && (options.sync || ctx_->journal->sync_mode() == SyncMode::kAlways)) {
    return Status::Busy(fmt::format("database {}: the write would wait for the journal's sync", name_));
  }
  const size_t imms_before = imms_.size();
  EBB_RETURN_IF_ERROR(MakeRoomForWrite(options.no_slowdown));
  if (mem_ == nullptr) {
    // Created before the record is queued, so the memtable's oldest journal
    // file is never newer than the file the record lands in.
    mem_ = NewMemTable(ctx_->journal->CurrentFileNumber());
    InstallViewLocked();
  }
  item->first_seq = last_seq_ + 1;
  item->last_seq = last_seq_ + batch.Count();
  item->bytes = batch.PayloadBytes();
  item->request.db_id = id_;
  item->request.first_seq = item->first_seq;
  item->request.batch_rep = batch.rep();
  item->request.sync = options.sync;
  item->request.caller_syncs = options.caller_syncs;
  item->request.listener = item;
  EBB_RETURN_IF_ERROR(ctx_->journal->Submit(&item->request));
  *switched = imms_.size() > imms_before;
  last_seq_ = item->last_seq;
  *mem = mem_;
  inflight_.Push(item);
  return Status::OK();
}

Status DatabaseCore::WriteOpLock(const WriteOptions& options, const WriteBatch& batch) {
  WriteItem item(this, /*owner_completes=*/false);
  std::shared_ptr<MemTable> mem;
  bool switched = false;
  // Submit: the database lock only assigns sequence numbers, queues the item
  // and hands the record to the journal.
  LockCounted();
  Status s = SubmitLocked(options, batch, &item, &mem, &switched);
  mu_.Unlock();
  if (!s.ok()) return s;
  if (switched && ctx_->listener) ctx_->listener->OnMemtableSwitched(this);

  // Apply: into the memtable, concurrently with other writers and with the
  // journal write of this very batch.
  ApplyToMemtable(mem.get(), item.first_seq, batch);
  // A cancelled item (a drop) is completed once applied, whatever its commit.
  if (item.CompletePart(WriteItem::kApply, Status::OK()) || inflight_.cancelled()) RequestCompletion();

  // Commit: lead or follow the journal's group commit. Whoever completes
  // the item's last part requests the ordered completion step.
  (void)ctx_->journal->AwaitCommit(&item.request);
  // Waiting, this writer may be handed the draining duty of a writer that
  // has done its share (see OrderedCompletionQueue).
  return item.WaitCompleted([this] { inflight_.ContinueDrain([this](bool h) { return DrainPass(h); }); });
}

Status DatabaseCore::WriteDbLock(const WriteOptions& options, const WriteBatch& batch) {
  // The classic design, for comparison: the database lock is held from
  // submit to completion, so writers of one database run one at a time.
  WriteItem item(this, /*owner_completes=*/true);
  std::shared_ptr<MemTable> mem;
  bool switched = false;
  LockCounted();
  Status s = SubmitLocked(options, batch, &item, &mem, &switched);
  if (!s.ok()) {
    mu_.Unlock();
    return s;
  }
  ApplyToMemtable(mem.get(), item.first_seq, batch);
  (void)item.CompletePart(WriteItem::kApply, Status::OK());
  (void)ctx_->journal->AwaitCommit(&item.request);
  uint64_t writes = 0, bytes = 0;
  std::vector<Completed> done;
  DrainCompletions(&done, &writes, &bytes);
  mu_.Unlock();
  WakeCompleted(&done);
  WakeCompletionWaiters();
  if (ctx_->listener) {
    if (switched) ctx_->listener->OnMemtableSwitched(this);
    if (writes) ctx_->listener->OnWritesCompleted(this, writes, bytes);
  }
  return item.WaitCompleted();
}

void DatabaseCore::LockCounted() {
  lock_acquisitions_.fetch_add(1, std::memory_order_relaxed);
  if (mu_.TryLock()) return;
  // A metric, not behaviour: measured with the hardware clock at ns
  // resolution (waits are often below a microsecond).
  auto start = std::chrono::steady_clock::now();
  mu_.Lock();
  lock_wait_ns_.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()),
      std::memory_order_relaxed);
}

void DatabaseCore::RequestCompletion() {
  inflight_.RequestDrain([this](bool may_hand_off) { return DrainPass(may_hand_off); });
}

bool DatabaseCore::DrainPass(bool may_hand_off) {
  uint64_t writes = 0, bytes = 0;
  thread_local std::vector<Completed> done;
  DrainCompletions(&done, &writes, &bytes);
  // What is left at the front is not acknowledged: its writer is still in
  // Write() and will wait for it, so it can take the duty over. The item
  // stays alive until completed, which only the duty's holder does.
  CompletionItem* successor = may_hand_off ? inflight_.front() : nullptr;
  if (successor != nullptr) successor->HandOffDrain();
  // Every thread that runs this is inside a Write() of this database (a
  // writer, or the journal leader before it releases its group), or in
  // CancelWrites, so `this` is alive.
  WakeCompleted(&done);
  WakeCompletionWaiters();
  if (writes && ctx_->listener) ctx_->listener->OnWritesCompleted(this, writes, bytes);
  return successor != nullptr;
}

void DatabaseCore::WakeCompleted(std::vector<Completed>* done) {
  for (auto& c : *done) c.item->MarkCompleted(c.status);
  done->clear();
}

void DatabaseCore::WakeCompletionWaiters() {
  // A waiter registers (seq_cst) before it reads the condition under mu_;
  // the new visible sequence or queue size was stored before this load.
  if (completion_waiters_.load(std::memory_order_seq_cst) == 0) return;
  MutexLock lock(&mu_);
  cv_.SignalAll();
}

void DatabaseCore::SetError(const Status& s) {
  MutexLock lock(&error_mu_);
  if (!error_.ok()) return;
  error_ = s;
  has_error_.store(true, std::memory_order_release);
  EBB_LOG(kError, "database {}: {}; read-only until the store is reopened", name_, s.ToString());
}

Status DatabaseCore::error() const {
  MutexLock lock(&error_mu_);
  return error_;
}

void DatabaseCore::DrainCompletions(std::vector<Completed>* done, uint64_t* writes, uint64_t* bytes) {
  uint64_t drained = 0;
  const bool cancelled = inflight_.cancelled();
  Status cancel_status;
  if (cancelled) {
    MutexLock lock(&error_mu_);
    cancel_status = cancel_status_;
  }
  while (true) {
    CompletionItem* ci;
    if (cancelled) {
      // The database is gone: what happens to the record no longer matters,
      // but an item is completed only once its batch is in the memtable, so
      // no write lands in a dropped database's memory after the drop
      // accounted for it. (Only the duty's holder pops: front stays front.)
      ci = inflight_.front();
      if (ci == nullptr || !ci->PartDone(WriteItem::kApply)) break;
      (void)inflight_.PopFront();
      drained++;
      done->push_back({static_cast<WriteItem*>(ci), cancel_status});
      continue;
    }
    ci = inflight_.PopAcknowledgedFront();
    if (ci == nullptr) break;
    auto* item = static_cast<WriteItem*>(ci);
    drained++;
    Status s = item->status();
    if (s.ok() && !has_error_.load(std::memory_order_acquire)) {
      // In submission order: the visible sequence only ever exposes a prefix.
      EBB_CHECK(item->first_seq == visible_seq_.load(std::memory_order_relaxed) + 1);
      visible_seq_.store(item->last_seq, std::memory_order_seq_cst);
      changes_.fetch_add(item->last_seq - item->first_seq + 1, std::memory_order_relaxed);
      (*writes)++;
      *bytes += item->bytes;
    } else {
      if (s.ok()) {
        s = Status::ReadOnly(
            fmt::format("database {} failed an earlier write ({}); reopen the store", name_, error().ToString()));
      } else {
        SetError(Status(s.code(), fmt::format("write failed: {}", s.message())));
      }
    }
    done->push_back({item, std::move(s)});
  }
  inflight_.CountDrained(drained);
}

void DatabaseCore::CancelWrites(const Status& status) {
  {
    MutexLock lock(&error_mu_);
    cancel_status_ = status;
  }
  inflight_.Cancel();
  RequestCompletion();  // a pass completes them all (or the current drainer's next one does)
  WaitForWrites();
}

}  // namespace ebb
