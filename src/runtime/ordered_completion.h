// Op-lock completion (after the Ceph OSD's "OP lock completion";
// docs/ARCHITECTURE.md, "A write").
//
// A write is made of parts that finish independently (in Ebb: *commit*, the
// journal batch is durable per the sync mode, and *apply*, the record is in
// the memtable). Each part completes under the item's own small lock; the
// thread that completes the last part *acknowledges* the item. Work that
// needs the owner's big lock (advancing the visible sequence, statistics,
// notifying listeners) is deferred to an ordered completion step that
// drains the front of the owner's in-flight queue in submission order, taking
// the big lock once per batch of items rather than once per write.
//
// CompletionItem: one in-flight operation. OrderedCompletionQueue: the
// owner's in-flight queue plus the "one drainer at a time, no request lost"
// protocol (Ceph's _queue_for_completion / do_completion).
//
// The queue has its own small lock, so the ordered completion step needs
// none of the owner's: an owner whose per-item metadata is atomic (Ebb's
// databases: the visible sequence and counters) completes and acknowledges
// writes without ever taking its big lock, which then serves submission
// alone. Cancel() completes everything queued at once (Ceph's on_change:
// a dropped database's writes need no completion).

#ifndef EBB_RUNTIME_ORDERED_COMPLETION_H_
#define EBB_RUNTIME_ORDERED_COMPLETION_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "base/mutex.h"
#include "ebb/status.h"

namespace ebb {

class CompletionItem {
 public:
  static constexpr int kMaxParts = 8;

  // `parts` independent parts must complete before the item is acknowledged.
  explicit CompletionItem(int parts);
  CompletionItem(const CompletionItem&) = delete;
  CompletionItem& operator=(const CompletionItem&) = delete;

  // Marks part `part` (0-based) done with `status` (the first non-OK status
  // of any part becomes the item's status). Returns true if this call
  // completed the last part, i.e. this thread acknowledges the item and must
  // then request completion. Completing a part twice is a bug.
  bool CompletePart(int part, const Status& status);

  bool PartDone(int part) const;
  bool acknowledged() const;
  Status status() const;

  // Called by the ordered completion step, in submission order, once the item
  // is acknowledged and its metadata applied. Wakes WaitCompleted. The item
  // must not be touched by the drainer after this returns.
  void MarkCompleted(const Status& final_status);

  // Blocks until MarkCompleted; returns the final status. If, meanwhile,
  // the draining thread hands its duty to this item (HandOffDrain), runs
  // `on_hand_off` (which continues the drain) on this thread first.
  Status WaitCompleted(const std::function<void()>& on_hand_off = nullptr);
  // Called by a drainer that has done its share (it holds the draining duty),
  // on the queue's front item (not acknowledged, so not completed): its
  // waiter takes over the draining duty. Needs a waiter that passes
  // on_hand_off to WaitCompleted.
  void HandOffDrain();

  // Intrusive link for OrderedCompletionQueue (guarded by the queue's lock).
  CompletionItem* next_in_queue = nullptr;

 private:
  mutable Mutex mu_;  // the op lock
  CondVar cv_{&mu_};
  // Bitmask of parts not yet done. Written under mu_; readable without it so
  // the in-order drain can test the front item cheaply.
  std::atomic<uint32_t> parts_pending_;
  Status status_ GUARDED_BY(mu_);
  // Set under mu_; read without it on the writer's fast path.
  std::atomic<bool> completed_{false};
  std::atomic<bool> drain_handed_{false};
};

// The owner's in-flight queue. Push must be called in submission order (Ebb
// pushes under the owner's lock, where sequence numbers are assigned); the
// pops are for whoever holds the draining duty (RequestDrain), one thread at
// a time. All methods are thread-safe (the queue's own lock).
class OrderedCompletionQueue {
 public:
  OrderedCompletionQueue() = default;
  OrderedCompletionQueue(const OrderedCompletionQueue&) = delete;
  OrderedCompletionQueue& operator=(const OrderedCompletionQueue&) = delete;

  // Appends in submission order.
  void Push(CompletionItem* item) EXCLUDES(mu_);
  // Removes and returns the front item if it is acknowledged, else nullptr.
  // Items behind an unacknowledged one wait: completion is strictly in
  // submission order.
  CompletionItem* PopAcknowledgedFront() EXCLUDES(mu_);
  // Removes and returns the front item whatever its state (cancelling).
  CompletionItem* PopFront() EXCLUDES(mu_);
  // The front item, or nullptr. Only meaningful to the draining thread.
  CompletionItem* front() const EXCLUDES(mu_);
  bool empty() const { return size_.load(std::memory_order_acquire) == 0; }
  size_t size() const { return size_.load(std::memory_order_acquire); }

  // From now on a drain pass completes every item, acknowledged or not
  // (the owner decides with what status). Sticky.
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // One drain pass: pops the acknowledged items and completes them. With
  // `may_hand_off` (this thread has done its share of passes) it may give
  // the duty to the waiter of the front item (HandOffDrain) and return true;
  // that waiter then calls ContinueDrain. Returns false otherwise.
  using DrainPass = std::function<bool(bool may_hand_off)>;
  // A thread's share of drain passes before it may hand the duty on: one
  // caller's Write() is not held by other writers' completions without bound.
  static constexpr int kDrainPassesBeforeHandOff = 4;

  // Runs `drain` now or makes sure a thread already draining runs it again,
  // so that one thread drains at a time and no acknowledged item is left
  // behind. Returns after this thread's draining duty (if any) is done or
  // handed on.
  void RequestDrain(const DrainPass& drain);
  // For the thread an item's HandOffDrain chose: carries on the duty.
  void ContinueDrain(const DrainPass& drain);
  // Times the duty was handed on (a metric and a test hook).
  uint64_t hand_offs() const { return hand_offs_.load(std::memory_order_relaxed); }

  // Drain passes that completed at least one item, and the items completed,
  // for "mean items per completion". The owner reports each pass's count.
  uint64_t drain_passes() const { return drain_passes_.load(std::memory_order_relaxed); }
  void CountDrained(uint64_t items) {
    if (items == 0) return;
    drain_passes_.fetch_add(1, std::memory_order_relaxed);
    drained_items_.fetch_add(items, std::memory_order_relaxed);
  }
  uint64_t drained_items() const { return drained_items_.load(std::memory_order_relaxed); }

 private:
  CompletionItem* PopFrontLocked() REQUIRES(mu_);

  mutable Mutex mu_;  // the queue's own lock: held for a pointer or two
  CompletionItem* head_ GUARDED_BY(mu_) = nullptr;
  CompletionItem* tail_ GUARDED_BY(mu_) = nullptr;
  std::atomic<size_t> size_{0};
  std::atomic<bool> cancelled_{false};

  std::atomic<uint64_t> drain_requests_{0};
  std::atomic<uint64_t> hand_offs_{0};
  std::atomic<uint64_t> drain_passes_{0};
  std::atomic<uint64_t> drained_items_{0};
};

}  // namespace ebb

#endif  // EBB_RUNTIME_ORDERED_COMPLETION_H_
