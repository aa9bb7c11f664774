// ebb-bench tiering: a data set ten times the local target is
// written with tiering on; cold segments are archived (zstd, AEAD, pax tar)
// to an object store and evicted locally. Reports, per object store,
//   - local segment bytes over time and their maximum against
//     tiering.local_target_bytes (the bound is target + 10%);
//   - cold-read latency: point reads that had to fetch an archive member
//     (a range read, decrypt, decompress), p50 and p99;
//   - the archive compression ratio (segment bytes / archive bytes);
//   - the time to rebuild the tier index from the archives alone, per 1,000
//     archives;
//   - an object-store outage (S3 stores: the store reopened with its
//     endpoint pointing at a closed port): the time to open degraded, hot
//     (local) read p50/p99 during the outage against before it, and how
//     fast a read of evicted data fails;
//   - garbage collection after half of one database is overwritten and the
//     other database dropped: garbage before, bytes reclaimed, garbage left;
//   - recall of every evicted segment (bytes, seconds);
//   - restore of the whole store from the bucket into an empty directory
//     (seconds per GB), every key read back and compared.
// Object stores: `local` (a directory) and `s3` (the S3 protocol: an
// s3rver process started on 127.0.0.1 by the bench, as the tests do, or the
// service EBB_TEST_S3_ENDPOINT names, e.g. under tests/s3/ceph_rgw.sh run).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "base/config.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "bench/bench.h"
#include "bench/svg_plot.h"
#include "ebb/ebb.h"
#include "engine/admin.h"
#include "engine/engine_settings.h"
#include "engine/restore.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/s3_test_server.h"
#include "tiering/archive_key.h"
#include "tiering/tier_index.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_agent.h"
#include "tiering/tiering_settings.h"

#ifndef EBB_SOURCE_DIR
#define EBB_SOURCE_DIR "."
#endif

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr char kDefaultTarget[] = "16MiB";
constexpr int kDataSetTimesTarget = 10;
constexpr int kColdReadsWanted = 400;
constexpr int kMaxReads = 20'000;
constexpr int kRebuildRuns = 3;
constexpr auto kSettleTimeout = std::chrono::minutes(10);

struct LocalSample {
  double seconds;
  uint64_t local_bytes;
  uint64_t remote_bytes;
};

