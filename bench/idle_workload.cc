// ebb-bench idle: does background work rush to idle and then
// sleep, and does it batch under load? For each --policy (ebb | eager |
// threshold; all three by default) it runs
//
//   bursty     overwrite-heavy write bursts separated by gaps of varying
//              length, then silence: time from the last write to
//              quiescence per class, then a window (--duration, default 60 s)
//              measuring wakeups (voluntary context switches) and CPU
//              time of every thread but the bench's own;
//   sustained  a steady write rate: how often each class's pending work is
//              inside its band;
//   trickle    one write every 0.1 s, 0.5 s, 2 s and 10 s, for --duration s
//              each (default 60): context switches (voluntary and
//              involuntary) of every thread but the bench's own per write,
//              split by thread name, and what the background wrote and left
//              pending at the end.
// --trace picks some of them (default: all three).
//
// Reports background bytes (flush + compaction + journal) and foreground
// write p99, writes a CSV of pending work per class over time and an SVG
// plot of it into --out (default: a new directory under bench/results/).

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/config.h"
#include "base/status_macros.h"
#include "bench/bench.h"
#include "bench/svg_plot.h"
#include "ebb/ebb.h"

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Calls fn("/proc/self/task/<tid>") for every thread of this process except
// `skip_tid` (the bench's own, which does the measuring).
template <typename Fn>
void ForEachOtherThread(long skip_tid, Fn fn) {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (std::atol(e->d_name) == skip_tid) continue;
    fn(fmt::format("/proc/self/task/{}", e->d_name));
  }
  closedir(dir);
}

// Context switches (voluntary + involuntary) per thread name, of every
// thread but `skip_tid`.
std::map<std::string, uint64_t> ContextSwitchesByThread(long skip_tid) {
  std::map<std::string, uint64_t> out;
  ForEachOtherThread(skip_tid, [&](const std::string& task) {
    std::ifstream comm(task + "/comm");
    std::string name;
    std::getline(comm, name);
    std::ifstream in(task + "/status");
    std::string key;
    uint64_t total = 0;
    while (in >> key) {
      if (key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") {
        uint64_t v;
        in >> v;
        total += v;
      }
    }
    out[name] += total;
  });
  return out;
}

// Voluntary context switches of every thread but `skip_tid`.
uint64_t VoluntaryContextSwitches(long skip_tid) {
  uint64_t total = 0;
  ForEachOtherThread(skip_tid, [&](const std::string& task) {
    std::ifstream in(task + "/status");
    std::string key;
    while (in >> key) {
      if (key == "voluntary_ctxt_switches:") {
        uint64_t v;
        in >> v;
        total += v;
        break;
      }
    }
  });
  return total;
}

