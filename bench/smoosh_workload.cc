// ebb-bench smoosh: 1,000 databases under Zipf-skewed overwrites
// and deletes. Reports space amplification over time (segment bytes on disk
// over the live key and value bytes the bench's own model holds), compaction
// bytes written and write p99, for
//   --policy channels  the smoosh daemon with its channels (default), paced
//                      by the compaction work class;
//   --policy eager     no daemon: any database past the same thresholds is
//                      compacted at once, with no channel limits.

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "base/config.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "bench/bench.h"
#include "bench/svg_plot.h"
#include "ebb/ebb.h"

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kDatabases = 1000;
constexpr uint64_t kKeysPerDatabase = 200;
// The eager baseline's thresholds equal smoosh's channel defaults.
constexpr double kRatioThreshold = 2.0;
constexpr uint64_t kSegmentsThreshold = 8;

// Compacts databases past the thresholds as soon as they cross them (eager).
class EagerCompactor {
 public:
  explicit EagerCompactor(std::vector<std::shared_ptr<Database>>* dbs) : dbs_(dbs) {
    for (int i = 0; i < 2; i++) threads_.emplace_back([this] { Run(); });
  }
  ~EagerCompactor() {
    {
      MutexLock lock(&mu_);
      stop_ = true;
      cv_.SignalAll();
    }
    for (auto& t : threads_) t.join();
  }
  void Check(int d) {
    DatabaseStats st = (*dbs_)[static_cast<size_t>(d)]->GetStats();
    double ratio = st.live_bytes ? static_cast<double>(st.disk_bytes) / static_cast<double>(st.live_bytes) : 0;
    if (ratio < kRatioThreshold && st.segments < kSegmentsThreshold) return;
    MutexLock lock(&mu_);
    if (queued_.insert(d).second) {
      queue_.push_back(d);
      cv_.Signal();
    }
  }

