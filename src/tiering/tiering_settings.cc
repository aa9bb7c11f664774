#include "tiering/tiering_settings.h"

#include "base/status_macros.h"
#include "env/file_system.h"
#include "env/local_object_store.h"
#include "env/s3_object_store.h"
#include "tiering/tiering_agent.h"

namespace ebb {

void RegisterTieringSettings(ConfigSchema* schema) {
  const std::string s = "tiering";
  schema->Add({.section = s, .key = "enabled", .type = SettingType::kBool, .default_value = "false", .runtime = false,
               .description = "Persist cold segments to an object store and evict local copies when the disk is "
                              "over target; frees local space at the cost of slower reads of evicted data. Turned "
                              "off on a store with evicted segments, the store recalls them from the same object "
                              "store (keep the other [tiering] settings)."});
  schema->Add({.section = s, .key = "store", .type = SettingType::kEnum, .default_value = "local", .runtime = false,
               .description = "Where archives go: `local` (a directory, e.g. a mounted backup disk) or `s3` "
                              "(any S3-compatible service).",
               .choices = {"local", "s3"}});
  schema->Add({.section = s, .key = "local_dir", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "Directory of the `local` store (default <data>/tier-store); on the same disk it "
                              "protects against nothing and frees nothing, so point it elsewhere."});
  schema->Add({.section = s, .key = "s3_endpoint", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "S3 endpoint URL, e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:9000."});
  schema->Add({.section = s, .key = "s3_region", .type = SettingType::kString, .default_value = "us-east-1",
               .runtime = false, .description = "S3 region used in request signatures (SigV4)."});
  schema->Add({.section = s, .key = "s3_bucket", .type = SettingType::kString, .default_value = "", .runtime = false,
               .description = "S3 bucket that holds the archives; it must exist."});
  schema->Add({.section = s, .key = "s3_prefix", .type = SettingType::kString, .default_value = "ebb/",
               .runtime = false,
               .description = "Key prefix inside the bucket, so several stores can share one bucket."});
  schema->Add({.section = s, .key = "s3_path_style", .type = SettingType::kBool, .default_value = "true",
               .runtime = false,
               .description = "Path-style URLs (host/bucket/key, needed by most local S3 services) instead of "
                              "virtual-hosted ones (bucket.host/key)."});
  schema->Add({.section = s, .key = "s3_access_key", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "S3 access key id. Empty (better: keeps credentials out of the file): "
                              "AWS_ACCESS_KEY_ID, else s3_credentials_file.",
               .secret = true});
  schema->Add({.section = s, .key = "s3_secret_key", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "S3 secret key. Empty: AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else "
                              "s3_credentials_file.",
               .secret = true});
  schema->Add({.section = s, .key = "s3_credentials_file", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "AWS shared credentials file (INI: [profile] with aws_access_key_id, "
                              "aws_secret_access_key, optional aws_session_token), used when neither the settings "
                              "nor the AWS_* variables give the keys. Empty: AWS_SHARED_CREDENTIALS_FILE, else "
                              "~/.aws/credentials if it exists."});
  schema->Add({.section = s, .key = "s3_profile", .type = SettingType::kString, .default_value = "",
               .runtime = false,
               .description = "Profile of the credentials file to use. Empty: AWS_PROFILE, else `default`."});
  schema->Add({.section = s, .key = "key_file", .type = SettingType::kString, .default_value = "", .runtime = false,
               .description = "Archive encryption key file (default <data>/tier/archive.key, created 0600 on first "
                              "use); without it no archive can be read, so back it up separately."});
  schema->Add({.section = s, .key = "local_target_bytes", .type = SettingType::kBytes, .default_value = "infinity",
               .unit = "bytes", .runtime = true,
               .description = "Local segment bytes (counting unflushed memtables) above which cold segments are evicted; lower keeps the disk "
                              "emptier but sends more reads to the object store.",
               .min = 0});
  schema->Add({.section = s, .key = "throttle_writes", .type = SettingType::kBool, .default_value = "true",
               .runtime = true,
               .description = "Slow foreground writes as local segment bytes plus unflushed bytes approach "
                              "local_target_bytes + work.tiering.band_high_bytes (the pause starts halfway there, or at "
                              "band_low_bytes over the target if that is more), "
                              "so the disk stays bounded when writes outrun the object store; false lets local bytes "
                              "grow past the target instead."});
  schema->Add({.section = s, .key = "min_age_s", .type = SettingType::kInt, .default_value = "3600", .unit = "s",
               .runtime = true,
               .description = "Segments younger than this are not persisted; higher avoids archiving data that "
                              "compaction is about to rewrite, lower makes space reclaimable sooner.",
               .min = 0});
  schema->Add({.section = s, .key = "archive_target_bytes", .type = SettingType::kBytes, .default_value = "256MiB",
               .unit = "bytes", .runtime = true,
               .description = "Segment bytes per archive (one snapshot); bigger means fewer objects and requests, "
                              "smaller means less staging space and finer-grained progress.",
               .min = 1 << 20});
  schema->Add({.section = s, .key = "cache_bytes", .type = SettingType::kBytes, .default_value = "1GiB",
               .unit = "bytes", .runtime = true,
               .description = "Local cache of fetched evicted segments; bigger serves repeated cold reads locally "
                              "but uses disk that eviction was meant to free.",
               .min = 0});
  schema->Add({.section = s, .key = "request_timeout_ms", .type = SettingType::kInt, .default_value = "30000",
               .unit = "ms", .runtime = false,
               .description = "Deadline of one object store request (plus 1 s per MiB transferred); shorter fails "
                              "over faster, too short fails slow but healthy transfers.",
               .min = 100});
  schema->Add({.section = s, .key = "connect_timeout_ms", .type = SettingType::kInt, .default_value = "5000",
               .unit = "ms", .runtime = false, .description = "Deadline to connect to the object store.",
               .min = 100});
  schema->Add({.section = s, .key = "max_retries", .type = SettingType::kInt, .default_value = "4", .unit = "count",
               .runtime = false,
               .description = "Retries of a failed object store request (5xx, timeouts) with exponential backoff; "
                              "more rides out longer outages but delays the error.",
               .min = 0, .max = 20});
  schema->Add({.section = s, .key = "zstd_level", .type = SettingType::kInt, .default_value = "3", .unit = "",
               .runtime = true,
               .description = "zstd level of archive members; higher is smaller and slower to write.",
               .min = 1, .max = 19});
  schema->Add({.section = s, .key = "restore", .type = SettingType::kBool, .default_value = "false", .runtime = false,
               .description = "Opening an empty data directory restores the store from the bucket's latest "
                              "published snapshot first (as `ebb tier restore`); needs the archive key "
                              "(tiering.key_file). A directory that holds a store is opened as it is."});
  schema->Add({.section = s, .key = "recall", .type = SettingType::kBool, .default_value = "true", .runtime = true,
               .description = "Bring evicted segments back to local disk, hottest first, while local bytes are "
                              "under 90% of local_target_bytes and the disk has room; false leaves them remote "
                              "until `ebb tier recall`. With tiering.enabled = false every evicted segment is "
                              "recalled whatever this says."});
  schema->Add({.section = s, .key = "retain_snapshots", .type = SettingType::kInt, .default_value = "4",
               .unit = "count", .runtime = true,
               .description = "Published snapshots garbage collection keeps at least (the newest ones), with every "
                              "archive they need; more keeps older points to restore to, and more garbage.",
               .min = 1, .max = 1'000'000});
  schema->Add({.section = s, .key = "retain_s", .type = SettingType::kInt, .default_value = "86400", .unit = "s",
               .runtime = true,
               .description = "Snapshots published within this time are kept too; it also bounds how long a restore "
                              "may read an older snapshot before its archives can go, so keep it above your "
                              "restore time.",
               .min = 0});
  schema->Add({.section = s, .key = "fetch_threads", .type = SettingType::kInt, .default_value = "4", .unit = "count",
               .runtime = false,
               .description = "Threads fetching evicted segments for asynchronous reads (GetAsync, the server), so a "
                              "read thread never waits on the object store; 0 fetches on the read thread itself "
                              "(hot reads then queue behind a slow store).",
               .min = 0, .max = 256});
  schema->Add({.section = s, .key = "fetch_queue", .type = SettingType::kInt, .default_value = "256",
               .unit = "count", .runtime = false,
               .description = "Cold reads that may wait for the fetch threads; beyond it a cold read gets Busy at "
                              "once instead of an unbounded queue.",
               .min = 1});
  schema->Add({.section = s, .key = "fetch_timeout_ms", .type = SettingType::kInt, .default_value = "10000",
               .unit = "ms", .runtime = false,
               .description = "Deadline of one cold read's fetch (retries included); past it the read gets TimedOut "
                              "naming the object store.",
               .min = 10});
  schema->Add({.section = s, .key = "open_timeout_ms", .type = SettingType::kInt, .default_value = "5000",
               .unit = "ms", .runtime = false,
               .description = "How long opening the store waits for the object store; when it does not answer in "
                              "time the store opens on local data and keeps trying in the background.",
               .min = 0});
  schema->Add({.section = s, .key = "verify_full", .type = SettingType::kBool, .default_value = "false",
               .runtime = true,
               .description = "After upload, download the whole archive and check every member instead of size "
                              "and TOC only; doubles the transfer."});
}

TieringOptions TieringOptionsFromConfig(const Config& config, const std::string& data_dir) {
  TieringOptions o;
  o.enabled = config.GetBool("tiering", "enabled");
  o.tier_dir = JoinPath(data_dir, "tier");
  o.key_file = config.GetString("tiering", "key_file");
  if (o.key_file.empty()) o.key_file = JoinPath(o.tier_dir, "archive.key");
  o.local_target_bytes = static_cast<uint64_t>(config.GetInt("tiering", "local_target_bytes"));
  o.min_age_s = config.GetInt("tiering", "min_age_s");
  o.archive_target_bytes = static_cast<uint64_t>(config.GetInt("tiering", "archive_target_bytes"));
  o.cache_bytes = static_cast<uint64_t>(config.GetInt("tiering", "cache_bytes"));
  o.zstd_level = static_cast<int>(config.GetInt("tiering", "zstd_level"));
  o.verify_full = config.GetBool("tiering", "verify_full");
  o.recall = config.GetBool("tiering", "recall");
  o.retain_snapshots = static_cast<size_t>(config.GetInt("tiering", "retain_snapshots"));
  o.retain_s = config.GetInt("tiering", "retain_s");
  o.open_timeout_ms = config.GetInt("tiering", "open_timeout_ms");
  return o;
}

Result<std::unique_ptr<ObjectStore>> OpenTierObjectStore(const Config& config, FileSystem* fs,
                                                         const std::string& data_dir) {
  if (config.GetString("tiering", "store") == "local") {
    std::string dir = config.GetString("tiering", "local_dir");
    if (dir.empty()) dir = JoinPath(data_dir, "tier-store");
    EBB_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Open(fs, dir));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  S3Options o;
  o.endpoint = config.GetString("tiering", "s3_endpoint");
  o.region = config.GetString("tiering", "s3_region");
  o.bucket = config.GetString("tiering", "s3_bucket");
  o.prefix = config.GetString("tiering", "s3_prefix");
  o.path_style = config.GetBool("tiering", "s3_path_style");
  o.access_key = config.GetString("tiering", "s3_access_key");
  o.secret_key = config.GetString("tiering", "s3_secret_key");
  o.credentials_file = config.GetString("tiering", "s3_credentials_file");
  o.profile = config.GetString("tiering", "s3_profile");
  o.request_timeout_ms = config.GetInt("tiering", "request_timeout_ms");
  o.connect_timeout_ms = config.GetInt("tiering", "connect_timeout_ms");
  o.max_retries = static_cast<int>(config.GetInt("tiering", "max_retries"));
  EBB_ASSIGN_OR_RETURN(auto store, S3ObjectStore::Open(std::move(o)));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace ebb