// User + system CPU seconds of every thread but `skip_tid` (so the reading
// of /proc itself is not counted).
double OtherThreadsCpuSeconds(long skip_tid) {
  uint64_t ticks = 0;
  ForEachOtherThread(skip_tid, [&](const std::string& task) {
    std::ifstream in(task + "/stat");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = content.rfind(')');
    if (close == std::string::npos || close + 2 > content.size()) return;
    std::istringstream fields(content.substr(close + 2));
    std::string f;
    for (int i = 3; i <= 15 && fields >> f; i++) {
      if (i == 14 || i == 15) ticks += std::stoull(f);  // utime, stime
    }
  });
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Sample {
  double t;
  std::string cls;
  uint64_t pending;
  uint64_t low;
  uint64_t high;
  std::string state;
};

struct TraceResult {
  std::vector<Sample> samples;
  Histogram write_us;
  double last_write_s = 0;
};

class Sampler {
 public:
  Sampler(Store* store, SteadyClock::time_point start, TraceResult* out) : store_(store), start_(start), out_(out) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Sampler() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run() {
    while (!stop_.load()) {
      StoreStatus st = store_->GetStatus();
      double t = std::chrono::duration<double>(SteadyClock::now() - start_).count();
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& c : st.work.classes) {
          if (c.name == "foreground") continue;
          out_->samples.push_back({t, c.name, c.pending_bytes, c.band_low_bytes, c.band_high_bytes, c.state});
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  Store* store_;
  SteadyClock::time_point start_;
  TraceResult* out_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::thread thread_;
};

Status Write(Database* db, BenchContext* ctx, uint64_t key_space, Random* rnd, Histogram* h) {
  auto t0 = SteadyClock::now();
  Status s = db->Put(ctx->Key(rnd->Uniform(key_space)), ctx->Value(rnd));
  h->Add(static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() + 0.5));
  return s;
}

struct StoreHandle {
  std::unique_ptr<Store> store;
  std::shared_ptr<Database> db;
};

Result<StoreHandle> OpenFor(BenchContext* ctx, const std::string& policy, const std::string& trace) {
  const Flags& f = ctx->flags();
  std::string dir = fmt::format("{}/idle-{}-{}", f.data_dir, policy, trace);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Options o;
  o.data_dir = dir;
  o.Set("journal.sync", "batch");
  o.Set("work.policy", policy);
  // Default memtables, writeback and journal bands (8 MiB; 16-64 MiB;
  // 128-256 MiB); the compaction band scaled to this small data set (a few
  // MiB live) so that it is exercised within seconds.
  o.Set("journal.segment_bytes", "8MiB");
  o.Set("work.compaction.band_low_bytes", "2MiB");
  o.Set("work.compaction.band_high_bytes", "16MiB");
  o.Set("smoosh.wait_secs", "0");
  o.Set("smoosh.ratio_dbs.min_size", "256KiB");
  o.Set("smoosh.segments_dbs.min_size", "256KiB");
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  StoreHandle h;
  EBB_ASSIGN_OR_RETURN(h.store, Store::Open(o));
  EBB_ASSIGN_OR_RETURN(h.db, h.store->OpenDatabase("idle"));
  return h;
}

uint64_t BackgroundBytes(const StoreStatus& st) {
  uint64_t bytes = st.journal.bytes_written;
  for (const auto& d : st.databases) bytes += d.flush_bytes_written + d.compaction_bytes_written;
  return bytes;
}

void WriteCsvAndPlot(const std::string& out_dir, const std::string& policy, const std::string& trace,
                     const TraceResult& r) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  std::string base = fmt::format("{}/idle-{}-{}", out_dir, policy, trace);
  std::ofstream csv(base + ".csv");
  csv << "time_s,class,pending_bytes,band_low_bytes,band_high_bytes,state\n";
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  for (const auto& s : r.samples) {
    csv << fmt::format("{:.2f},{},{},{},{},{}\n", s.t, s.cls, s.pending, s.low, s.high, s.state);
    series[s.cls].emplace_back(s.t, static_cast<double>(s.pending) / (1 << 20));
  }
  SvgPlot plot(fmt::format("Pending work per class: policy {}, {} trace (last write at {:.1f} s)", policy, trace,
                           r.last_write_s),
               "time (s)", "pending (MiB)");
  for (auto& [name, points] : series) plot.AddSeries(name, std::move(points));
  plot.AddMarker(r.last_write_s, "last write");
  std::ofstream svg(base + ".svg");
  svg << plot.Render();
}

Result<nlohmann::json> RunBursty(BenchContext* ctx, const std::string& policy) {
  const Flags& f = ctx->flags();
  EBB_ASSIGN_OR_RETURN(StoreHandle h, OpenFor(ctx, policy, "bursty"));
  TraceResult r;
  auto start = SteadyClock::now();
  // Overwrite-heavy: bursts of 40k writes over 10k keys (each key ~4x per burst).
  const uint64_t key_space = 10000;
  const double gaps_s[] = {0.2, 1.0, 0.1, 3.0, 0.5, 2.0, 0.05, 6.0};
  Random rnd(f.seed);
  uint64_t before_bytes = BackgroundBytes(h.store->GetStatus());
  {
    Sampler sampler(h.store.get(), start, &r);
    for (double gap : gaps_s) {
      for (int i = 0; i < 40000; i++) EBB_RETURN_IF_ERROR(Write(h.db.get(), ctx, key_space, &rnd, &r.write_us));
      std::this_thread::sleep_for(std::chrono::duration<double>(gap));
    }
    for (int i = 0; i < 40000; i++) EBB_RETURN_IF_ERROR(Write(h.db.get(), ctx, key_space, &rnd, &r.write_us));
    r.last_write_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
    // Quiescence: every class asleep, nothing pending, no timer armed.
    // Bounded wait (threshold, by design, may leave work pending forever).
    auto deadline = SteadyClock::now() + std::chrono::seconds(120);
    while (SteadyClock::now() < deadline) {
      StoreStatus st = h.store->GetStatus();
      bool quiet = !st.work.armed_deadline_micros.has_value();
      for (const auto& c : st.work.classes) quiet = quiet && c.state == "asleep";
      if (quiet) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few samples of the idle state
  }
  StoreStatus st = h.store->GetStatus();
  double quiet_at_s = std::chrono::duration<double>(SteadyClock::now() - start).count() - 0.3;
  bool drained = true;
  nlohmann::json classes = nlohmann::json::object();
  // Per class: when it last went to sleep, relative to the last write.
  int64_t now_micros_status = 0;
  for (const auto& c : st.work.classes) {
    if (c.name == "foreground") now_micros_status = c.last_transition_micros;  // the last write
  }
  for (const auto& c : st.work.classes) {
    if (c.name == "foreground") continue;
    drained = drained && c.pending_bytes == 0;
    classes[c.name] = {{"state", c.state},
                       {"pending_bytes_at_rest", c.pending_bytes},
                       {"quiescence_s", c.state == "asleep"
                                            ? std::max(0.0, (c.last_transition_micros - now_micros_status) / 1e6)
                                            : -1.0},
                       {"passes", c.passes},
                       {"bytes_done", c.bytes_done},
                       {"wakeups", c.wakeups}};
  }
  uint64_t background = BackgroundBytes(st) - before_bytes;
  // The idle window.
  double window = f.duration_s > 0 ? f.duration_s : 60.0;
  long self = static_cast<long>(gettid());
  uint64_t switches0 = VoluntaryContextSwitches(self);
  double cpu0 = OtherThreadsCpuSeconds(self);
  uint64_t sched_wakeups0 = h.store->GetStatus().work.wakeups;
  std::this_thread::sleep_for(std::chrono::duration<double>(window));
  uint64_t switches1 = VoluntaryContextSwitches(self);
  double cpu1 = OtherThreadsCpuSeconds(self);
  uint64_t sched_wakeups1 = h.store->GetStatus().work.wakeups;
  WriteCsvAndPlot(ctx->OutDir("idle"), policy, "bursty", r);
  nlohmann::json j = BaseResult("idle", "ebb", r.write_us.count(), r.last_write_s, r.write_us, background);
  j["policy"] = policy;
  j["trace"] = "bursty";
  j["quiescence_s"] = drained ? quiet_at_s - r.last_write_s : -1.0;
  j["drained"] = drained;
  j["idle_window_s"] = window;
  j["idle_wakeups"] = switches1 - switches0;
  j["idle_scheduler_wakeups"] = sched_wakeups1 - sched_wakeups0;
  j["idle_cpu_s"] = cpu1 - cpu0;
  j["background_bytes"] = background;
  j["classes"] = classes;
  h.db.reset();
  EBB_RETURN_IF_ERROR(h.store->Close());
  return j;
}

Result<nlohmann::json> RunSustained(BenchContext* ctx, const std::string& policy) {
  const Flags& f = ctx->flags();
  EBB_ASSIGN_OR_RETURN(StoreHandle h, OpenFor(ctx, policy, "sustained"));
  TraceResult r;
  auto start = SteadyClock::now();
  const uint64_t key_space = 200000;
  const double seconds = 30;
  const double rate = 40000;  // writes per second (about 4.6 MiB/s of keys and values)
  Random rnd(f.seed + 1);
  uint64_t before_bytes = BackgroundBytes(h.store->GetStatus());
  {
    Sampler sampler(h.store.get(), start, &r);
    EBB_RETURN_IF_ERROR(RunPaced(seconds, rate, std::chrono::microseconds(200), [&] {
      return Write(h.db.get(), ctx, key_space, &rnd, &r.write_us);
    }));
    r.last_write_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  }
  // In band: samples after the warm-up (pending first has to rise into the
  // band) while writes go on, with pending within [low, high].
  std::map<std::string, std::pair<uint64_t, uint64_t>> in_band;  // class -> (in, total)
  for (const auto& s : r.samples) {
    if (s.t < 8.0 || s.t > r.last_write_s) continue;  // warm-up: pending first rises to the band
    auto& [in, total] = in_band[s.cls];
    total++;
    if (s.pending >= s.low && s.pending <= s.high) in++;
  }
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [name, counts] : in_band) {
    classes[name] = {{"in_band_fraction", counts.second ? static_cast<double>(counts.first) / counts.second : 0.0},
                     {"samples", counts.second}};
  }
  WriteCsvAndPlot(ctx->OutDir("idle"), policy, "sustained", r);
  StoreStatus st = h.store->GetStatus();
  auto wb = in_band["writeback"];
  nlohmann::json j = BaseResult("idle", "ebb", r.write_us.count(), r.last_write_s, r.write_us,
                                BackgroundBytes(st) - before_bytes);
  j["policy"] = policy;
  j["trace"] = "sustained";
  j["in_band_fraction"] = wb.second ? static_cast<double>(wb.first) / wb.second : 0.0;
  j["background_bytes"] = BackgroundBytes(st) - before_bytes;
  j["classes"] = classes;
  h.db.reset();
  EBB_RETURN_IF_ERROR(h.store->Close());
  return j;
}

// Waits (bounded) until every class is asleep with nothing armed.
void WaitForRest(Store* store, std::chrono::seconds limit) {
  auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    StoreStatus st = store->GetStatus();
    bool quiet = !st.work.armed_deadline_micros.has_value();
    for (const auto& c : st.work.classes) quiet = quiet && c.state == "asleep";
    if (quiet) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// One write every `period_s` for `seconds`: what each write costs the
// process in context switches, counted from /proc for every thread but
// this one (which writes and sleeps), and what the background did.
Result<nlohmann::json> RunTrickle(BenchContext* ctx, const std::string& policy, double period_s, double seconds) {
  EBB_ASSIGN_OR_RETURN(StoreHandle h, OpenFor(ctx, policy, fmt::format("trickle-{}", period_s)));
  WaitForRest(h.store.get(), std::chrono::seconds(30));  // opening work is not the trickle's
  const long self = static_cast<long>(gettid());
  const StoreStatus st0 = h.store->GetStatus();
  uint64_t flush0 = 0, compaction0 = 0;
  for (const auto& d : st0.databases) {
    flush0 += d.flush_bytes_written;
    compaction0 += d.compaction_bytes_written;
  }
  const uint64_t journal0 = st0.journal.bytes_written, syncs0 = st0.journal.syncs;
  const std::map<std::string, uint64_t> before = ContextSwitchesByThread(self);
  Random rnd(ctx->flags().seed + 2);
  Histogram write_us;
  const auto start = SteadyClock::now();
  const uint64_t writes = std::max<uint64_t>(1, static_cast<uint64_t>(seconds / period_s + 0.5));
  for (uint64_t i = 0; i < writes; i++) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<SteadyClock::duration>(
                                              std::chrono::duration<double>(period_s * static_cast<double>(i))));
    auto t0 = SteadyClock::now();
    EBB_RETURN_IF_ERROR(h.db->Put(ctx->Key(i), ctx->Value(&rnd)));
    write_us.Add(static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() + 0.5));
  }
  // The last write's reaction too: one more period.
  std::this_thread::sleep_until(start + std::chrono::duration_cast<SteadyClock::duration>(
                                            std::chrono::duration<double>(period_s * static_cast<double>(writes))));
  const std::map<std::string, uint64_t> after = ContextSwitchesByThread(self);
  const StoreStatus st = h.store->GetStatus();

  uint64_t switches = 0;
  nlohmann::json threads = nlohmann::json::object();
  for (const auto& [name, count] : after) {
    auto it = before.find(name);
    const uint64_t d = count - (it == before.end() ? 0 : std::min(count, it->second));
    switches += d;
    if (d > 0) threads[name] = d;
  }
  uint64_t flush = 0, compaction = 0, unflushed = 0;
  for (const auto& d : st.databases) {
    flush += d.flush_bytes_written;
    compaction += d.compaction_bytes_written;
    unflushed += d.memtable_bytes;
  }
  nlohmann::json pending = nlohmann::json::object();
  for (const auto& c : st.work.classes) {
    if (c.name != "foreground") pending[c.name] = {{"state", c.state}, {"pending_bytes", c.pending_bytes},
                                                   {"passes", c.passes}};
  }
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  nlohmann::json j = BaseResult("idle", "ebb", writes, elapsed, write_us, flush + compaction - flush0 - compaction0);
  j["policy"] = policy;
  j["trace"] = "trickle";
  j["period_s"] = period_s;
  j["writes"] = writes;
  j["context_switches"] = switches;
  j["switches_per_write"] = static_cast<double>(switches) / static_cast<double>(writes);
  j["threads"] = threads;
  j["background_bytes"] = flush + compaction - flush0 - compaction0;
  j["flush_bytes"] = flush - flush0;
  j["compaction_bytes"] = compaction - compaction0;
  j["journal_bytes"] = st.journal.bytes_written - journal0;
  j["journal_syncs"] = st.journal.syncs - syncs0;
  j["unflushed_bytes_at_end"] = unflushed;
  j["classes"] = pending;
  h.db.reset();
  EBB_RETURN_IF_ERROR(h.store->Close());
  return j;
}