double Seconds(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

// Samples local and remote bytes every 20 ms until stopped.
class LocalBytesSampler {
 public:
  LocalBytesSampler(Store* store, SteadyClock::time_point start) : store_(store), start_(start) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LocalBytesSampler() { Stop(); }
  void Stop() {
    {
      MutexLock lock(&mu_);
      stop_ = true;
      cv_.SignalAll();
    }
    if (thread_.joinable()) thread_.join();
  }
  std::vector<LocalSample> samples() {
    MutexLock lock(&mu_);
    return samples_;
  }

 private:
  void Run() {
    MutexLock lock(&mu_);
    while (!stop_) {
      TieringStatus st;
      {
        MutexUnlock unlock(&mu_);
        st = store_->GetStatus().tiering;
      }
      samples_.push_back({Seconds(start_), st.bytes_local, st.bytes_remote});
      cv_.WaitFor(std::chrono::milliseconds(20));
    }
  }

  Store* const store_;
  const SteadyClock::time_point start_;
  Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<LocalSample> samples_ GUARDED_BY(mu_);
  std::thread thread_;
};

// Waits until every work class sleeps with nothing pending.
Status WaitForQuiescence(Store* store) {
  auto deadline = SteadyClock::now() + kSettleTimeout;
  while (SteadyClock::now() < deadline) {
    StoreStatus st = store->GetStatus();
    bool quiet = !st.work.armed_deadline_micros.has_value() && st.tiering.snapshots_in_flight == 0;
    for (const auto& c : st.work.classes) quiet = quiet && c.state == "asleep" && c.pending_bytes == 0;
    if (quiet) return Status::OK();
    if (!st.tiering.last_error.empty() && st.tiering.errors > 100) {
      return Status::IOError(fmt::format("tiering keeps failing: {}", st.tiering.last_error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::TimedOut("background work did not settle within 10 minutes");
}

struct TieringRun {
  nlohmann::json result;
  std::vector<LocalSample> samples;
};

uint64_t Micros(SteadyClock::time_point since) {
  return static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - since).count());
}

// The value key `k` holds at `version` (0: first written, 1: overwritten):
// derived from the key, so any later phase can check what it reads.
std::string_view ValueOf(const BenchContext& ctx, uint64_t k, uint64_t version) {
  Random r(ctx.flags().seed ^ (k * 0x9e3779b97f4a7c15ULL) ^ (version << 63));
  return ctx.Value(&r);
}

// An endpoint on 127.0.0.1 where nothing listens: a port the kernel just
// handed out and that was closed again, so connecting is refused.
Result<std::string> ClosedEndpoint() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port < 0) return Status::IOError("no free port on 127.0.0.1 for the outage endpoint");
  return fmt::format("http://127.0.0.1:{}", port);
}

// How the bench's stores reach their object store: a directory, or the S3
// service of `s3` under its own key prefix.
class StoreSetup {
 public:
  StoreSetup(BenchContext* ctx, std::string dir, const std::string& kind, testing::S3TestServer* s3)
      : ctx_(ctx), dir_(std::move(dir)), kind_(kind), s3_(s3) {
    if (s3_ != nullptr) {
      prefix_ = s3_->Prefix(
          fmt::format("bench-{}/", std::chrono::system_clock::now().time_since_epoch().count()));
    }
  }

  const std::string& dir() const { return dir_; }
  bool s3() const { return s3_ != nullptr; }
  std::string data_dir() const { return dir_ + "/data"; }

  // Options of a store in `data_dir`; `endpoint` replaces the S3 service's
  // (the outage), `key_file` the data directory's own key file, and
  // `local_target` tiering.local_target_bytes.
  Options Make(const std::string& data_dir, const std::string& endpoint = "", const std::string& key_file = "",
               const std::string& local_target = kDefaultTarget) const {
    Options o;
    o.data_dir = data_dir;
    o.Set("journal.sync", ctx_->flags().sync);
    o.Set("store.memtable_bytes", "1MiB");
    o.Set("tiering.enabled", "true");
    o.Set("tiering.local_target_bytes", local_target);
    o.Set("tiering.min_age_s", "0");
    o.Set("tiering.archive_target_bytes", "2MiB");
    o.Set("tiering.cache_bytes", "4MiB");
    // Garbage collection may delete what the newest snapshot does not need
    // at once, so the bench sees it within the run.
    o.Set("tiering.retain_snapshots", "1");
    o.Set("tiering.retain_s", "0");
    if (!key_file.empty()) o.Set("tiering.key_file", key_file);
    if (s3_ == nullptr) {
      o.Set("tiering.local_dir", dir_ + "/objects");
    } else {
      o.Set("tiering.store", "s3");
      o.Set("tiering.s3_endpoint", endpoint.empty() ? s3_->endpoint() : endpoint);
      o.Set("tiering.s3_bucket", s3_->bucket());
      o.Set("tiering.s3_prefix", prefix_);
      o.Set("tiering.s3_access_key", s3_->access_key());
      o.Set("tiering.s3_secret_key", s3_->secret_key());
    }
    for (const auto& kv : ctx_->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
    return o;
  }

 private:
  BenchContext* const ctx_;
  const std::string dir_;
  const std::string kind_;
  testing::S3TestServer* const s3_;
  std::string prefix_;
};

// The data set: `entries` keys spread over `databases` databases (key k in
// database k % databases). After the garbage phase, half of database 0's
// keys hold version 1 and the last database is dropped.
struct DataSet {
  uint64_t entries = 0;
  int databases = 0;
  bool overwritten = false;
  bool last_dropped = false;

  static std::string Name(int d) { return fmt::format("db{:04}", d); }
  int DatabaseOf(uint64_t k) const { return static_cast<int>(k % static_cast<uint64_t>(databases)); }
  bool Overwrites(uint64_t k) const { return DatabaseOf(k) == 0 && (k / databases) % 2 == 0; }
  uint64_t VersionOf(uint64_t k) const { return overwritten && Overwrites(k) ? 1 : 0; }
  bool Dropped(uint64_t k) const { return last_dropped && databases > 1 && DatabaseOf(k) == databases - 1; }
};

Result<std::vector<std::shared_ptr<Database>>> OpenDatabases(Store* store, const DataSet& data) {
  std::vector<std::shared_ptr<Database>> dbs;
  for (int d = 0; d < data.databases; d++) {
    if (data.last_dropped && d == data.databases - 1) {
      dbs.push_back(nullptr);
      continue;
    }
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(DataSet::Name(d)));
    dbs.push_back(std::move(db));
  }
  return dbs;
}

// Reads key k and checks it holds what the data set says.
Status CheckRead(const BenchContext& ctx, const DataSet& data, uint64_t k, const Result<std::string>& v) {
  if (!v.ok()) return v.status().WithContext(fmt::format("reading key {}", k));
  if (*v != ValueOf(ctx, k, data.VersionOf(k))) {
    return Status::Corruption(fmt::format("key {} read back {} bytes that are not its version {} value", k, v->size(),
                                          data.VersionOf(k)));
  }
  return Status::OK();
}

// The store reopened with its S3 endpoint on a closed port: how long the
// open takes, hot reads served from local segments, and how evicted reads
// fail, for up to kOutageReads reads or kOutageSeconds.
Result<nlohmann::json> MeasureOutage(BenchContext* ctx, const StoreSetup& setup, const DataSet& data) {
  constexpr uint64_t kOutageReads = 5'000;
  constexpr auto kOutageTime = std::chrono::seconds(60);
  EBB_ASSIGN_OR_RETURN(std::string closed, ClosedEndpoint());
  const auto t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(setup.Make(setup.data_dir(), closed)));
  const double open_s = Seconds(t0);
  EBB_ASSIGN_OR_RETURN(auto dbs, OpenDatabases(store.get(), data));
  const TieringStatus opened = store->GetStatus().tiering;
  Histogram hot_us, failed_us;
  std::string failure;
  Random rnd(ctx->flags().seed + 17);
  const auto until = SteadyClock::now() + kOutageTime;
  while (hot_us.count() + failed_us.count() < kOutageReads && SteadyClock::now() < until) {
    uint64_t k = rnd.Uniform(data.entries);
    Database* db = dbs[data.DatabaseOf(k)].get();
    auto t = SteadyClock::now();
    auto v = db->Get(ctx->Key(k));
    uint64_t us = Micros(t);
    if (!v.ok() && v.status().IsUnavailable()) {
      failed_us.Add(us);
      if (failure.empty()) failure = v.status().ToString();
      continue;
    }
    EBB_RETURN_IF_ERROR(CheckRead(*ctx, data, k, v).WithContext("during the object-store outage"));
    hot_us.Add(us);
  }
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());
  nlohmann::json j;
  j["outage_open_seconds"] = open_s;
  j["outage_object_store"] = opened.object_store;
  j["outage_hot_reads"] = hot_us.count();
  j["outage_hot_read_p50_us"] = hot_us.Percentile(50);
  j["outage_hot_read_p99_us"] = hot_us.Percentile(99);
  j["outage_failed_reads"] = failed_us.count();
  j["outage_failed_read_p50_us"] = failed_us.Percentile(50);
  j["outage_failed_read_p99_us"] = failed_us.Percentile(99);
  j["outage_error"] = failure;
  return j;
}

