// Storage options, resolved from the configuration by the engine
// (docs/configuration.md, sections [store], [journal], [write]).

#ifndef EBB_STORAGE_STORAGE_OPTIONS_H_
#define EBB_STORAGE_STORAGE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "storage/journal.h"
#include "storage/segment.h"

namespace ebb {

// How a write is completed (docs/ARCHITECTURE.md, "A write").
enum class WriteCompletion {
  // Acknowledge under the write's own lock; metadata completed in order
  // afterwards, taking the database lock once per batch.
  kOpLock,
  // Baseline: hold the database lock across commit, apply and completion.
  kDbLock,
};

struct StorageOptions {
  std::string data_dir;
  bool create_if_missing = true;
  JournalOptions journal;
  WriteCompletion completion = WriteCompletion::kOpLock;
  // A database switches to a new memtable once this many key+value bytes are in it.
  uint64_t memtable_bytes = 8 << 20;
  // Writers wait once this many full memtables await flushing (memory bound).
  int max_immutable_memtables = 16;
  size_t max_key_bytes = 64 << 10;
  size_t max_value_bytes = 16 << 20;
  SegmentOptions segment;
  // Compaction output is split into segments of about this size.
  uint64_t segment_target_bytes = 64 << 20;
  size_t max_open_segments = 8192;
  uint64_t manifest_checkpoint_bytes = 4 << 20;
  // At most this many older segments are probed per flushed key when
  // estimating shadowed bytes (bounds flush cost on databases with many segments).
  int max_dead_probe_segments = 32;
  // Remember dropped databases in the manifest until the tiering agent has
  // archived their tombstones (on when tiering is enabled).
  bool remember_dropped_databases = false;
};

}  // namespace ebb

#endif  // EBB_STORAGE_STORAGE_OPTIONS_H_