void PrintIdle(BenchContext* ctx, const nlohmann::json& j) {
  if (ctx->flags().json) {
    std::printf("%s\n", j.dump().c_str());
  } else if (j["trace"] == "trickle") {
    std::printf("idle %-9s trickle    every %4.1f s  %3llu writes  %5.2f switches/write  flushed %s  unflushed at end %s\n",
                j["policy"].get<std::string>().c_str(), j["period_s"].get<double>(),
                static_cast<unsigned long long>(j["writes"].get<uint64_t>()), j["switches_per_write"].get<double>(),
                FormatBytes(j["flush_bytes"].get<uint64_t>()).c_str(),
                FormatBytes(j["unflushed_bytes_at_end"].get<uint64_t>()).c_str());
  } else if (j["trace"] == "bursty") {
    std::printf("idle %-9s bursty     quiescence %6.2f s  idle wakeups %5llu  idle cpu %.3f s  background %s  p99 %.1f us\n",
                j["policy"].get<std::string>().c_str(), j["quiescence_s"].get<double>(),
                static_cast<unsigned long long>(j["idle_wakeups"].get<uint64_t>()), j["idle_cpu_s"].get<double>(),
                FormatBytes(j["background_bytes"].get<uint64_t>()).c_str(), j["p99_us"].get<double>());
  } else {
    std::printf("idle %-9s sustained  in band %5.1f%%  background %s  p99 %.1f us\n", j["policy"].get<std::string>().c_str(),
                100 * j["in_band_fraction"].get<double>(), FormatBytes(j["background_bytes"].get<uint64_t>()).c_str(),
                j["p99_us"].get<double>());
  }
  std::fflush(stdout);
}

}  // namespace

