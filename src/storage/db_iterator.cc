#include "storage/db_iterator.h"

namespace ebb {
namespace {

class DBIterator final : public Iterator {
 public:
  DBIterator(std::unique_ptr<InternalIterator> merged, SequenceNumber seq, int64_t now_ms, std::string upper_bound,
             std::shared_ptr<void> keepalive)
      : keepalive_(std::move(keepalive)),
        iter_(std::move(merged)),
        seq_(seq),
        now_ms_(now_ms),
        upper_bound_(std::move(upper_bound)) {}

  bool Valid() const override { return valid_; }

  void SeekToFirst() override {
    iter_->SeekToFirst();
    FindNextUserEntry(/*skip=*/false);
  }

  void Seek(std::string_view target) override {
    iter_->Seek(MakeInternalKey(target, seq_, kValueTypeForSeek));
    FindNextUserEntry(false);
  }

  void Next() override {
    // Skip the remaining (older) versions of the current key.
    skip_key_.assign(key());
    iter_->Next();
    FindNextUserEntry(/*skip=*/true);
  }

  std::string_view key() const override { return ExtractUserKey(iter_->key()); }
  std::string_view value() const override {
    std::string_view v = iter_->value();
    return has_deadline_ ? v.substr(kDeadlineBytes) : v;
  }
  Status status() const override {
    if (!status_.ok()) return status_;
    return iter_->status();
  }

 private:
  void FindNextUserEntry(bool skipping) {
    valid_ = false;
    for (; iter_->Valid(); iter_->Next()) {
      ParsedInternalKey parsed;
      if (!ParseInternalKey(iter_->key(), &parsed)) {
        status_ = Status::Corruption("malformed internal key during iteration");
        return;
      }
      if (parsed.sequence > seq_) continue;  // written after our snapshot
      if (skipping && parsed.user_key == skip_key_) continue;  // an older version
      // A tombstone, or a value whose expiry has come (as of the
      // iterator's creation): the key is absent.
      if (ReadsAsAbsent(parsed.type, parsed.type == ValueType::kValueWithDeadline ? iter_->value() : std::string_view(),
                        now_ms_)) {
        skip_key_.assign(parsed.user_key);
        skipping = true;
        continue;
      }
      if (!upper_bound_.empty() && parsed.user_key >= upper_bound_) return;
      has_deadline_ = parsed.type == ValueType::kValueWithDeadline;
      valid_ = true;
      return;
    }
  }

  // Declared first so it is released last, after the iterator reading it.
  std::shared_ptr<void> keepalive_;
  std::unique_ptr<InternalIterator> iter_;
  const SequenceNumber seq_;
  const int64_t now_ms_;
  const std::string upper_bound_;
  bool has_deadline_ = false;  // the current entry's value starts with its deadline
  std::string skip_key_;
  bool valid_ = false;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<InternalIterator> merged, SequenceNumber sequence,
                                        int64_t now_ms, std::string upper_bound, std::shared_ptr<void> keepalive) {
  return std::make_unique<DBIterator>(std::move(merged), sequence, now_ms, std::move(upper_bound),
                                      std::move(keepalive));
}

}  // namespace ebb
