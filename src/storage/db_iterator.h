// The user-facing iterator: turns a merged stream of internal entries into
// the newest visible version of each key at one sequence number, hiding
// deleted keys and stopping at an optional upper bound.

#ifndef EBB_STORAGE_DB_ITERATOR_H_
#define EBB_STORAGE_DB_ITERATOR_H_

#include <functional>
#include <memory>
#include <string>

#include "ebb/iterator.h"
#include "storage/format.h"
#include "storage/internal_iterator.h"

namespace ebb {

// `keepalive` holds whatever the internal iterator reads from (memtables,
// segments, a snapshot registration) and is released with the iterator.
// Values whose expiry is at or before `now_ms` (Unix ms) read as absent.
std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<InternalIterator> merged, SequenceNumber sequence,
                                        int64_t now_ms, std::string upper_bound, std::shared_ptr<void> keepalive);

}  // namespace ebb

#endif  // EBB_STORAGE_DB_ITERATOR_H_
