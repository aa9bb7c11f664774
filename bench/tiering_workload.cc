// ebb-bench tiering: a data set ten times the local target is
// written with tiering on; cold segments are archived (zstd, AEAD, pax tar)
// to an object store and evicted locally. Reports, per object store,
//   - local segment bytes over time and their maximum against
//     tiering.local_target_bytes (the bound is target + 10%);
//   - cold-read latency: point reads that had to fetch an archive member
//     (a range read, decrypt, decompress), p50 and p99;
//   - the archive compression ratio (segment bytes / archive bytes);
//   - the time to rebuild the tier index from the archives alone, per 1,000
//     archives.
// Object stores: `local` (a directory) and `s3rver` (the S3 protocol, an
// s3rver process started on 127.0.0.1 by the bench, as the tests do).

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
#include "engine/engine_settings.h"
#include "env/file_system.h"
#include "env/s3rver_process.h"
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

Result<TieringRun> RunTiering(BenchContext* ctx, const std::string& kind, testing::S3rverProcess* s3rver) {
  const Flags& f = ctx->flags();
  const std::string dir = fmt::format("{}/tiering-{}", f.data_dir, kind);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Options o;
  o.data_dir = dir + "/data";
  o.Set("journal.sync", f.sync);
  o.Set("store.memtable_bytes", "1MiB");
  o.Set("tiering.enabled", "true");
  o.Set("tiering.local_target_bytes", kDefaultTarget);
  o.Set("tiering.min_age_s", "0");
  o.Set("tiering.archive_target_bytes", "2MiB");
  o.Set("tiering.cache_bytes", "4MiB");
  if (kind == "local") {
    o.Set("tiering.local_dir", dir + "/objects");
  } else {
    o.Set("tiering.store", "s3");
    o.Set("tiering.s3_endpoint", s3rver->endpoint());
    o.Set("tiering.s3_bucket", testing::S3rverProcess::kBucket);
    o.Set("tiering.s3_prefix", fmt::format("bench-{}/", std::chrono::system_clock::now().time_since_epoch().count()));
    o.Set("tiering.s3_access_key", testing::S3rverProcess::kAccessKey);
    o.Set("tiering.s3_secret_key", testing::S3rverProcess::kSecretKey);
  }
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(o));
  const uint64_t target = store->GetStatus().tiering.local_target_bytes;
  if (target == 0 || target > (uint64_t{1} << 40)) {
    return Status::InvalidArgument(fmt::format("tiering.local_target_bytes {} is not a usable target", target));
  }
  const uint64_t entry_bytes = static_cast<uint64_t>(f.key_size + f.value_size);
  const uint64_t entries = kDataSetTimesTarget * target / entry_bytes;
  std::vector<std::shared_ptr<Database>> dbs;
  for (int d = 0; d < f.dbs; d++) {
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(fmt::format("db{:04}", d)));
    dbs.push_back(std::move(db));
  }
  // Unique keys in random order: every segment spans the key space, so a
  // point read may have to consult every evicted segment's filter.
  std::vector<uint64_t> keys(entries);
  std::iota(keys.begin(), keys.end(), 0);
  Random rnd(f.seed);
  for (uint64_t i = entries; i > 1; i--) std::swap(keys[i - 1], keys[rnd.Uniform(i)]);

  const auto start = SteadyClock::now();
  LocalBytesSampler sampler(store.get(), start);
  Histogram write_us;
  for (uint64_t i = 0; i < entries; i++) {
    auto t0 = SteadyClock::now();
    EBB_RETURN_IF_ERROR(dbs[keys[i] % dbs.size()]->Put(ctx->Key(keys[i]), ctx->Value(&rnd)));
    write_us.Add(static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count()));
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
    uint64_t k = rnd.Uniform(entries);
    uint64_t fetches_before = store->GetStatus().tiering.cache.fetches;
    auto t0 = SteadyClock::now();
    auto v = dbs[k % dbs.size()]->Get(ctx->Key(k));
    auto us = static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    if (!v.ok()) return v.status().WithContext(fmt::format("cold read of key {}", k));
    if (v->size() != static_cast<size_t>(f.value_size)) {
      return Status::Corruption(fmt::format("key {} read back {} bytes, wrote {}", k, v->size(), f.value_size));
    }
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

  nlohmann::json j = BaseResult("tiering", "ebb", entries, write_s, write_us, 0);
  j.erase("bytes_written");
  j["store"] = kind;
  j["entries"] = entries;
  j["data_bytes"] = entries * entry_bytes;
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
  j["member_fetches"] = after_reads.cache.fetches;
  j["member_fetched_bytes"] = after_reads.cache.fetched_bytes;
  j["compression_ratio"] = archived ? static_cast<double>(plain) / static_cast<double>(archived) : 0.0;
  j["rebuild_seconds"] = rebuild_median;
  j["rebuild_s_per_1000"] = listing.empty() ? 0.0 : rebuild_median / static_cast<double>(listing.size()) * 1000.0;
  j["rebuild_from_toc"] = report.from_toc;
  j["rebuild_equals_index"] = rebuilt_equal;
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
      "p50/p99, compression ratio, rebuild-index time, for --tier-store local|s3rver (default both); CSV/SVG into "
      "--out",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("tiering measures Ebb's tiering agent: use --engine ebb");
        std::vector<std::string> kinds = {"local", "s3rver"};
        if (!f.tier_store.empty()) {
          if (f.tier_store != "local" && f.tier_store != "s3rver") {
            return Status::InvalidArgument(fmt::format("--tier-store must be local or s3rver, not '{}'", f.tier_store));
          }
          kinds = {f.tier_store};
        }
        std::vector<std::pair<std::string, TieringRun>> runs;
        for (const auto& kind : kinds) {
          testing::S3rverProcess s3rver;
          if (kind == "s3rver") {
            bool skip = false;
            std::string s3dir = fmt::format("{}/tiering-s3rver-objects", f.data_dir);
            std::error_code ec;
            std::filesystem::remove_all(s3dir, ec);
            std::filesystem::create_directories(s3dir, ec);
            std::string err = s3rver.Start(s3dir, testing::S3rverScript(EBB_SOURCE_DIR), &skip);
            if (!err.empty()) {
              if (f.tier_store.empty() && skip) {
                std::fprintf(stderr, "ebb-bench tiering: skipping s3rver: %s\n", err.c_str());
                continue;
              }
              return Status::Unavailable(fmt::format("s3rver: {}", err));
            }
          }
          EBB_ASSIGN_OR_RETURN(TieringRun run, RunTiering(ctx, kind, &s3rver));
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
          }
          std::fflush(stdout);
          runs.emplace_back(kind, std::move(run));
        }
        WriteLocalBytesPlot(ctx->OutDir("tiering"), runs);
        return nlohmann::json{{"workload", "tiering"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
