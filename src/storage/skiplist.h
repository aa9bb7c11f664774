// A skip list that supports concurrent inserts (compare-and-swap per level,
// after RocksDB's InlineSkipList) and lock-free readers. Nodes are never
// removed; memory comes from an Arena and is freed with it.
//
// Keys must be unique (Ebb's internal keys are: every entry has its own
// sequence number). Comparator: int operator()(const char* a, const char* b).

#ifndef EBB_STORAGE_SKIPLIST_H_
#define EBB_STORAGE_SKIPLIST_H_

#include <atomic>
#include <cstdint>
#include <new>

#include "base/logging.h"
#include "base/random.h"
#include "storage/arena.h"

namespace ebb {

template <class Comparator>
class SkipList {
 private:
  struct Node;

 public:
  static constexpr int kMaxHeight = 12;
  static constexpr uint32_t kBranching = 4;

  SkipList(Comparator cmp, Arena* arena) : cmp_(cmp), arena_(arena), head_(NewNode(nullptr, kMaxHeight)) {
    for (int i = 0; i < kMaxHeight; i++) head_->SetNext(i, nullptr);
  }

  // Thread-safe with other Inserts and with readers.
  void Insert(const char* key) {
    int height = RandomHeight();
    int max = max_height_.load(std::memory_order_relaxed);
    while (height > max) {
      if (max_height_.compare_exchange_weak(max, height, std::memory_order_relaxed)) break;
    }
    Node* x = NewNode(key, height);
    Node* prev[kMaxHeight];
    Node* next[kMaxHeight];
    Node* before = head_;
    for (int level = kMaxHeight - 1; level >= 0; level--) {
      FindSplice(key, before, level, &prev[level], &next[level]);
      before = prev[level];
    }
    for (int level = 0; level < height; level++) {
      while (true) {
        x->SetNextRelaxed(level, next[level]);
        if (prev[level]->CasNext(level, next[level], x)) break;
        // Someone inserted next to us at this level: find the splice again,
        // starting from our previous predecessor (keys only get added).
        FindSplice(key, prev[level], level, &prev[level], &next[level]);
      }
    }
  }

  bool Contains(const char* key) const {
    Node* x = FindGreaterOrEqual(key);
    return x != nullptr && cmp_(x->key, key) == 0;
  }

  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}
    bool Valid() const { return node_ != nullptr; }
    const char* key() const { return node_->key; }
    void Next() { node_ = node_->Next(0); }
    void Seek(const char* target) { node_ = list_->FindGreaterOrEqual(target); }
    void SeekToFirst() { node_ = list_->head_->Next(0); }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

 private:
  struct Node {
    const char* key;
    std::atomic<Node*> next[1];  // really `height` entries

    Node* Next(int n) { return next[n].load(std::memory_order_acquire); }
    void SetNext(int n, Node* x) { next[n].store(x, std::memory_order_release); }
    void SetNextRelaxed(int n, Node* x) { next[n].store(x, std::memory_order_relaxed); }
    bool CasNext(int n, Node* expected, Node* x) {
      return next[n].compare_exchange_strong(expected, x, std::memory_order_release, std::memory_order_relaxed);
    }
  };

  Node* NewNode(const char* key, int height) {
    size_t bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * static_cast<size_t>(height - 1);
    char* mem = arena_->AllocateAligned(bytes);
    Node* n = new (mem) Node;
    n->key = key;
    for (int i = 1; i < height; i++) new (&n->next[i]) std::atomic<Node*>(nullptr);
    return n;
  }

  static int RandomHeight() {
    thread_local Random rnd(0x5eed ^ reinterpret_cast<uintptr_t>(&rnd));
    int height = 1;
    while (height < kMaxHeight && rnd.Uniform(kBranching) == 0) height++;
    return height;
  }

  void FindSplice(const char* key, Node* before, int level, Node** out_prev, Node** out_next) const {
    while (true) {
      Node* next = before->Next(level);
      if (next == nullptr || cmp_(next->key, key) >= 0) {
        EBB_DCHECK(next == nullptr || cmp_(next->key, key) != 0);
        *out_prev = before;
        *out_next = next;
        return;
      }
      before = next;
    }
  }

  Node* FindGreaterOrEqual(const char* key) const {
    Node* x = head_;
    int level = max_height_.load(std::memory_order_relaxed) - 1;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && cmp_(next->key, key) < 0) {
        x = next;
      } else if (level == 0) {
        return next;
      } else {
        level--;
      }
    }
  }

  const Comparator cmp_;
  Arena* const arena_;
  Node* const head_;
  std::atomic<int> max_height_{1};
};

}  // namespace ebb

#endif  // EBB_STORAGE_SKIPLIST_H_