 private:
  void Run() {
    while (true) {
      int d;
      {
        MutexLock lock(&mu_);
        while (!stop_ && queue_.empty()) cv_.Wait();
        if (stop_) return;
        d = queue_.front();
        queue_.pop_front();
        queued_.erase(d);
      }
      (void)(*dbs_)[static_cast<size_t>(d)]->Compact();
    }
  }
  std::vector<std::shared_ptr<Database>>* dbs_;
  Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<int> queue_ GUARDED_BY(mu_);
  std::set<int> queued_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

Result<nlohmann::json> RunSmoosh(BenchContext* ctx, const std::string& policy) {
  const Flags& f = ctx->flags();
  std::string dir = fmt::format("{}/smoosh-{}", f.data_dir, policy);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Options o;
  o.data_dir = dir;
  o.Set("journal.sync", "none");
  // Small databases (about 23 KiB live each): small memtables and a
  // writeback band scaled to the data set, the same for both policies.
  o.Set("store.memtable_bytes", "256KiB");
  o.Set("work.writeback.band_low_bytes", "1MiB");
  o.Set("work.writeback.band_high_bytes", "4MiB");
  if (policy == "channels") {
    o.Set("smoosh.wait_secs", "0");
    for (const char* ch : {"ratio_dbs", "slack_dbs", "segments_dbs"}) o.Set(fmt::format("smoosh.{}.min_size", ch), "0");
    // Reclaimable space the daemon lets accumulate before compacting (the
    // band's middle is about a fifth of the live data, ~18 MiB).
    o.Set("work.compaction.band_low_bytes", "1MiB");
    o.Set("work.compaction.band_high_bytes", "6MiB");
  } else {
    o.Set("smoosh.db_channels", "");
  }
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(o));
  std::vector<std::shared_ptr<Database>> dbs;
  for (int d = 0; d < kDatabases; d++) {
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(fmt::format("db{:04}", d)));
    dbs.push_back(std::move(db));
  }
  std::unique_ptr<EagerCompactor> eager;
  if (policy == "eager") eager = std::make_unique<EagerCompactor>(&dbs);

  // The model: live bytes per database.
  std::vector<std::unordered_map<uint64_t, uint32_t>> model(kDatabases);
  uint64_t live_bytes = 0;
  ZipfGenerator zipf(kDatabases, 0.99);
  Random rnd(f.seed);
  Histogram write_us;
  struct SmooshSample {
    double million_ops;
    double space_amp;
    uint64_t compaction_bytes;
    uint64_t compaction_pending;
    std::string compaction_state;
  };
  std::vector<SmooshSample> samples;
  const uint64_t ops = f.num;
  const uint64_t sample_every = std::max<uint64_t>(1, ops / 100);
  auto start = SteadyClock::now();
  for (uint64_t i = 0; i < ops; i++) {
    int d = static_cast<int>(zipf.Next(&rnd));
    uint64_t k = rnd.Uniform(kKeysPerDatabase);
    std::string key = ctx->Key(k);
    auto t0 = SteadyClock::now();
    Status s;
    auto& m = model[static_cast<size_t>(d)];
    if (rnd.Uniform(100) < 20) {
      s = dbs[static_cast<size_t>(d)]->Delete(key);
      if (auto it = m.find(k); it != m.end()) {
        live_bytes -= it->second;
        m.erase(it);
      }
    } else {
      std::string_view value = ctx->Value(&rnd);
      s = dbs[static_cast<size_t>(d)]->Put(key, value);
      uint32_t bytes = static_cast<uint32_t>(key.size() + value.size());
      auto [it, inserted] = m.try_emplace(k, bytes);
      if (!inserted) live_bytes -= it->second;
      it->second = bytes;
      live_bytes += bytes;
    }
    write_us.Add(static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() + 0.5));
    EBB_RETURN_IF_ERROR(s);
    if (eager && (i % 16) == 0) eager->Check(d);
    if ((i + 1) % sample_every == 0) {
      StoreStatus st = store->GetStatus();
      uint64_t disk = 0, compaction = 0;
      for (const auto& db : st.databases) {
        disk += db.disk_bytes;
        compaction += db.compaction_bytes_written;
      }
      SmooshSample sample{static_cast<double>(i + 1) / 1e6, live_bytes ? static_cast<double>(disk) / live_bytes : 0,
                          compaction, 0, ""};
      for (const auto& c : st.work.classes) {
        if (c.name == "compaction") {
          sample.compaction_pending = c.pending_bytes;
          sample.compaction_state = c.state;
        }
      }
      samples.push_back(std::move(sample));
    }
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  eager.reset();
  StoreStatus st = store->GetStatus();
  uint64_t compaction_bytes = 0, flush_bytes = 0, compactions = 0;
  for (const auto& db : st.databases) {
    compaction_bytes += db.compaction_bytes_written;
    flush_bytes += db.flush_bytes_written;
    compactions += db.compactions;
  }
  // Steady state: the second half of the run.
  double amp_sum = 0, amp_max = 0;
  size_t n = 0;
  for (size_t i = samples.size() / 2; i < samples.size(); i++) {
    amp_sum += samples[i].space_amp;
    amp_max = std::max(amp_max, samples[i].space_amp);
    n++;
  }
  std::string out_dir = ctx->OutDir("smoosh");
  std::filesystem::create_directories(out_dir, ec);
  {
    std::ofstream csv(fmt::format("{}/smoosh-{}.csv", out_dir, policy));
    csv << "million_ops,space_amp,compaction_bytes,compaction_pending_bytes,compaction_state\n";
    for (const auto& x : samples) {
      csv << fmt::format("{:.3f},{:.4f},{},{},{}\n", x.million_ops, x.space_amp, x.compaction_bytes,
                         x.compaction_pending, x.compaction_state);
    }
  }
  nlohmann::json j = BaseResult("smoosh", "ebb", ops, seconds, write_us, 0);
  j.erase("bytes_written");
  j["policy"] = policy;
  j["databases"] = kDatabases;
  j["space_amp"] = n ? amp_sum / static_cast<double>(n) : 0.0;
  j["space_amp_max"] = amp_max;
  j["compaction_bytes"] = compaction_bytes;
  j["compactions"] = compactions;
  j["flush_bytes"] = flush_bytes;
  j["write_p99_us"] = write_us.Percentile(99);
  j["live_bytes"] = live_bytes;
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());
  return j;
}

}  // namespace

void RegisterSmooshWorkload(WorkloadRegistry* r) {
  (*r)["smoosh"] = {
      "smoosh",
      "1,000 databases, Zipf-skewed overwrites and deletes (--num ops): space amplification, compaction bytes, "
      "write p99 for --policy channels|eager (default both); CSV into --out",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("smoosh measures Ebb's compaction daemon: use --engine ebb");
        std::vector<std::string> policies = {"channels", "eager"};
        if (!f.policy.empty()) {
          if (f.policy != "channels" && f.policy != "eager") {
            return Status::InvalidArgument(fmt::format("--policy must be channels or eager, not '{}'", f.policy));
          }
          policies = {f.policy};
        }
        for (const auto& policy : policies) {
          EBB_ASSIGN_OR_RETURN(nlohmann::json j, RunSmoosh(ctx, policy));
          if (f.json) {
            std::printf("%s\n", j.dump().c_str());
          } else {
            std::printf("smoosh %-8s space amp %.2f (max %.2f)  compaction %s in %llu jobs  flush %s  write p99 %.1f us  "
                        "%.0f ops/s\n",
                        policy.c_str(), j["space_amp"].get<double>(), j["space_amp_max"].get<double>(),
                        FormatBytes(j["compaction_bytes"].get<uint64_t>()).c_str(),
                        static_cast<unsigned long long>(j["compactions"].get<uint64_t>()),
                        FormatBytes(j["flush_bytes"].get<uint64_t>()).c_str(), j["write_p99_us"].get<double>(),
                        j["ops_per_sec"].get<double>());
          }
          std::fflush(stdout);
        }
        return nlohmann::json{{"workload", "smoosh"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