// Overwrites half of database 0, drops the last database, lets background
// work settle and collects the bucket's garbage; then recalls every
// evicted segment and reads a sample back.
Result<nlohmann::json> MeasureGarbageAndRecall(BenchContext* ctx, const StoreSetup& setup, DataSet* data) {
  constexpr int kRecallReads = 2'000;
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(setup.Make(setup.data_dir())));
  EBB_ASSIGN_OR_RETURN(auto dbs, OpenDatabases(store.get(), *data));
  const TieringStatus before = store->GetStatus().tiering;
  uint64_t overwritten = 0;
  data->overwritten = true;
  for (uint64_t k = 0; k < data->entries; k++) {
    if (!data->Overwrites(k)) continue;
    EBB_RETURN_IF_ERROR(dbs[0]->Put(ctx->Key(k), ValueOf(*ctx, k, 1)));
    overwritten++;
  }
  if (data->databases > 1) {
    dbs.back().reset();
    EBB_RETURN_IF_ERROR(store->DropDatabase(DataSet::Name(data->databases - 1)));
    data->last_dropped = true;
  }
  for (auto& db : dbs) {
    if (db) EBB_RETURN_IF_ERROR(db->Flush());
  }
  EBB_RETURN_IF_ERROR(WaitForQuiescence(store.get()));
  const TieringStatus settled = store->GetStatus().tiering;
  auto t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(GcReport gc, CollectTierGarbage(store.get(), false));
  const double gc_s = Seconds(t0);
  const TieringStatus collected = store->GetStatus().tiering;

  t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(RecallReport recall, RecallEvictedSegments(store.get(), "", nullptr));
  const double recall_s = Seconds(t0);
  const uint64_t fetches = store->GetStatus().tiering.cache.fetches;
  Random rnd(ctx->flags().seed + 29);
  int checked = 0;
  while (checked < kRecallReads) {
    uint64_t k = rnd.Uniform(data->entries);
    if (data->Dropped(k)) continue;
    Database* db = dbs[data->DatabaseOf(k)].get();
    EBB_RETURN_IF_ERROR(CheckRead(*ctx, *data, k, db->Get(ctx->Key(k))).WithContext("after recall"));
    checked++;
  }
  const uint64_t fetches_after_recall = store->GetStatus().tiering.cache.fetches - fetches;
  EBB_RETURN_IF_ERROR(WaitForQuiescence(store.get()));
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());

  nlohmann::json j;
  j["gc_keys_overwritten"] = overwritten;
  j["gc_database_dropped"] = data->last_dropped;
  j["gc_garbage_bytes_before"] = settled.garbage_bytes;
  j["gc_seconds"] = gc_s;
  j["gc_archives_deleted"] = collected.gc_archives_deleted - before.gc_archives_deleted;
  j["gc_bytes_reclaimed"] = collected.gc_bytes_reclaimed - before.gc_bytes_reclaimed;
  j["gc_bytes_reclaimed_by_call"] = gc.bytes_reclaimed;
  j["gc_bytes_kept"] = gc.bytes_kept;
  j["gc_garbage_bytes_after"] = gc.garbage_bytes;
  j["evicted_dead_bytes"] = collected.evicted_dead_bytes;
  j["recall_segments"] = recall.segments;
  j["recall_bytes"] = recall.bytes;
  j["recall_seconds"] = recall_s;
  j["recall_mib_per_s"] = recall_s > 0 ? static_cast<double>(recall.bytes) / (1 << 20) / recall_s : 0.0;
  j["recall_reads_checked"] = checked;
  j["recall_reads_fetching"] = fetches_after_recall;
  return j;
}

