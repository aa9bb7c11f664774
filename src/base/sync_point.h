// Sync points: named places in the code where a test can run a callback,
// to make a race reproducible (put a write and a journal rotation exactly
// between two reads, say) instead of hoping a scheduler finds it.
//
// A sync point costs one relaxed atomic load while no test has set a
// callback; keep them off hot paths anyway. Callbacks run on the thread
// that reaches the point, with whatever locks it holds.
//
//   EBB_SYNC_POINT("Storage::FirstJournalFileToKeep:between");
//   sync_point::Set("Storage::...", [&] { ... });   // in a test
//   sync_point::ClearAll();
//
// Thread-safe.

#ifndef EBB_BASE_SYNC_POINT_H_
#define EBB_BASE_SYNC_POINT_H_

#include <atomic>
#include <functional>
#include <string>

namespace ebb::sync_point {

namespace internal {
extern std::atomic<bool> g_enabled;
void Process(const char* name);
}  // namespace internal

// Runs `callback` every time `name` is reached (replacing an earlier one).
void Set(const std::string& name, std::function<void()> callback);
void ClearAll();

}  // namespace ebb::sync_point

#define EBB_SYNC_POINT(name)                                                   \
  do {                                                                         \
    if (::ebb::sync_point::internal::g_enabled.load(std::memory_order_relaxed)) \
      ::ebb::sync_point::internal::Process(name);                              \
  } while (0)

#endif  // EBB_BASE_SYNC_POINT_H_
