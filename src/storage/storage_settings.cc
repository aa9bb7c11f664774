#include "storage/storage_settings.h"

#include "base/status_macros.h"

namespace ebb {

void RegisterStorageSettings(ConfigSchema* schema) {
  schema->Add({.section = "store", .key = "memtable_bytes", .type = SettingType::kBytes, .default_value = "8MiB",
               .unit = "bytes", .runtime = false,
               .description = "A database's memtable becomes immutable and is flushed once it holds this many key and "
                              "value bytes. Larger batches more work per flush and uses more memory per busy database.",
               .min = 4096, .max = 1024.0 * 1024 * 1024});
  schema->Add({.section = "store", .key = "max_immutable_memtables", .type = SettingType::kInt,
               .default_value = "16", .unit = "count", .runtime = false,
               .description = "Writers to a database wait (the hard memory bound) once this many full memtables are "
                              "waiting to be flushed. Kept above the write throttle's range (twice "
                              "work.writeback.band_high_bytes) so throttling, not waiting, is the normal brake.",
               .min = 1, .max = 64});
  schema->Add({.section = "store", .key = "max_key_bytes", .type = SettingType::kBytes, .default_value = "64KiB",
               .unit = "bytes", .runtime = false,
               .description = "Largest key accepted; larger keys are rejected with InvalidArgument.",
               .min = 1, .max = 1024.0 * 1024});
  schema->Add({.section = "store", .key = "max_value_bytes", .type = SettingType::kBytes, .default_value = "16MiB",
               .unit = "bytes", .runtime = false,
               .description = "Largest value accepted; larger values are rejected with InvalidArgument.",
               .min = 0, .max = 256.0 * 1024 * 1024});
  schema->Add({.section = "store", .key = "block_bytes", .type = SettingType::kBytes, .default_value = "4KiB",
               .unit = "bytes", .runtime = false,
               .description = "Target size of a segment data block: the unit read from disk per lookup.",
               .min = 512, .max = 1024.0 * 1024});
  schema->Add({.section = "store", .key = "bloom_bits_per_key", .type = SettingType::kInt, .default_value = "10",
               .unit = "bits", .runtime = false,
               .description = "Bloom filter size per key in segments and in the immutable memtables writeback "
                              "leaves in memory; 10 gives about 1% false positives.",
               .min = 1, .max = 32});
  schema->Add({.section = "store", .key = "compression", .type = SettingType::kEnum, .default_value = "none",
               .runtime = false,
               .description = "Compression of segment data blocks. zstd trades CPU on every read and write for disk "
                              "space.",
               .choices = {"none", "zstd"}});
  schema->Add({.section = "store", .key = "segment_target_bytes", .type = SettingType::kBytes,
               .default_value = "64MiB", .unit = "bytes", .runtime = false,
               .description = "Compaction splits its output into segments of about this size.",
               .min = 64.0 * 1024});
  schema->Add({.section = "store", .key = "max_open_segments", .type = SettingType::kInt, .default_value = "8192",
               .unit = "count", .runtime = false,
               .description = "Segment files kept open (memory-mapped, no file descriptor held) at once, each with "
                              "its index in memory; others are reopened on use. A store of many small databases "
                              "reads faster with more; up to 16384 are mapped, beyond that files are read with "
                              "pread and hold a descriptor each.",
               .min = 16});
  schema->Add({.section = "journal", .key = "sync", .type = SettingType::kEnum, .default_value = "batch",
               .runtime = false,
               .description = "When a write is acknowledged. always: after fdatasync of its group commit. batch: "
                              "once in the page cache (see mmap_writes), with fdatasync at most sync_interval_ms "
                              "later (like Redis appendfsync everysec). none: once in the page cache; synced only on "
                              "rotation and close.",
               .choices = {"always", "batch", "none"}});
  schema->Add({.section = "journal", .key = "sync_interval_ms", .type = SettingType::kInt, .default_value = "100",
               .unit = "ms", .runtime = false,
               .description = "In batch mode, the longest an acknowledged write stays unsynced (the data a power loss "
                              "can take). Nothing is synced, and nothing wakes, while no write is pending.",
               .min = 1, .max = 60000});
  schema->Add({.section = "journal", .key = "mmap_writes", .type = SettingType::kBool, .default_value = "true",
               .runtime = false,
               .description = "true: group commits are copied into a shared memory mapping of the journal file, with "
                              "disk space reserved in 1 MiB chunks by fallocate; no system call per write, and, as with "
                              "write(2), an acknowledged write survives a process crash. false: one write(2) per group "
                              "commit, for file systems that cannot map files for writing. Syncing is the same."});
  schema->Add({.section = "journal", .key = "segment_bytes", .type = SettingType::kBytes, .default_value = "64MiB",
               .unit = "bytes", .runtime = false,
               .description = "Journal files rotate at this size; reclaim deletes whole files.",
               .min = 64.0 * 1024});
  schema->Add({.section = "write", .key = "completion", .type = SettingType::kEnum, .default_value = "op_lock",
               .runtime = false,
               .description = "op_lock: a write takes the database lock only to be submitted; it is acknowledged "
                              "once journaled and in the memtable, and its visibility is published in submission "
                              "order under the in-flight queue's own lock, never the database lock. db_lock: the "
                              "classic design that holds the database lock from submit to acknowledgement, kept for "
                              "comparison benchmarks.",
               .choices = {"op_lock", "db_lock"}});
}

Result<StorageOptions> StorageOptionsFromConfig(const Config& config, std::string data_dir, bool create_if_missing) {
  StorageOptions o;
  o.data_dir = std::move(data_dir);
  o.create_if_missing = create_if_missing;
  o.memtable_bytes = static_cast<uint64_t>(config.GetInt("store", "memtable_bytes"));
  o.max_immutable_memtables = static_cast<int>(config.GetInt("store", "max_immutable_memtables"));
  o.max_key_bytes = static_cast<size_t>(config.GetInt("store", "max_key_bytes"));
  o.max_value_bytes = static_cast<size_t>(config.GetInt("store", "max_value_bytes"));
  o.segment.block_bytes = static_cast<size_t>(config.GetInt("store", "block_bytes"));
  o.segment.bloom_bits_per_key = static_cast<int>(config.GetInt("store", "bloom_bits_per_key"));
  o.segment.zstd = config.GetString("store", "compression") == "zstd";
  o.segment_target_bytes = static_cast<uint64_t>(config.GetInt("store", "segment_target_bytes"));
  o.max_open_segments = static_cast<size_t>(config.GetInt("store", "max_open_segments"));
  EBB_ASSIGN_OR_RETURN(o.journal.sync, ParseSyncMode(config.GetString("journal", "sync")));
  o.journal.sync_interval_ms = config.GetInt("journal", "sync_interval_ms");
  o.journal.segment_bytes = static_cast<uint64_t>(config.GetInt("journal", "segment_bytes"));
  o.journal.mmap_writes = config.GetBool("journal", "mmap_writes");
  o.completion = config.GetString("write", "completion") == "db_lock" ? WriteCompletion::kDbLock
                                                                        : WriteCompletion::kOpLock;
  return o;
}

}  // namespace ebb
