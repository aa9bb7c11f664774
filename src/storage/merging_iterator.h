// Merges sorted internal iterators into one sorted stream (a min-heap of
// children). Children earlier in the list win ties, so pass newest first.

#ifndef EBB_STORAGE_MERGING_ITERATOR_H_
#define EBB_STORAGE_MERGING_ITERATOR_H_

#include <memory>
#include <vector>

#include "storage/internal_iterator.h"

namespace ebb {

std::unique_ptr<InternalIterator> NewMergingIterator(std::vector<std::unique_ptr<InternalIterator>> children);

// An iterator that yields nothing and reports `status`.
std::unique_ptr<InternalIterator> NewErrorIterator(Status status);

}  // namespace ebb

#endif  // EBB_STORAGE_MERGING_ITERATOR_H_
