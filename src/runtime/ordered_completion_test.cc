#include "runtime/ordered_completion.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "base/random.h"
#include "base/test_util.h"

namespace ebb {
namespace {

// A fake owner: a big lock, the in-flight queue, and the metadata that only
// the ordered completion step may change.
struct Owner {
  Mutex mu;
  OrderedCompletionQueue queue;
  uint64_t visible GUARDED_BY(mu) = 0;          // last completed sequence
  std::vector<uint64_t> completed GUARDED_BY(mu);  // completion order

  struct Item : CompletionItem {
    explicit Item(uint64_t s) : CompletionItem(2), seq(s) {}
    uint64_t seq;
  };

  bool Drain(bool may_hand_off = false) {
    MutexLock lock(&mu);
    uint64_t n = 0;
    while (CompletionItem* ci = queue.PopAcknowledgedFront()) {
      n++;
      auto* item = static_cast<Item*>(ci);
      // The visible sequence only ever exposes a gap-free prefix.
      EXPECT_EQ(item->seq, visible + 1);
      visible = item->seq;
      completed.push_back(item->seq);
      item->MarkCompleted(Status::OK());
    }
    queue.CountDrained(n);
    return false;
  }
};

// Seeded random interleavings of submit, commit, apply and completion,
// including completion requests that arrive late and out of order.
TEST(OrderedCompletionTest, RandomInterleavingsCompleteInSubmissionOrder) {
  uint64_t base = testing::TestSeed(1);
  for (uint64_t run = 0; run < 200; run++) {
    uint64_t seed = base + run;
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random rnd(seed);
    Owner owner;
    constexpr uint64_t kItems = 500;
    std::vector<std::unique_ptr<Owner::Item>> items;
    std::vector<int> acks(kItems + 1, 0);
    std::vector<Owner::Item*> pending;    // submitted, some part not done
    std::vector<Owner::Item*> to_request;  // acknowledged, completion not yet requested
    uint64_t submitted = 0;
    while (submitted < kItems || !pending.empty() || !to_request.empty()) {
      uint64_t choice = rnd.Uniform(10);
      if (choice < 3 && submitted < kItems) {
        items.push_back(std::make_unique<Owner::Item>(++submitted));
        MutexLock lock(&owner.mu);
        owner.queue.Push(items.back().get());
        pending.push_back(items.back().get());
      } else if (choice < 8 && !pending.empty()) {
        size_t i = rnd.Uniform(pending.size());
        Owner::Item* item = pending[i];
        int part = item->PartDone(0) ? 1 : item->PartDone(1) ? 0 : static_cast<int>(rnd.Uniform(2));
        if (item->CompletePart(part, Status::OK())) {
          acks[item->seq]++;
          pending.erase(pending.begin() + static_cast<long>(i));
          to_request.push_back(item);
        }
      } else if (!to_request.empty()) {
        size_t i = rnd.Uniform(to_request.size());
        to_request.erase(to_request.begin() + static_cast<long>(i));
        owner.queue.RequestDrain([&](bool) { return owner.Drain(); });
      }
      // Invariant at every step: visible never passes an unacknowledged item.
      MutexLock lock(&owner.mu);
      for (Owner::Item* p : pending) ASSERT_LT(owner.visible, p->seq);
    }
    MutexLock lock(&owner.mu);
    ASSERT_EQ(owner.visible, kItems);
    for (uint64_t i = 1; i <= kItems; i++) {
      ASSERT_EQ(owner.completed[i - 1], i);
      ASSERT_EQ(acks[i], 1) << "item " << i << " acknowledged " << acks[i] << " times";
    }
    EXPECT_TRUE(owner.queue.empty());
    EXPECT_LE(owner.queue.drain_passes(), kItems);
  }
}

// While completions keep arriving, the thread that drains does a bounded
// share of passes, then hands the duty to the waiter of the front item
// (which cannot complete before it anyway) instead of being held until the
// stream pauses.
TEST(OrderedCompletionTest, DrainerHandsOnItsDutyAfterItsShareOfPasses) {
  Owner owner;
  std::vector<std::unique_ptr<Owner::Item>> items;
  uint64_t next_seq = 0;
  auto push = [&](bool acknowledge) {
    items.push_back(std::make_unique<Owner::Item>(++next_seq));
    Owner::Item* item = items.back().get();
    {
      MutexLock lock(&owner.mu);
      owner.queue.Push(item);
    }
    if (acknowledge) {
      (void)item->CompletePart(0, Status::OK());
      (void)item->CompletePart(1, Status::OK());
    }
    return item;
  };
  int passes = 0;
  Owner::Item* handed = nullptr;
  // Each pass, other writers acknowledge one more item and ask for a drain:
  // a stream that never pauses.
  OrderedCompletionQueue::DrainPass streaming = [&](bool may_hand_off) {
    passes++;
    // A drainer that never hands off would stream forever: fail, stop.
    if (passes > 100) {
      ADD_FAILURE() << "no hand-off after 100 passes";
      return false;
    }
    (void)owner.Drain();
    push(/*acknowledge=*/true);
    owner.queue.RequestDrain(streaming);  // counted; this thread already drains
    if (!may_hand_off) return false;
    handed = push(/*acknowledge=*/false);  // a writer still applying
    (void)owner.Drain();                   // completes what is in front of it
    MutexLock lock(&owner.mu);
    EXPECT_EQ(owner.queue.front(), handed);
    handed->HandOffDrain();
    return true;
  };
  push(/*acknowledge=*/true);
  owner.queue.RequestDrain(streaming);
  EXPECT_EQ(passes, OrderedCompletionQueue::kDrainPassesBeforeHandOff) << "the first caller's share is bounded";
  EXPECT_EQ(owner.queue.hand_offs(), 1u);
  ASSERT_NE(handed, nullptr);

  // The front item's writer finishes its parts and, waiting, takes the duty.
  (void)handed->CompletePart(0, Status::OK());
  (void)handed->CompletePart(1, Status::OK());
  bool took_over = false;
  Status s = handed->WaitCompleted([&] {
    took_over = true;
    owner.queue.ContinueDrain([&](bool) { return owner.Drain(); });
  });
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(took_over);
  MutexLock lock(&owner.mu);
  EXPECT_EQ(owner.visible, next_seq) << "every item completed, in order";
  EXPECT_TRUE(owner.queue.empty());
}

// Real threads: submitters push under the owner lock, independent "commit"
// and "apply" threads complete parts; whoever acknowledges requests
// completion. Every item completes once, in order (run under tsan).
TEST(OrderedCompletionTest, ConcurrentPartsCompleteInOrder) {
  Owner owner;
  constexpr uint64_t kItems = 20000;
  std::vector<std::unique_ptr<Owner::Item>> items;
  for (uint64_t i = 1; i <= kItems; i++) items.push_back(std::make_unique<Owner::Item>(i));
  Mutex handoff_mu;
  std::deque<Owner::Item*> commit_q, apply_q;  // under handoff_mu
  std::atomic<bool> done{false};
  auto part_worker = [&](int part) {
    while (true) {
      Owner::Item* item = nullptr;
      {
        MutexLock lock(&handoff_mu);
        auto& q = part == 0 ? commit_q : apply_q;
        if (!q.empty()) {
          item = q.front();
          q.pop_front();
        }
      }
      if (item == nullptr) {
        if (done.load()) return;
        std::this_thread::yield();
        continue;
      }
      if (item->CompletePart(part, Status::OK())) owner.queue.RequestDrain([&](bool) { return owner.Drain(); });
    }
  };
  std::thread committer(part_worker, 0), applier(part_worker, 1);
  for (auto& item : items) {
    {
      MutexLock lock(&owner.mu);
      owner.queue.Push(item.get());
    }
    MutexLock lock(&handoff_mu);
    commit_q.push_back(item.get());
    apply_q.push_back(item.get());
  }
  for (auto& item : items) EXPECT_TRUE(item->WaitCompleted().ok());
  done = true;
  committer.join();
  applier.join();
  MutexLock lock(&owner.mu);
  ASSERT_EQ(owner.completed.size(), kItems);
  for (uint64_t i = 0; i < kItems; i++) ASSERT_EQ(owner.completed[i], i + 1);
  EXPECT_EQ(owner.queue.drained_items(), kItems);
  EXPECT_LE(owner.queue.drain_passes(), kItems);
}

TEST(OrderedCompletionTest, FirstErrorOfAnyPartIsTheItemStatus) {
  CompletionItem item(2);
  EXPECT_FALSE(item.CompletePart(1, Status::OK()));
  EXPECT_TRUE(item.CompletePart(0, Status::IOError("journal sync failed")));
  EXPECT_TRUE(item.acknowledged());
  EXPECT_TRUE(item.status().IsIOError());
}

}  // namespace
}  // namespace ebb