// Restores the whole store from the bucket into an empty directory, opens
// it and reads every key back.
Result<nlohmann::json> MeasureRestore(BenchContext* ctx, const StoreSetup& setup, const DataSet& data,
                                      const Options& original) {
  auto config = NewEbbConfig();
  for (const auto& [k, v] : original.config) EBB_RETURN_IF_ERROR(config->SetDotted(k, v, false));
  TieringOptions topts = TieringOptionsFromConfig(*config, original.data_dir);
  EBB_ASSIGN_OR_RETURN(auto object_store, OpenTierObjectStore(*config, DefaultFileSystem(), original.data_dir));
  EBB_ASSIGN_OR_RETURN(auto key, KeyRing::Load(DefaultFileSystem(), topts.key_file));
  RestoreOptions ro;
  ro.to_dir = setup.dir() + "/restored";
  ro.local_bytes = UINT64_MAX;
  const auto t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(RestoreReport report, RestoreStore(DefaultFileSystem(), object_store.get(), *key, ro,
                                                          SystemClock()));
  const double restore_s = Seconds(t0);
  object_store.reset();

  // Opened with room for everything, so the agent does not evict what was
  // just restored while every key is read back.
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(setup.Make(ro.to_dir, "", topts.key_file, "64GiB")));
  std::vector<std::string> names = store->ListDatabases();
  if (data.last_dropped && std::count(names.begin(), names.end(), DataSet::Name(data.databases - 1)) != 0) {
    return Status::Corruption(fmt::format("the restored store has {}, which was dropped before the snapshot",
                                          DataSet::Name(data.databases - 1)));
  }
  EBB_ASSIGN_OR_RETURN(auto dbs, OpenDatabases(store.get(), data));
  const auto r0 = SteadyClock::now();
  uint64_t verified = 0;
  for (uint64_t k = 0; k < data.entries; k++) {
    if (data.Dropped(k)) continue;
    Database* db = dbs[data.DatabaseOf(k)].get();
    EBB_RETURN_IF_ERROR(CheckRead(*ctx, data, k, db->Get(ctx->Key(k))).WithContext("in the restored store"));
    verified++;
  }
  const double verify_s = Seconds(r0);
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());
  const double gb = static_cast<double>(report.bytes_restored) / 1e9;
  nlohmann::json j;
  j["restore_snapshot"] = report.snapshot;
  j["restore_databases"] = report.databases;
  j["restore_segments"] = report.segments;
  j["restore_bytes"] = report.bytes_restored;
  j["restore_bytes_fetched"] = report.bytes_fetched;
  j["restore_seconds"] = restore_s;
  j["restore_s_per_gb"] = gb > 0 ? restore_s / gb : 0.0;
  j["restore_keys_verified"] = verified;
  j["restore_verify_seconds"] = verify_s;
  return j;
}

