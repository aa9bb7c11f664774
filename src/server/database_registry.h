// DatabaseRegistry: the server's handles to the store's databases, looked up
// by name for every command (SELECT only changes the name a connection
// uses). Reads of a database that does not exist see an empty one; the
// first write creates it. FLUSHDB drops the database; commands that were in
// flight on the old handle see it as empty (reads) or retry on the new one
// (writes).
//
// Lookups are called from I/O threads, so nothing slow happens under the
// registry's lock: the drop itself runs outside it. A handle looked up while
// a FLUSHDB ran is used once and not cached (flush_epoch_), so a dropped
// handle never lingers.
//
// Bounded: at most kMaxCachedHandles handles are kept; beyond that the
// least recently used (the idlest database's) is dropped and looked up
// again on its next use. Creating databases is bounded by the store
// (store.max_databases).
// Thread safety: thread-safe.

#ifndef EBB_SERVER_DATABASE_REGISTRY_H_
#define EBB_SERVER_DATABASE_REGISTRY_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "ebb/store.h"

namespace ebb {

class DatabaseRegistry {
 public:
  static constexpr size_t kMaxCachedHandles = 1024;

  explicit DatabaseRegistry(Store* store, size_t max_cached = kMaxCachedHandles)
      : store_(store), max_cached_(max_cached) {}

  // The database, or nullptr if it does not exist. Errors other than
  // NotFound (the store is closing) are returned.
  Result<std::shared_ptr<Database>> Find(std::string_view name);
  // The database, created if missing.
  Result<std::shared_ptr<Database>> GetOrCreate(std::string_view name);
  // The database's handle if it is cached, else nullptr: never touches the
  // store (for callers that must not wait).
  std::shared_ptr<Database> FindCached(std::string_view name);
  // Looks up (or creates) without the cache; caches the result unless a
  // flush began meanwhile.
  // Forgets a handle that reported its database dropped, unless the entry
  // has already been replaced.
  void Forget(std::string_view name, const Database* handle);
  // Removes every key: drops the database (it is created again by the next
  // write). OK if it did not exist. Blocks for the drop: call it from the
  // admin executor.
  Status Flush(std::string_view name);

  // Handles cached now (at most max_cached).
  size_t cached() const;

 private:
  struct Entry {
    std::shared_ptr<Database> db;
    std::list<std::string>::iterator use;  // position in uses_
  };
  using Map = std::map<std::string, Entry, std::less<>>;
  Result<std::shared_ptr<Database>> Lookup(std::string_view name, bool create);
  void EraseLocked(Map::iterator it) REQUIRES(mu_);

  Store* const store_;
  const size_t max_cached_;
  mutable Mutex mu_;
  Map databases_ GUARDED_BY(mu_);
  // Names, most recently used first.
  std::list<std::string> uses_ GUARDED_BY(mu_);
  // Bumped when a flush starts and when it ends.
  uint64_t flush_epoch_ GUARDED_BY(mu_) = 0;
};

// Whether `name` is a valid database name for SELECT (the store's rule:
// 1 to 128 letters, digits, '_', '-' and '.', not starting with '.').
bool IsValidDatabaseName(std::string_view name);

}  // namespace ebb

#endif  // EBB_SERVER_DATABASE_REGISTRY_H_
