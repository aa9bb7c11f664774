#include "runtime/ordered_completion.h"

#include "base/logging.h"
#include "base/mutex.h"
#include "base/spin.h"

namespace ebb {

namespace {
constexpr int kWaitSpinIterations = 256;
}  // namespace

CompletionItem::CompletionItem(int parts) {
  EBB_CHECK(parts > 0 && parts <= kMaxParts);
  parts_pending_.store((1u << parts) - 1, std::memory_order_relaxed);
}

bool CompletionItem::CompletePart(int part, const Status& status) {
  MutexLock lock(&mu_);
  uint32_t bit = 1u << part;
  if (!status.ok() && status_.ok()) status_ = status;
  uint32_t before = parts_pending_.fetch_and(~bit, std::memory_order_acq_rel);
  EBB_CHECK_MSG(before & bit, "completion part {} completed twice", part);
  return before == bit;
}

bool CompletionItem::PartDone(int part) const {
  return (parts_pending_.load(std::memory_order_acquire) & (1u << part)) == 0;
}

bool CompletionItem::acknowledged() const { return parts_pending_.load(std::memory_order_acquire) == 0; }

Status CompletionItem::status() const {
  MutexLock lock(&mu_);
  return status_;
}

void CompletionItem::MarkCompleted(const Status& final_status) {
  MutexLock lock(&mu_);
  EBB_CHECK(!completed_.load(std::memory_order_relaxed));
  status_ = final_status;
  completed_.store(true, std::memory_order_release);
  cv_.SignalAll();
}

Status CompletionItem::WaitCompleted(const std::function<void()>& on_hand_off) {
  // The ordered completion step usually runs within microseconds: poll
  // briefly before sleeping on the op lock's condition variable.
  SpinBriefly(kWaitSpinIterations, [this] {
    return completed_.load(std::memory_order_acquire) || drain_handed_.load(std::memory_order_acquire);
  });
  MutexLock lock(&mu_);
  while (!completed_.load(std::memory_order_acquire)) {
    if (drain_handed_.load(std::memory_order_acquire)) {
      drain_handed_.store(false, std::memory_order_relaxed);
      EBB_CHECK_MSG(on_hand_off != nullptr, "drain duty handed to an item whose waiter cannot take it");
      MutexUnlock unlock(&mu_);
      on_hand_off();
      continue;
    }
    cv_.Wait();
  }
  return status_;
}

void CompletionItem::HandOffDrain() {
  MutexLock lock(&mu_);
  EBB_CHECK(!completed_.load(std::memory_order_relaxed));
  drain_handed_.store(true, std::memory_order_release);
  cv_.SignalAll();
}

void OrderedCompletionQueue::Push(CompletionItem* item) {
  MutexLock lock(&mu_);
  item->next_in_queue = nullptr;
  if (tail_ == nullptr) {
    head_ = tail_ = item;
  } else {
    tail_->next_in_queue = item;
    tail_ = item;
  }
  size_.fetch_add(1, std::memory_order_release);
}

CompletionItem* OrderedCompletionQueue::PopFrontLocked() {
  CompletionItem* item = head_;
  if (item == nullptr) return nullptr;
  head_ = item->next_in_queue;
  if (head_ == nullptr) tail_ = nullptr;
  item->next_in_queue = nullptr;
  size_.fetch_sub(1, std::memory_order_release);
  return item;
}

CompletionItem* OrderedCompletionQueue::PopFront() {
  MutexLock lock(&mu_);
  return PopFrontLocked();
}

CompletionItem* OrderedCompletionQueue::PopAcknowledgedFront() {
  MutexLock lock(&mu_);
  if (head_ == nullptr || !head_->acknowledged()) return nullptr;
  return PopFrontLocked();
}

CompletionItem* OrderedCompletionQueue::front() const {
  MutexLock lock(&mu_);
  return head_;
}

void OrderedCompletionQueue::RequestDrain(const DrainPass& drain) {
  // Whoever moves the counter from 0 drains; others only record a request.
  if (drain_requests_.fetch_add(1, std::memory_order_acq_rel) != 0) return;
  ContinueDrain(drain);
}

void OrderedCompletionQueue::ContinueDrain(const DrainPass& drain) {
  // The drainer re-runs while requests arrived during its pass, so an item
  // acknowledged concurrently with a pass is never left in the queue. After
  // its share of passes it hands the duty, with the counter still non-zero
  // (so nobody else starts), to the front item's waiter: nothing behind the
  // front can complete before it anyway.
  for (int pass = 1;; pass++) {
    uint64_t seen = drain_requests_.load(std::memory_order_acquire);
    if (drain(pass >= kDrainPassesBeforeHandOff)) {
      hand_offs_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (drain_requests_.compare_exchange_strong(seen, 0, std::memory_order_acq_rel)) return;
  }
}

}  // namespace ebb
