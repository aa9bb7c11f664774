// A skip list that supports concurrent inserts (compare-and-swap per level,
// after RocksDB's InlineSkipList) and lock-free readers; each key is stored
// inside its node. Nodes are never removed; memory comes from an Arena and
// is freed with it.
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

  SkipList(Comparator cmp, Arena* arena) : cmp_(cmp), arena_(arena), head_(NewNode(kMaxHeight, 0)) {
    for (int i = 0; i < kMaxHeight; i++) head_->SetNext(i, nullptr);
  }

  // Reserves a node whose key is `key_bytes` long and returns where the key
  // goes. The key lives inside its node (one allocation, and a search reads
  // the key from the cache line that holds the node's links). The caller
  // writes the key there and then passes the pointer to Insert.
  char* AllocateKey(size_t key_bytes) {
    int height = RandomHeight();
    Node* x = NewNode(height, key_bytes);
    x->StashHeight(height);
    return x->key();
  }

  // Inserts a key from AllocateKey. Thread-safe with other Inserts and with
  // readers.
  void Insert(const char* key) {
    Node* x = Node::FromKey(key);
    const int height = x->StashedHeight();
    // Afterwards max >= height: every level the node joins is searched.
    int max = max_height_.load(std::memory_order_relaxed);
    while (height > max) {
      if (max_height_.compare_exchange_weak(max, height, std::memory_order_relaxed)) max = height;
    }
    Node* prev[kMaxHeight];
    Node* next[kMaxHeight];
    Node* before = head_;
    Node* greater = nullptr;  // the node that ended the search one level up
    for (int level = max - 1; level >= 0; level--) {
      FindSplice(key, before, greater, level, &prev[level], &next[level]);
      before = prev[level];
      greater = next[level];
    }
    for (int level = 0; level < height; level++) {
      while (true) {
        x->SetNextRelaxed(level, next[level]);
        if (prev[level]->CasNext(level, next[level], x)) break;
        // Someone inserted next to us at this level: find the splice again,
        // starting from our previous predecessor (keys only get added).
        FindSplice(key, prev[level], nullptr, level, &prev[level], &next[level]);
      }
    }
  }

  bool Contains(const char* key) const {
    Node* x = FindGreaterOrEqual(key);
    return x != nullptr && cmp_(x->key(), key) == 0;
  }

  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}
    bool Valid() const { return node_ != nullptr; }
    const char* key() const { return node_->key(); }
    void Next() { node_ = node_->Next(0); }
    void Seek(const char* target) { node_ = list_->FindGreaterOrEqual(target); }
    void SeekToFirst() { node_ = list_->head_->Next(0); }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

 private:
  // Memory of a node of height h: links h-1 .. 1, then link 0 (where Node*
  // points), then the key. Until Insert links it, link 0 holds the height.
  struct Node {
    std::atomic<Node*> next0;

    static Node* FromKey(const char* key) {
      return const_cast<Node*>(reinterpret_cast<const Node*>(key - sizeof(Node)));
    }
    char* key() { return reinterpret_cast<char*>(this) + sizeof(Node); }
    std::atomic<Node*>* Link(int n) { return &next0 - n; }
    Node* Next(int n) { return Link(n)->load(std::memory_order_acquire); }
    void SetNext(int n, Node* x) { Link(n)->store(x, std::memory_order_release); }
    void SetNextRelaxed(int n, Node* x) { Link(n)->store(x, std::memory_order_relaxed); }
    bool CasNext(int n, Node* expected, Node* x) {
      return Link(n)->compare_exchange_strong(expected, x, std::memory_order_release, std::memory_order_relaxed);
    }
    void StashHeight(int height) {
      next0.store(reinterpret_cast<Node*>(static_cast<intptr_t>(height)), std::memory_order_relaxed);
    }
    int StashedHeight() const {
      return static_cast<int>(reinterpret_cast<intptr_t>(next0.load(std::memory_order_relaxed)));
    }
  };
  static_assert(sizeof(Node) == sizeof(std::atomic<Node*>));

  Node* NewNode(int height, size_t key_bytes) {
    const size_t links = sizeof(std::atomic<Node*>) * static_cast<size_t>(height - 1);
    char* mem = arena_->AllocateAligned(links + sizeof(Node) + key_bytes);
    for (int i = height - 1; i >= 1; i--) {
      new (mem + sizeof(std::atomic<Node*>) * static_cast<size_t>(height - 1 - i)) std::atomic<Node*>(nullptr);
    }
    return new (mem + links) Node;
  }

  static int RandomHeight() {
    thread_local Random rnd(0x5eed ^ reinterpret_cast<uintptr_t>(&rnd));
    int height = 1;
    while (height < kMaxHeight && rnd.Uniform(kBranching) == 0) height++;
    return height;
  }

  // Walks level `level` from `before` to the last node whose key is below
  // `key`. `greater`, if not null, is known to be above `key` (it ended the
  // walk one level up), so reaching it ends this walk without comparing.
  void FindSplice(const char* key, Node* before, Node* greater, int level, Node** out_prev, Node** out_next) const {
    while (true) {
      Node* next = before->Next(level);
      if (next == nullptr || next == greater || cmp_(next->key(), key) >= 0) {
        EBB_DCHECK(next == nullptr || cmp_(next->key(), key) != 0);
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
    Node* last_bigger = nullptr;  // compared at a level above: not below key
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && next != last_bigger && cmp_(next->key(), key) < 0) {
        x = next;
      } else if (level == 0) {
        return next;
      } else {
        last_bigger = next;
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
