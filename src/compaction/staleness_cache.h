// StalenessCache: when each database was last evaluated by smoosh, so that a
// change notification within `staleness` of the last evaluation costs one
// hash lookup instead of a priority computation (CouchDB's smoosh_access
// table). Ebb records rejected databases too: a database no channel accepts
// is the common case, and re-evaluating it on every write is the cost the
// cache exists to avoid.
//
// Bounded: at most max_entries names; the oldest evaluation is forgotten
// first. Expired entries are dropped lazily by Expire (no cleaner timer).
//
// Thread safety: none, except generation(); the daemon guards it with its
// lock.

#ifndef EBB_COMPACTION_STALENESS_CACHE_H_
#define EBB_COMPACTION_STALENESS_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ebb {

class StalenessCache {
 public:
  explicit StalenessCache(size_t max_entries) : max_entries_(max_entries < 1 ? 1 : max_entries) {}

  // True if `database` was recorded less than `staleness_micros` before now.
  bool IsFresh(std::string_view database, int64_t now_micros, int64_t staleness_micros) const;
  // When `database` stops being fresh (its record time plus staleness), or
  // 0 if it has no record.
  int64_t FreshUntil(std::string_view database, int64_t staleness_micros) const;
  // Records an evaluation at `now_micros` (replacing an older one).
  void Record(std::string_view database, int64_t now_micros);
  void Erase(std::string_view database);
  // Forgets entries recorded at or before now - staleness (they are no
  // longer fresh). Amortised O(1) per recorded entry.
  void Expire(int64_t now_micros, int64_t staleness_micros);
  void SetMaxEntries(size_t max_entries);

  size_t size() const { return index_.size(); }
  // Changes whenever a record is dropped before it expires (Erase, the size
  // bound) or Invalidate is called: a FreshUntil read under an older
  // generation may no longer hold. Readable without the owner's lock.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void Invalidate() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  size_t max_entries() const { return max_entries_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using List = std::list<std::pair<std::string, int64_t>>;

  void EvictToLimit();

  size_t max_entries_;
  std::atomic<uint64_t> generation_{0};
  // Oldest record first; record times are non-decreasing along the list
  // because Record moves an entry to the back.
  List by_age_;
  std::unordered_map<std::string, List::iterator, StringHash, std::equal_to<>> index_;
};

}  // namespace ebb

#endif  // EBB_COMPACTION_STALENESS_CACHE_H_
