// KeyLocks: striped reader/writer locks over keys, so a read-modify-write
// command (SET NX/XX/GET, DEL's count) is atomic against every other write
// the server makes to the same key. Plain writes take their stripes shared
// (they do not need to exclude one another); read-modify-write takes them
// exclusive. Stripes are locked in index order, so jobs never deadlock.
// A job spanning more than kMaxStripesPerJob stripes (a big MSET) takes one
// global lock exclusively instead, so no thread ever holds more than
// kMaxStripesPerJob + 1 locks (ThreadSanitizer tracks at most 64 per thread);
// every other job holds the global lock shared. LockAll takes the global
// lock exclusively too: FLUSHDB holds it across the drop, so no job (a
// MULTI/EXEC transaction above all) sees a database half flushed. A job
// waiting for the global lock exclusively is not starved by a stream of
// shared ones (the lock prefers readers): it holds a turnstile that every
// job passes through before it takes the global lock, so new jobs wait
// behind it.
//
// Thread safety: thread-safe.

#ifndef EBB_SERVER_KEY_LOCKS_H_
#define EBB_SERVER_KEY_LOCKS_H_

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace ebb {

class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;
  static constexpr size_t kMaxStripesPerJob = 32;

  // Holds the stripes of one job until destroyed.
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept
        : locks_(other.locks_), global_exclusive_(other.global_exclusive_), held_(std::move(other.held_)) {
      other.locks_ = nullptr;
      other.held_.clear();
    }
    Guard& operator=(Guard&&) = delete;
    ~Guard();

   private:
    friend class KeyLocks;
    KeyLocks* locks_ = nullptr;  // null: holds nothing
    bool global_exclusive_ = false;
    std::vector<std::pair<size_t, bool>> held_;  // (stripe, exclusive), ascending
  };

  // Locks the stripes of `keys`; exclusive where any of its keys asks for it.
  Guard Lock(const std::vector<std::pair<std::string_view, bool>>& keys);
  // The same without waiting: nullopt, holding nothing, when a stripe (or
  // the global lock) is taken in a conflicting mode.
  std::optional<Guard> TryLock(const std::vector<std::pair<std::string_view, bool>>& keys);
  // Every key: waits for every job holding stripes to finish.
  Guard LockAll();

 private:
  // The job's stripes, ascending and unique, exclusive where any key asks.
  static std::vector<std::pair<size_t, bool>> Stripes(const std::vector<std::pair<std::string_view, bool>>& keys);

  // Takes global_ exclusively through the turnstile.
  void LockGlobalExclusive();

  // A guard holding nothing yet, with the stripes Lock/TryLock take (or
  // global_exclusive_ for a job over too many).
  Guard Plan(const std::vector<std::pair<std::string_view, bool>>& keys);

  // Passed through (locked, unlocked) before taking global_ shared; held
  // while waiting for global_ exclusively.
  std::mutex turnstile_;
  std::shared_mutex global_;
  std::array<std::shared_mutex, kStripes> stripes_;
};

}  // namespace ebb

#endif  // EBB_SERVER_KEY_LOCKS_H_
