#include "storage/merging_iterator.h"

#include <algorithm>

#include "storage/format.h"

namespace ebb {
namespace {

class MergingIterator final : public InternalIterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<InternalIterator>> children)
      : children_(std::move(children)) {
    heap_.reserve(children_.size());
  }

  bool Valid() const override { return !heap_.empty() && status_.ok(); }
  void SeekToFirst() override {
    for (auto& c : children_) c->SeekToFirst();
    Rebuild();
  }
  void Seek(std::string_view target) override {
    for (auto& c : children_) c->Seek(target);
    Rebuild();
  }
  void Next() override {
    size_t top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), Greater{this});
    heap_.pop_back();
    children_[top]->Next();
    if (children_[top]->Valid()) {
      heap_.push_back(top);
      std::push_heap(heap_.begin(), heap_.end(), Greater{this});
    } else if (!children_[top]->status().ok()) {
      status_ = children_[top]->status();
    }
  }
  std::string_view key() const override { return children_[heap_.front()]->key(); }
  std::string_view value() const override { return children_[heap_.front()]->value(); }
  Status status() const override {
    if (!status_.ok()) return status_;
    for (const auto& c : children_) {
      Status s = c->status();
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  // Heap order: smallest key on top; ties go to the lower child index.
  struct Greater {
    const MergingIterator* self;
    bool operator()(size_t a, size_t b) const {
      int c = CompareInternalKeys(self->children_[a]->key(), self->children_[b]->key());
      if (c != 0) return c > 0;
      return a > b;
    }
  };

  void Rebuild() {
    heap_.clear();
    status_ = Status::OK();
    for (size_t i = 0; i < children_.size(); i++) {
      if (children_[i]->Valid()) {
        heap_.push_back(i);
      } else if (!children_[i]->status().ok()) {
        status_ = children_[i]->status();
      }
    }
    std::make_heap(heap_.begin(), heap_.end(), Greater{this});
  }

  std::vector<std::unique_ptr<InternalIterator>> children_;
  std::vector<size_t> heap_;
  Status status_;
};

class ErrorIterator final : public InternalIterator {
 public:
  explicit ErrorIterator(Status s) : s_(std::move(s)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void Seek(std::string_view) override {}
  void Next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return s_; }

 private:
  Status s_;
};

}  // namespace

std::unique_ptr<InternalIterator> NewErrorIterator(Status status) {
  return std::make_unique<ErrorIterator>(std::move(status));
}

std::unique_ptr<InternalIterator> NewMergingIterator(std::vector<std::unique_ptr<InternalIterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace ebb
