// Copyright Ebb authors. Public API.
//
// StoreStatus: the at-a-glance view of a store returned by
// Store::GetStatus(), served as JSON by the admin HTTP `/status` and printed
// by `ebb status`. Field names here are the JSON names.

#ifndef EBB_STORE_STATUS_H_
#define EBB_STORE_STATUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ebb/database.h"
#include "ebb/read_pool_status.h"
#include "ebb/smoosh_status.h"
#include "ebb/work_status.h"

namespace ebb {

struct ConfigValue {
  std::string section;
  std::string key;
  std::string value;
  bool runtime = false;  // can change without restart
};

struct JournalStatus {
  std::string sync_mode;
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t records_written = 0;
  uint64_t batches_written = 0;  // group commits
  uint64_t syncs = 0;
  uint64_t bytes_written = 0;
};

struct StoreStatus {
  std::string data_dir;
  int64_t uptime_s = 0;
  // Empty when healthy; else the sticky background error that made the
  // store read-only.
  std::string background_error;
  JournalStatus journal;
  std::vector<DatabaseStats> databases;
  ReadPoolStatus read_pool;
  // Background work classes (foreground first) and the scheduler.
  BackgroundSchedulerStatus work;
  // The compaction daemon's channels.
  SmooshStatus compaction;
};

}  // namespace ebb

#endif  // EBB_STORE_STATUS_H_
