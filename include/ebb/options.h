// Copyright Ebb authors. Public API.
//
// Options for opening a store, reading and writing. Every tunable lives in
// the configuration (docs/configuration.md); Options only says where the data
// and the configuration file are, plus overrides in "section.key" form.

#ifndef EBB_OPTIONS_H_
#define EBB_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ebb {

class Snapshot;

struct Options {
  // Directory holding the store; created if missing and create_if_missing.
  std::string data_dir = "./ebb-data";
  // Optional TOML configuration file; empty means embedded defaults.
  std::string config_file;
  // Overrides applied after the file, in order: {"journal.sync", "none"}.
  std::vector<std::pair<std::string, std::string>> config;
  // Create the data directory and an empty store if none exists.
  bool create_if_missing = true;

  Options& Set(std::string dotted_key, std::string value) {
    config.emplace_back(std::move(dotted_key), std::move(value));
    return *this;
  }
};

struct ReadOptions {
  // Read as of this snapshot (from Database::GetSnapshot); nullptr reads the
  // latest acknowledged state.
  std::shared_ptr<const Snapshot> snapshot;
  // Iterators stop before this key (exclusive) when non-empty.
  std::string upper_bound;
  // Point reads (Get, GetWithExpiry) judge expiry as of this wall-clock
  // time (Unix ms) instead of now: whether a value that has expired by now
  // was still alive then (a server's WATCH). 0: now.
  int64_t expiry_as_of_ms = 0;
};

struct WriteOptions {
  // Force this write to be synced to disk before it is acknowledged, whatever
  // journal.sync says.
  bool sync = false;
  // journal.sync = batch, for a caller that answers and then has nothing to
  // do (a server's I/O thread): when this write would wake the journal's
  // syncer to sync at once (the first unsynced write since a sync older
  // than sync_interval_ms), the syncer is left asleep and the sync is owed
  // to the caller, who must call Store::SyncOwedJournal() promptly after
  // answering. One thread makes the write and its sync: under a trickle
  // that spares the syncer's wakeup. Ignored in the other modes.
  bool caller_syncs = false;
  // Instead of waiting for room (the memtable limit), pausing under
  // writeback's backpressure or waiting for a sync (this write's `sync`, or
  // journal.sync = always), fail at once with Busy and write nothing, so
  // the caller can retry where waiting is harmless.
  bool no_slowdown = false;
};

// Read priorities of the ReadPool: high for latency-critical and admin work,
// low for scans and batch jobs.
enum class Priority { kHigh, kNormal, kLow };

}  // namespace ebb

#endif  // EBB_OPTIONS_H_
