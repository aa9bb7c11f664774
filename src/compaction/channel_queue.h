// ChannelQueue: one smoosh channel's waiting databases, by priority.
//
// Semantics are CouchDB's smoosh_priority_queue:
//   - one entry per database; inserting it again with the same priority is a
//     no-op (it keeps its place), with a different priority it is replaced
//     (and goes behind others of its new priority);
//   - after an insert, the lowest-priority entries are evicted until the
//     queue holds at most `capacity` (the new entry can evict itself);
//   - PopTop takes the highest priority; among equal priorities the one
//     inserted later wins (CouchDB's tie-break on the later reference).
//
// Each entry also carries the reclaimable-bytes estimate of its last
// evaluation, summed for the compaction work class's pending gauge.
//
// Thread safety: none; the daemon guards it with its lock.

#ifndef EBB_COMPACTION_CHANNEL_QUEUE_H_
#define EBB_COMPACTION_CHANNEL_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace ebb {

class ChannelQueue {
 public:
  struct Item {
    std::string database;
    double priority = 0;
    // disk_bytes and live_bytes when the item was last evaluated.
    uint64_t disk_bytes = 0;
    uint64_t live_bytes = 0;
    // For read-amplification channels (priority = segments), which give
    // little space back: the share of its disk bytes the item adds to the
    // gauge, (segments - min_priority) / segments, growing as segments pile
    // up past the channel's threshold. 0 for the other channels.
    double read_amp_share = 0;
    uint64_t reclaimable_bytes() const { return disk_bytes > live_bytes ? disk_bytes - live_bytes : 0; }
    // What the item adds to the pending-work gauge: its reclaimable bytes
    // (or its read-amplification share, see above), at least 1 so that
    // waiting work is never invisible.
    uint64_t gauge_bytes() const {
      uint64_t b = read_amp_share > 0 ? static_cast<uint64_t>(static_cast<double>(disk_bytes) * read_amp_share)
                                      : reclaimable_bytes();
      return b > 0 ? b : 1;
    }
  };

  enum class InsertResult {
    kInserted,   // new entry, kept
    kUpdated,    // existing entry, priority changed
    kUnchanged,  // existing entry with the same priority: no-op
    kEvicted,    // the new or updated entry was itself evicted by capacity
  };

  // Inserts or updates `item`, then evicts down to `capacity` (>= 1).
  // Databases evicted (other than `item` itself) are appended to `evicted`
  // when it is non-null.
  InsertResult Insert(Item item, size_t capacity, std::vector<std::string>* evicted = nullptr);

  // Evicts lowest-priority entries until at most `capacity` remain.
  void Truncate(size_t capacity, std::vector<std::string>* evicted = nullptr);

  // The entry PopTop would return, without removing it.
  const Item* Top() const;
  std::optional<Item> PopTop();

  bool Remove(std::string_view database);
  bool Contains(std::string_view database) const;
  const Item* Find(std::string_view database) const;

  size_t size() const { return by_name_.size(); }
  bool empty() const { return by_name_.empty(); }
  // Lowest and highest priority waiting; nullopt when empty.
  std::optional<double> min_priority() const;
  std::optional<double> max_priority() const;
  uint64_t reclaimable_bytes() const { return reclaimable_bytes_; }
  // Sum of gauge_bytes() over the entries.
  uint64_t gauge_bytes() const { return gauge_bytes_; }

  // Every entry, highest priority first (PopTop order).
  std::vector<Item> ItemsInPopOrder() const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // (priority, insertion sequence, database): the set's last element is the top.
  using OrderKey = std::tuple<double, uint64_t, std::string>;
  struct Entry {
    Item item;
    uint64_t seq = 0;
  };

  void Erase(std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>::iterator it);

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_name_;
  std::set<OrderKey> order_;
  uint64_t next_seq_ = 0;
  uint64_t reclaimable_bytes_ = 0;
  uint64_t gauge_bytes_ = 0;
};

}  // namespace ebb

#endif  // EBB_COMPACTION_CHANNEL_QUEUE_H_