Result<TieringRun> RunTiering(BenchContext* ctx, const std::string& kind, testing::S3TestServer* s3) {
  const Flags& f = ctx->flags();
  StoreSetup setup(ctx, fmt::format("{}/tiering-{}", f.data_dir, kind), kind, s3);
  std::error_code ec;
  std::filesystem::remove_all(setup.dir(), ec);
  const Options o = setup.Make(setup.data_dir());
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(o));
  const uint64_t target = store->GetStatus().tiering.local_target_bytes;
  if (target == 0 || target > (uint64_t{1} << 40)) {
    return Status::InvalidArgument(fmt::format("tiering.local_target_bytes {} is not a usable target", target));
  }
  const uint64_t entry_bytes = static_cast<uint64_t>(f.key_size + f.value_size);
  DataSet data;
  data.entries = kDataSetTimesTarget * target / entry_bytes;
  // Two databases unless --dbs says otherwise: the garbage phase drops one.
  data.databases = f.dbs_given ? f.dbs : 2;
  EBB_ASSIGN_OR_RETURN(auto dbs, OpenDatabases(store.get(), data));
  // Unique keys in random order: every segment spans the key space, so a
  // point read may have to consult every evicted segment's filter.
  std::vector<uint64_t> keys(data.entries);
  std::iota(keys.begin(), keys.end(), 0);
  Random rnd(f.seed);
  for (uint64_t i = data.entries; i > 1; i--) std::swap(keys[i - 1], keys[rnd.Uniform(i)]);

  const auto start = SteadyClock::now();
  LocalBytesSampler sampler(store.get(), start);
  Histogram write_us;
  for (uint64_t k : keys) {
    auto t0 = SteadyClock::now();
    EBB_RETURN_IF_ERROR(dbs[data.DatabaseOf(k)]->Put(ctx->Key(k), ValueOf(*ctx, k, 0)));
    write_us.Add(Micros(t0));
  }
  const double write_s = Seconds(start);
  for (auto& db : dbs) EBB_RETURN_IF_ERROR(db->Flush());
  EBB_RETURN_IF_ERROR(WaitForQuiescence(store.get()));
  const double settle_s = Seconds(start) - write_s;
  sampler.Stop();
  std::vector<LocalSample> samples = sampler.samples();
  uint64_t local_max = 0;
  for (const auto& s : samples) local_max = std::max(local_max, s.local_bytes);
  StoreStatus st = store->GetStatus();

  // Cold reads: a read is cold when the member cache fetched for it.
  Histogram cold_us, warm_us;
  int reads = 0;
  while (cold_us.count() < static_cast<uint64_t>(kColdReadsWanted) && reads < kMaxReads) {
    uint64_t k = rnd.Uniform(data.entries);
    Database* db = dbs[data.DatabaseOf(k)].get();
    uint64_t fetches_before = store->GetStatus().tiering.cache.fetches;
    auto t0 = SteadyClock::now();
    auto v = db->Get(ctx->Key(k));
    auto us = Micros(t0);
    EBB_RETURN_IF_ERROR(CheckRead(*ctx, data, k, v).WithContext("cold read"));
    (store->GetStatus().tiering.cache.fetches > fetches_before ? cold_us : warm_us).Add(us);
    reads++;
  }
  TieringStatus after_reads = store->GetStatus().tiering;
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());
  store.reset();

  // Offline, from the archives alone: compression and the index rebuild.
  auto config = NewEbbConfig();
  for (const auto& [k, v] : o.config) EBB_RETURN_IF_ERROR(config->SetDotted(k, v, false));
  TieringOptions topts = TieringOptionsFromConfig(*config, o.data_dir);
  EBB_ASSIGN_OR_RETURN(auto object_store, OpenTierObjectStore(*config, DefaultFileSystem(), o.data_dir));
  EBB_ASSIGN_OR_RETURN(auto key, KeyRing::Load(DefaultFileSystem(), topts.key_file));
  EBB_ASSIGN_OR_RETURN(auto listing, ListArchives(object_store.get(), *key));
  uint64_t plain = 0, archived = 0;
  for (const auto& a : listing) {
    EBB_RETURN_IF_ERROR(a.error);
    archived += a.size_bytes;
    for (const auto& m : a.toc.members) plain += m.plaintext_size;
  }
  EBB_ASSIGN_OR_RETURN(TierIndex kept, TierIndex::Load(DefaultFileSystem(), JoinPath(topts.tier_dir, "tier.index")));
  std::vector<double> rebuild_s;
  bool rebuilt_equal = true;
  RebuildReport report;
  for (int run = 0; run < kRebuildRuns; run++) {
    report = RebuildReport();
    auto t0 = SteadyClock::now();
    EBB_ASSIGN_OR_RETURN(TierIndex rebuilt, RebuildIndex(object_store.get(), *key, &report));
    rebuild_s.push_back(Seconds(t0));
    rebuilt_equal = rebuilt_equal && rebuilt == kept;
  }
  std::sort(rebuild_s.begin(), rebuild_s.end());
  const double rebuild_median = rebuild_s[rebuild_s.size() / 2];
  object_store.reset();

  nlohmann::json j = BaseResult("tiering", "ebb", data.entries, write_s, write_us, 0);
  j.erase("bytes_written");
  j["store"] = s3 != nullptr ? s3->kind() : kind;
  j["entries"] = data.entries;
  j["databases"] = data.databases;
  j["data_bytes"] = data.entries * entry_bytes;
  j["write_seconds"] = write_s;
  j["settle_seconds"] = settle_s;
  j["local_target_bytes"] = target;
  j["local_bytes_max"] = local_max;
  j["local_bytes_max_over_target"] = static_cast<double>(local_max) / static_cast<double>(target);
  j["within_target_plus_10pct"] = local_max <= target + target / 10;
  j["local_bytes_end"] = st.tiering.bytes_local;
  j["archives"] = listing.size();
  j["segments_evicted"] = st.tiering.segments_evicted;
  j["evictions_refused"] = st.tiering.evictions_refused;
  j["tiering_errors"] = st.tiering.errors;
  j["reads"] = reads;
  j["cold_reads"] = cold_us.count();
  j["cold_read_p50_us"] = cold_us.Percentile(50);
  j["cold_read_p99_us"] = cold_us.Percentile(99);
  j["warm_read_p50_us"] = warm_us.Percentile(50);
  j["warm_read_p99_us"] = warm_us.Percentile(99);
  j["member_fetches"] = after_reads.cache.fetches;
  j["member_fetched_bytes"] = after_reads.cache.fetched_bytes;
  j["compression_ratio"] = archived ? static_cast<double>(plain) / static_cast<double>(archived) : 0.0;
  j["rebuild_seconds"] = rebuild_median;
  j["rebuild_s_per_1000"] = listing.empty() ? 0.0 : rebuild_median / static_cast<double>(listing.size()) * 1000.0;
  j["rebuild_from_toc"] = report.from_toc;
  j["rebuild_equals_index"] = rebuilt_equal;

  if (setup.s3()) {
    EBB_ASSIGN_OR_RETURN(nlohmann::json outage, MeasureOutage(ctx, setup, data));
    j.update(outage);
  }
  EBB_ASSIGN_OR_RETURN(nlohmann::json garbage, MeasureGarbageAndRecall(ctx, setup, &data));
  j.update(garbage);
  EBB_ASSIGN_OR_RETURN(nlohmann::json restore, MeasureRestore(ctx, setup, data, o));
  j.update(restore);
  return TieringRun{std::move(j), std::move(samples)};
}