void RegisterIdleWorkload(WorkloadRegistry* r) {
  (*r)["idle"] = {
      "idle",
      "bursty, sustained and trickle write traces (--trace, default all) per --policy ebb|eager|threshold "
      "(default all): quiescence, idle wakeups and CPU over --duration s (default 60), background bytes, in-band "
      "fraction, context switches per write of a trickle (0.1, 0.5, 2 and 10 s apart, --duration s each); CSV and "
      "SVG into --out",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("idle measures Ebb's background runtime: use --engine ebb");
        std::vector<std::string> policies = {"ebb", "eager", "threshold"};
        if (!f.policy.empty()) {
          if (f.policy != "ebb" && f.policy != "eager" && f.policy != "threshold") {
            return Status::InvalidArgument(fmt::format("--policy must be ebb, eager or threshold, not '{}'", f.policy));
          }
          policies = {f.policy};
        }
        std::set<std::string> traces = {"bursty", "sustained", "trickle"};
        if (!f.trace.empty()) {
          traces.clear();
          std::stringstream list(f.trace);
          for (std::string t; std::getline(list, t, ',');) {
            if (t != "bursty" && t != "sustained" && t != "trickle") {
              return Status::InvalidArgument(
                  fmt::format("--trace lists '{}'; the traces are bursty, sustained and trickle", t));
            }
            traces.insert(t);
          }
        }
        const double trickle_s = f.duration_s > 0 ? f.duration_s : 60.0;
        for (const auto& policy : policies) {
          if (traces.count("bursty") != 0) {
            EBB_ASSIGN_OR_RETURN(nlohmann::json bursty, RunBursty(ctx, policy));
            PrintIdle(ctx, bursty);
          }
          if (traces.count("sustained") != 0) {
            EBB_ASSIGN_OR_RETURN(nlohmann::json sustained, RunSustained(ctx, policy));
            PrintIdle(ctx, sustained);
          }
          if (traces.count("trickle") != 0) {
            for (double period : {0.1, 0.5, 2.0, 10.0}) {
              EBB_ASSIGN_OR_RETURN(nlohmann::json trickle, RunTrickle(ctx, policy, period, trickle_s));
              PrintIdle(ctx, trickle);
            }
          }
        }
        return nlohmann::json{{"workload", "idle"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
