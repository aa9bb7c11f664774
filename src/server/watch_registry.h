// WatchRegistry: the keys connections WATCH, each with a version that every
// write the server makes to it bumps, so EXEC can tell whether a watched
// key was modified since WATCH (docs/server.md, "Transactions").
//
//   WATCH db key    takes the key's stripe (KeyLocks) exclusively, registers
//                   the key (Watch) and keeps the version it returns in the
//                   connection's WatchSet.
//   a write         holds its keys' stripes from before its reads until after
//                   Touch: Database::Write, then Touch of every key it wrote
//                   (WriteJobContext::Write). A write that found no key
//                   watched (Empty) while holding its stripes skips Touch:
//                   a WATCH of one of its keys waits for the stripes, so its
//                   reads come after the write.
//   FLUSHDB         holds every stripe (KeyLocks::LockAll) across the drop,
//                   then TouchDatabase.
//   EXEC            holds its keys' and the watched keys' stripes
//                   exclusively, then compares versions (WatchSet::Changed):
//                   any difference answers a null array and runs nothing.
// A key is registered while at least one connection watches it: the
// registry holds only watched keys, each connection at most its transaction
// limits' worth (transaction.h).
//
// Thread safety: thread-safe. WatchSet: one connection's, used by one
// thread at a time.

#ifndef EBB_SERVER_WATCH_REGISTRY_H_
#define EBB_SERVER_WATCH_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace ebb {

class WatchRegistry {
 public:
  // Registers one more watcher of (database, key); returns its version now.
  uint64_t Watch(std::string_view database, std::string_view key);
  // Removes a watcher Watch registered.
  void Unwatch(std::string_view database, std::string_view key);
  // The key's version (0 if nobody watches it).
  uint64_t Version(std::string_view database, std::string_view key) const;
  // Whether no key is watched. Exact for a writer holding the stripes of
  // the keys it writes (see above).
  bool Empty() const { return watched_keys_.load(std::memory_order_relaxed) == 0; }
  // Keys watched now (distinct (database, key) pairs).
  size_t watched_keys() const { return watched_keys_.load(std::memory_order_relaxed); }

  // Marks `keys` of `database` modified.
  void Touch(std::string_view database, const std::vector<std::string_view>& keys);
  // Marks every watched key of `database` modified (FLUSHDB).
  void TouchDatabase(std::string_view database);

 private:
  struct Entry {
    uint64_t version = 0;
    uint64_t watchers = 0;
  };
  using Keys = std::map<std::string, Entry, std::less<>>;

  mutable Mutex mu_;
  std::map<std::string, Keys, std::less<>> databases_ GUARDED_BY(mu_);
  // Versions come from one counter, so a key unwatched by all and watched
  // again never repeats a version a WatchSet may still hold.
  uint64_t last_version_ GUARDED_BY(mu_) = 0;
  std::atomic<size_t> watched_keys_{0};
};

// The keys one connection watches, with the version each had when watched.
// Unregisters them when cleared or destroyed (UNWATCH, EXEC, DISCARD, the
// connection closing).
class WatchSet {
 public:
  WatchSet() = default;
  WatchSet(WatchSet&& other) noexcept { *this = std::move(other); }
  WatchSet& operator=(WatchSet&& other) noexcept;
  ~WatchSet() { Clear(); }

  // Registers (database, key) unless this set already watches it; `now_ms`
  // (Unix ms) is when, for ExpiredSinceWatched.
  void Watch(WatchRegistry* registry, std::string_view database, std::string_view key, int64_t now_ms);
  bool Contains(std::string_view database, std::string_view key) const;
  // Takes over `other`'s keys (registered with the same registry); a key
  // both watch keeps this set's (earlier) version.
  void Merge(WatchSet&& other);
  // Whether a watched key was modified since it was watched.
  bool Changed() const;
  void Clear();

  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  // Bytes of database names and keys held (for the transaction limits).
  size_t bytes() const { return bytes_; }
  // Each watched key as (database, key).
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [name, w] : keys_) f(std::string_view(name.first), std::string_view(name.second));
  }
  // Each watched key as (database, key, when it was watched in Unix ms).
  template <typename F>
  void ForEachWithTime(F f) const {
    for (const auto& [name, w] : keys_) f(std::string_view(name.first), std::string_view(name.second), w.since_ms);
  }

 private:
  struct Watched {
    uint64_t version = 0;
    int64_t since_ms = 0;
  };
  WatchRegistry* registry_ = nullptr;
  std::map<std::pair<std::string, std::string>, Watched> keys_;
  size_t bytes_ = 0;
};

}  // namespace ebb

#endif  // EBB_SERVER_WATCH_REGISTRY_H_