void WriteLocalBytesPlot(const std::string& out_dir, const std::vector<std::pair<std::string, TieringRun>>& runs) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  std::ofstream csv(out_dir + "/tiering-local-bytes.csv");
  csv << "store,seconds,local_bytes,remote_bytes,local_target_bytes\n";
  SvgPlot plot("tiering: local segment bytes while writing 10x the local target", "seconds", "MiB");
  for (const auto& [kind, run] : runs) {
    uint64_t target = run.result["local_target_bytes"].get<uint64_t>();
    std::vector<std::pair<double, double>> points;
    for (const auto& s : run.samples) {
      csv << fmt::format("{},{:.3f},{},{},{}\n", kind, s.seconds, s.local_bytes, s.remote_bytes, target);
      points.emplace_back(s.seconds, static_cast<double>(s.local_bytes) / (1 << 20));
    }
    plot.AddSeries(fmt::format("local bytes ({})", kind), std::move(points));
    if (&run == &runs.front().second && !run.samples.empty()) {
      double end = run.samples.back().seconds;
      plot.AddSeries("target + 10%", {{0, 1.1 * static_cast<double>(target) / (1 << 20)},
                                      {end, 1.1 * static_cast<double>(target) / (1 << 20)}});
    }
  }
  std::ofstream(out_dir + "/tiering-local-bytes.svg") << plot.Render();
}

}  // namespace

