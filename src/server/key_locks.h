// KeyLocks: striped reader/writer locks over keys, so a read-modify-write
// command (SET NX/XX/GET, DEL's count) is atomic against every other write
// the server makes to the same key. Plain writes take their stripes shared
// (they do not need to exclude one another); read-modify-write takes them
// exclusive. Stripes are locked in index order, so jobs never deadlock.
//
// Thread safety: thread-safe.

#ifndef EBB_SERVER_KEY_LOCKS_H_
#define EBB_SERVER_KEY_LOCKS_H_

#include <array>
#include <cstddef>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace ebb {

class KeyLocks {
 public:
  static constexpr size_t kStripes = 1024;

  // Holds the stripes of one job until destroyed.
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept : locks_(other.locks_), held_(std::move(other.held_)) { other.held_.clear(); }
    Guard& operator=(Guard&&) = delete;
    ~Guard();

   private:
    friend class KeyLocks;
    KeyLocks* locks_ = nullptr;
    std::vector<std::pair<size_t, bool>> held_;  // (stripe, exclusive), ascending
  };

  // Locks the stripes of `keys`; exclusive where any of its keys asks for it.
  Guard Lock(const std::vector<std::pair<std::string_view, bool>>& keys);

 private:
  std::array<std::shared_mutex, kStripes> stripes_;
};

}  // namespace ebb

#endif  // EBB_SERVER_KEY_LOCKS_H_
