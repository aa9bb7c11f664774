// Iterators over internal keys (user key + sequence/type tag, see format.h),
// in internal-key order. Memtables, segments and the merging iterator
// implement it; the public ebb::Iterator is built on top (db_iterator.h).
// Not thread-safe.

#ifndef EBB_STORAGE_INTERNAL_ITERATOR_H_
#define EBB_STORAGE_INTERNAL_ITERATOR_H_

#include <string_view>

#include "ebb/status.h"

namespace ebb {

class InternalIterator {
 public:
  virtual ~InternalIterator() = default;
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  // Positions at the first entry >= target (an internal key).
  virtual void Seek(std::string_view target) = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;  // internal key
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

}  // namespace ebb

#endif  // EBB_STORAGE_INTERNAL_ITERATOR_H_