void RegisterTieringWorkload(WorkloadRegistry* r) {
  (*r)["tiering"] = {
      "tiering",
      "writes 10x tiering.local_target_bytes (default 16MiB) with tiering on: local bytes over time, cold-read "
      "p50/p99, compression ratio, rebuild-index time, an object-store outage (S3), garbage collection after "
      "overwrites and a drop, recall, and a restore into an empty directory with every key checked, for "
      "--tier-store local|s3 (default both; s3 is s3rver, or the service EBB_TEST_S3_ENDPOINT names); CSV/SVG into "
      "--out",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("tiering measures Ebb's tiering agent: use --engine ebb");
        std::vector<std::string> kinds = {"local", "s3"};
        if (!f.tier_store.empty()) {
          if (f.tier_store != "local" && f.tier_store != "s3" && f.tier_store != "s3rver") {
            return Status::InvalidArgument(
                fmt::format("--tier-store must be local or s3 (s3rver is the same as s3), not '{}'", f.tier_store));
          }
          kinds = {f.tier_store == "local" ? "local" : "s3"};
        }
        std::vector<std::pair<std::string, TieringRun>> runs;
        for (const auto& kind : kinds) {
          testing::S3TestServer s3;
          if (kind == "s3") {
            bool skip = false;
            std::string s3dir = fmt::format("{}/tiering-s3rver-objects", f.data_dir);
            std::error_code ec;
            std::filesystem::remove_all(s3dir, ec);
            std::filesystem::create_directories(s3dir, ec);
            std::string err = s3.Start(s3dir, EBB_SOURCE_DIR, &skip);
            if (!err.empty()) {
              if (f.tier_store.empty() && skip) {
                std::fprintf(stderr, "ebb-bench tiering: skipping s3: %s\n", err.c_str());
                continue;
              }
              return Status::Unavailable(fmt::format("s3: {}", err));
            }
          }
          EBB_ASSIGN_OR_RETURN(TieringRun run, RunTiering(ctx, kind, kind == "s3" ? &s3 : nullptr));
          const auto& j = run.result;
          if (f.json) {
            std::printf("%s\n", j.dump().c_str());
          } else {
            std::printf("tiering %-7s %s written in %.1f s (+%.1f s to settle)  local max %s = %.2fx target %s  "
                        "cold read p50 %.0f us p99 %.0f us (%llu cold)  compression %.2fx  rebuild %.3f s per 1000 "
                        "archives (%llu archives, equal: %s)\n",
                        j["store"].get<std::string>().c_str(), FormatBytes(j["data_bytes"].get<uint64_t>()).c_str(),
                        j["write_seconds"].get<double>(), j["settle_seconds"].get<double>(),
                        FormatBytes(j["local_bytes_max"].get<uint64_t>()).c_str(),
                        j["local_bytes_max_over_target"].get<double>(),
                        FormatBytes(j["local_target_bytes"].get<uint64_t>()).c_str(),
                        j["cold_read_p50_us"].get<double>(), j["cold_read_p99_us"].get<double>(),
                        static_cast<unsigned long long>(j["cold_reads"].get<uint64_t>()),
                        j["compression_ratio"].get<double>(), j["rebuild_s_per_1000"].get<double>(),
                        static_cast<unsigned long long>(j["archives"].get<uint64_t>()),
                        j["rebuild_equals_index"].get<bool>() ? "yes" : "NO");
            if (j.contains("outage_open_seconds")) {
              std::printf("  outage: opened in %.2f s (%s), hot read p50 %.0f us p99 %.0f us (%llu), evicted read fails "
                          "in p50 %.0f us p99 %.0f us (%llu)\n",
                          j["outage_open_seconds"].get<double>(), j["outage_object_store"].get<std::string>().c_str(),
                          j["outage_hot_read_p50_us"].get<double>(), j["outage_hot_read_p99_us"].get<double>(),
                          static_cast<unsigned long long>(j["outage_hot_reads"].get<uint64_t>()),
                          j["outage_failed_read_p50_us"].get<double>(), j["outage_failed_read_p99_us"].get<double>(),
                          static_cast<unsigned long long>(j["outage_failed_reads"].get<uint64_t>()));
            }
            std::printf("  gc: garbage %s, reclaimed %s (%llu archives), left %s  recall: %s in %.2f s  restore: %s "
                        "in %.2f s = %.1f s per GB, %llu keys checked\n",
                        FormatBytes(j["gc_garbage_bytes_before"].get<uint64_t>()).c_str(),
                        FormatBytes(j["gc_bytes_reclaimed"].get<uint64_t>()).c_str(),
                        static_cast<unsigned long long>(j["gc_archives_deleted"].get<uint64_t>()),
                        FormatBytes(j["gc_garbage_bytes_after"].get<uint64_t>()).c_str(),
                        FormatBytes(j["recall_bytes"].get<uint64_t>()).c_str(), j["recall_seconds"].get<double>(),
                        FormatBytes(j["restore_bytes"].get<uint64_t>()).c_str(), j["restore_seconds"].get<double>(),
                        j["restore_s_per_gb"].get<double>(),
                        static_cast<unsigned long long>(j["restore_keys_verified"].get<uint64_t>()));
          }
          std::fflush(stdout);
          runs.emplace_back(run.result["store"].get<std::string>(), std::move(run));
        }
        WriteLocalBytesPlot(ctx->OutDir("tiering"), runs);
        return nlohmann::json{{"workload", "tiering"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
