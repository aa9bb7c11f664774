// Copyright Ebb authors. Public API.
//
// Store: a data directory holding many named databases that share one
// journal and one background runtime. Holding thousands of databases open is
// cheap: an idle database costs a few hundred bytes and no file handles.
//
//   ebb::Options options;
//   options.data_dir = "/var/lib/myapp";
//   auto store = ebb::Store::Open(options);          // Result<unique_ptr<Store>>
//   auto db = (*store)->OpenDatabase("users");       // Result<shared_ptr<Database>>
//   (*db)->Put("alice", "{...}");
//
// One process at a time may open a data directory; a second gets Locked
// naming the holder's pid.
//
// Thread safety: all methods are thread-safe.

#ifndef EBB_STORE_H_
#define EBB_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/database.h"
#include "ebb/export.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/store_status.h"

namespace ebb {

class EBB_EXPORT Store {
 public:
  // Opens (creating if allowed) the store in options.data_dir, replays the
  // journal and starts background work. Errors name the file and offset of
  // any corruption found.
  static Result<std::unique_ptr<Store>> Open(const Options& options);

  // Closes the store (see Close) if not closed yet.
  virtual ~Store() = default;

  // Database names: 1 to 128 bytes of letters, digits, '_', '-' and '.',
  // not starting with '.'.
  // Returns the database, creating it if missing and create_if_missing.
  virtual Result<std::shared_ptr<Database>> OpenDatabase(std::string_view name, bool create_if_missing = true) = 0;
  // Removes a database and its files. Open handles start failing with NotFound.
  virtual Status DropDatabase(std::string_view name) = 0;
  // Names of all databases, sorted.
  virtual std::vector<std::string> ListDatabases() = 0;

  // Everything an operator needs at a glance (see store_status.h).
  virtual StoreStatus GetStatus() = 0;

  // Changes a setting at run time (docs/configuration.md lists which can).
  // The subsystem that owns the setting checks the configuration as it
  // would be first; InvalidArgument, and nothing changed, if it refuses.
  virtual Status SetConfig(std::string_view section, std::string_view key, std::string_view value) = 0;
  // Changes several settings as one: every pair is checked first, then all
  // are applied, or none (the first error is returned).
  struct ConfigChange {
    std::string section;
    std::string key;
    std::string value;
  };
  virtual Status SetConfig(const std::vector<ConfigChange>& changes) = 0;
  // A setting's effective value. Secrets (passwords, tokens, credentials;
  // docs/configuration.md marks them) are write-only: they read as "(set)"
  // when set and "" when not.
  virtual Result<std::string> GetConfig(std::string_view section, std::string_view key) = 0;
  // Every setting's effective value, secrets shown as by GetConfig.
  virtual std::vector<ConfigValue> ListConfig() = 0;

  // Makes the journal sync a WriteOptions::caller_syncs write left to its
  // caller, if one is owed (OK at once otherwise). Returns the sync's error.
  virtual Status SyncOwedJournal() = 0;

  // Stops background work, completes or aborts in-flight writes (every caller
  // gets a result), syncs the journal and releases the directory lock.
  // Further calls on the store or its databases fail with Aborted.
  virtual Status Close() = 0;
};

}  // namespace ebb

#endif  // EBB_STORE_H_
