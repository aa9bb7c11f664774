// Copyright Ebb authors. Public API.
//
// Iterator: forward iteration over a database's keys in bytewise order, as of
// one consistent snapshot (the one in ReadOptions, or the state when the
// iterator was created). Writes made after that are not seen.
//
// An iterator keeps the files it reads alive; release it when done.
// Not thread-safe: use one iterator from one thread at a time.

#ifndef EBB_ITERATOR_H_
#define EBB_ITERATOR_H_

#include <string_view>

#include "ebb/export.h"
#include "ebb/status.h"

namespace ebb {

class EBB_EXPORT Iterator {
 public:
  virtual ~Iterator() = default;

  // True when positioned at an entry; false at the end or after an error.
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  // Positions at the first key >= target.
  virtual void Seek(std::string_view target) = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // REQUIRES: Valid(). The views stay valid until the next move.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // OK unless a read failed (e.g. Corruption); iteration stops at an error.
  virtual Status status() const = 0;
};

}  // namespace ebb

#endif  // EBB_ITERATOR_H_
