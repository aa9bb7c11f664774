// ebb-bench readisolation: how reads fare when something else
// saturates the machine, with reads on the ReadPool versus the shared pool
// the ReadPool replaced.
//
//   writes    point reads while writer threads saturate the write path:
//             read-only baseline, then with writers; --read-exec readpool
//             (reads on the ReadPool, writes on a write pool) or shared
//             (reads and writes as tasks of one pool, TiKV's old design).
//   scans     high-priority point reads alone, then while low-priority scans
//             saturate the low pool.
//
// Both measure reads twice: closed loop (4 readers, each issuing its next
// read when the last one returns: the capacity left for reads) and paced
// (reads offered open-loop at --read-rate by a thread that never waits for
// them, so a stall delays every read submitted during it; a closed loop
// issues fewer reads while stalled and understates the tail).
//   overload  reads offered at twice the measured capacity: the excess is
//             rejected at once (Busy) instead of queueing; rejection cost,
//             and the admitted reads' p99 against the unloaded p99 (closed
//             loop and paced, measured just before).
//
// Results: read_p50_us, read_p99_us, read_p999_us, read_ops_per_sec,
// rejected_fraction, reject_cost_us (one JSON object per scenario and mode).

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "base/mutex.h"
#include "base/status_macros.h"
#include "bench/bench.h"
#include "ebb/ebb.h"
#include "runtime/future_pool.h"

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double ElapsedUs(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count();
}

constexpr int kReaderThreads = 4;
constexpr int kWriterThreads = 16;
constexpr int kScanThreads = 8;
constexpr int kSharedPoolThreads = 4;
constexpr size_t kScanLimit = 1000;

struct Setup {
  std::unique_ptr<Store> store;
  std::shared_ptr<Database> db;
  uint64_t keys = 0;
};

Result<Setup> OpenLoaded(BenchContext* ctx) {
  const Flags& f = ctx->flags();
  std::string dir = f.data_dir + "/readisolation";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Options o;
  o.data_dir = dir;
  o.Set("journal.sync", f.sync);
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  Setup s;
  EBB_ASSIGN_OR_RETURN(s.store, Store::Open(o));
  EBB_ASSIGN_OR_RETURN(s.db, s.store->OpenDatabase("reads"));
  s.keys = std::min<uint64_t>(f.num, 200000);
  Random rnd(f.seed);
  WriteBatch batch;
  for (uint64_t k = 0; k < s.keys; k++) {
    batch.Put(ctx->Key(k), ctx->Value(&rnd));
    if (batch.Count() == 1000) {
      EBB_RETURN_IF_ERROR(s.db->Write(WriteOptions(), batch));
      batch.Clear();
    }
  }
  EBB_RETURN_IF_ERROR(s.db->Write(WriteOptions(), batch));
  EBB_RETURN_IF_ERROR(s.db->Flush());
  return s;
}

// Closed-loop readers for `seconds`; `read` performs one read and returns
// when it completed. Returns the latency histogram and the read count.
struct ReadStats {
  Histogram latency_us;
  uint64_t ops = 0;
  uint64_t busy = 0;
  double seconds = 0;
};

ReadStats RunReaders(int threads, double seconds, uint64_t seed, const std::function<Status(Random*)>& read) {
  std::vector<ReadStats> per(static_cast<size_t>(threads));
  std::atomic<bool> stop{false};
  auto start = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      Random rnd(seed + static_cast<uint64_t>(t));
      auto& st = per[static_cast<size_t>(t)];
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = SteadyClock::now();
        Status s = read(&rnd);
        if (s.IsBusy()) {
          st.busy++;
          std::this_thread::yield();
          continue;
        }
        st.latency_us.Add(static_cast<uint64_t>(ElapsedUs(t0) + 0.5));
        st.ops++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  ReadStats all;
  all.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  for (const auto& p : per) {
    all.latency_us.Merge(p.latency_us);
    all.ops += p.ops;
    all.busy += p.busy;
  }
  return all;
}

// Reads offered open-loop at `rate` per second for `seconds` by one pacing
// thread. `submit` starts one asynchronous read and calls `done` when it
// completes (or returns an error: Busy counts as rejected). Latency runs
// from submission to completion; the pacer never waits for a read.
using AsyncRead = std::function<Status(Random*, std::function<void()> done)>;

ReadStats RunPacedReads(double seconds, double rate, uint64_t seed, const AsyncRead& submit) {
  ReadStats stats;
  Mutex mu;
  std::atomic<uint64_t> submitted{0}, completed{0};
  Random rnd(seed);
  const auto start = SteadyClock::now();
  // The op never fails (a refused read is counted), so neither does RunPaced.
  (void)RunPaced(seconds, rate, std::chrono::microseconds(50), [&]() -> Status {
    const auto t0 = SteadyClock::now();
    Status st = submit(&rnd, [&, t0] {
      uint64_t us = static_cast<uint64_t>(ElapsedUs(t0) + 0.5);
      {
        MutexLock lock(&mu);
        stats.latency_us.Add(us);
      }
      completed.fetch_add(1, std::memory_order_release);
    });
    if (st.ok()) {
      submitted.fetch_add(1, std::memory_order_relaxed);
    } else {
      stats.busy++;
    }
    return Status::OK();
  });
  stats.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  while (completed.load(std::memory_order_acquire) < submitted.load(std::memory_order_relaxed)) {
    std::this_thread::yield();
  }
  MutexLock lock(&mu);
  stats.ops = submitted.load();
  return stats;
}

AsyncRead ReadPoolRead(Database* db, BenchContext* ctx, uint64_t keys, Priority priority) {
  return [=](Random* rnd, std::function<void()> done) {
    return db->GetAsync(ctx->Key(rnd->Uniform(keys)), priority, [done = std::move(done)](Result<std::string>) { done(); });
  };
}

nlohmann::json ReadResult(const std::string& scenario, const std::string& mode, const ReadStats& r) {
  return {
      {"workload", "readisolation"},
      {"engine", "ebb"},
      {"scenario", scenario},
      {"read_exec", mode},
      {"loop", "closed"},
      {"read_ops", r.ops},
      {"read_ops_per_sec", r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0.0},
      {"read_p50_us", r.latency_us.Percentile(50)},
      {"read_p99_us", r.latency_us.Percentile(99)},
      {"read_p999_us", r.latency_us.Percentile(99.9)},
      {"rejected_fraction", r.ops + r.busy ? static_cast<double>(r.busy) / static_cast<double>(r.ops + r.busy) : 0.0},
  };
}

// Marks a result as from a paced phase (`loop`: closed or paced).
nlohmann::json PacedResult(nlohmann::json r, double rate) {
  r["loop"] = "paced";
  r["offered_reads_per_sec"] = rate;
  return r;
}

Status PointRead(Database* db, BenchContext* ctx, uint64_t keys, Priority priority, Random* rnd) {
  auto f = db->GetAsync(ctx->Key(rnd->Uniform(keys)), priority);
  Result<std::string> r = f.get();
  return r.ok() || r.status().IsNotFound() ? Status::OK() : r.status();
}

void Print(BenchContext* ctx, nlohmann::json r) {
  r["sync"] = ctx->flags().sync;
  if (ctx->flags().json) {
    std::printf("%s\n", r.dump().c_str());
  } else {
    std::printf("readisolation %-9s %-6s %-22s %9.0f reads/s  p50 %7.1f  p99 %8.1f  p999 %8.1f us  rejected %.3f%s\n",
                r["scenario"].get<std::string>().c_str(), r["loop"].get<std::string>().c_str(),
                r["read_exec"].get<std::string>().c_str(),
                r["read_ops_per_sec"].get<double>(), r["read_p50_us"].get<double>(), r["read_p99_us"].get<double>(),
                r["read_p999_us"].get<double>(), r["rejected_fraction"].get<double>(),
                r.contains("reject_cost_us") ? fmt::format("  reject cost {:.2f} us", r["reject_cost_us"].get<double>()).c_str()
                                             : "");
  }
  std::fflush(stdout);
}

// Writers saturating the write path. In both modes writes are tasks of one
// pool of kSharedPoolThreads threads (the write executor, as `ebb serve`
// has, at nice server.write_nice), fed by kWriterThreads client threads so
// that its queue never runs dry; only where reads run differs: on the
// ReadPool, or as tasks of that same pool (the shared design the ReadPool
// replaced).
Status ScenarioWrites(BenchContext* ctx, Setup* s, double seconds) {
  const Flags& f = ctx->flags();
  Database* db = s->db.get();
  ReadStats baseline = RunReaders(kReaderThreads, seconds, f.seed, [&](Random* rnd) {
    return PointRead(db, ctx, s->keys, Priority::kNormal, rnd);
  });
  Print(ctx, ReadResult("writes", "read-only baseline", baseline));
  ReadStats paced_baseline =
      RunPacedReads(seconds, f.read_rate, f.seed + 50, ReadPoolRead(db, ctx, s->keys, Priority::kNormal));
  Print(ctx, PacedResult(ReadResult("writes", "read-only baseline", paced_baseline), f.read_rate));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  const BackgroundSchedulerStatus work_before = s->store->GetStatus().work;
  const bool shared = f.read_exec == "shared";
  FuturePoolOptions po;
  po.name = shared ? "shared" : "writes";
  // server.write_threads when set (--set server.write_threads=1: what ebb
  // serve derives on two cores with journal.sync = batch, one core left for
  // reads), else kSharedPoolThreads.
  EBB_ASSIGN_OR_RETURN(std::string write_threads, s->store->GetConfig("server", "write_threads"));
  // (unset: empty or 0).
  const int configured_threads = write_threads.empty() ? 0 : std::atoi(write_threads.c_str());
  po.threads = configured_threads > 0 ? configured_threads : kSharedPoolThreads;
  // The pool's CPU weight is server.write_nice, as for ebb serve's write
  // executor (--set server.write_nice=10). In shared mode the pool runs the
  // reads too, so they get the same weight.
  EBB_ASSIGN_OR_RETURN(std::string write_nice, s->store->GetConfig("server", "write_nice"));
  po.nice = std::stoi(write_nice);
  EBB_ASSIGN_OR_RETURN(std::unique_ptr<FuturePool> pool, FuturePool::Create(std::move(po)));
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriterThreads; t++) {
    writers.emplace_back([&, t] {
      Random rnd(f.seed * 31 + static_cast<uint64_t>(t));
      while (!stop.load(std::memory_order_relaxed)) {
        std::string key = ctx->Key(rnd.Uniform(s->keys));
        std::string value(ctx->Value(&rnd));
        Status st = pool->SpawnFuture([&](TaskContext&) { return db->Put(key, value); }).get();
        if (st.ok()) writes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  ReadStats loaded;
  if (shared) {
    loaded = RunReaders(kReaderThreads, seconds, f.seed + 100, [&](Random* rnd) {
      std::string key = ctx->Key(rnd->Uniform(s->keys));
      return pool
          ->SpawnFuture([&](TaskContext&) -> Status {
            std::string v;
            Status st = db->Get(ReadOptions(), key, &v);
            return st.IsNotFound() ? Status::OK() : st;
          })
          .get();
    });
  } else {
    loaded = RunReaders(kReaderThreads, seconds, f.seed + 100, [&](Random* rnd) {
      return PointRead(db, ctx, s->keys, Priority::kNormal, rnd);
    });
  }
  const uint64_t writes_closed = writes.load();
  const BackgroundSchedulerStatus work_after = s->store->GetStatus().work;
  ReadStats paced;
  if (shared) {
    paced = RunPacedReads(seconds, f.read_rate, f.seed + 150, [&](Random* rnd, std::function<void()> done) {
      return pool->Spawn(
          [db, key = ctx->Key(rnd->Uniform(s->keys)), done](TaskContext&) {
            std::string v;
            (void)db->Get(ReadOptions(), key, &v);
            done();
          },
          [done](const Status&) { done(); });
    });
  } else {
    paced = RunPacedReads(seconds, f.read_rate, f.seed + 150, ReadPoolRead(db, ctx, s->keys, Priority::kNormal));
  }
  const double writes_paced = static_cast<double>(writes.load() - writes_closed) / paced.seconds;
  stop = true;
  for (auto& w : writers) w.join();
  const std::string mode = shared ? "shared (writes+reads)" : "readpool";
  nlohmann::json r = ReadResult("writes", mode, loaded);
  r["writes_per_sec"] = static_cast<double>(writes_closed) / loaded.seconds;
  r["write_nice"] = po.nice;
  r["write_threads"] = po.threads;
  r["throttled_writes"] = work_after.throttled_writes - work_before.throttled_writes;
  r["throttle_pause_s"] = static_cast<double>(work_after.throttle_pause_us - work_before.throttle_pause_us) / 1e6;
  r["p99_vs_read_only"] = loaded.latency_us.Percentile(99) / std::max(1.0, baseline.latency_us.Percentile(99));
  Print(ctx, r);
  nlohmann::json rp = PacedResult(ReadResult("writes", mode, paced), f.read_rate);
  rp["writes_per_sec"] = writes_paced;
  rp["write_nice"] = po.nice;
  rp["write_threads"] = po.threads;
  rp["p99_vs_read_only"] = paced.latency_us.Percentile(99) / std::max(1.0, paced_baseline.latency_us.Percentile(99));
  Print(ctx, rp);
  return Status::OK();
}

Status ScenarioScans(BenchContext* ctx, Setup* s, double seconds) {
  const Flags& f = ctx->flags();
  Database* db = s->db.get();
  ReadStats baseline = RunReaders(kReaderThreads, seconds, f.seed + 200, [&](Random* rnd) {
    return PointRead(db, ctx, s->keys, Priority::kHigh, rnd);
  });
  Print(ctx, ReadResult("scans", "high alone", baseline));
  ReadStats paced_baseline =
      RunPacedReads(seconds, f.read_rate, f.seed + 250, ReadPoolRead(db, ctx, s->keys, Priority::kHigh));
  Print(ctx, PacedResult(ReadResult("scans", "high alone", paced_baseline), f.read_rate));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> scans{0};
  std::vector<std::thread> scanners;
  for (int t = 0; t < kScanThreads; t++) {
    scanners.emplace_back([&, t] {
      Random rnd(f.seed * 17 + static_cast<uint64_t>(t));
      while (!stop.load(std::memory_order_relaxed)) {
        ScanRequest req;
        req.start = ctx->Key(rnd.Uniform(s->keys));
        req.limit = kScanLimit;
        std::promise<void> done;
        Status st = db->ScanAsync(std::move(req), Priority::kLow, [&](Result<ScanBatch>) { done.set_value(); });
        if (st.ok()) {
          done.get_future().wait();
          scans.fetch_add(1, std::memory_order_relaxed);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  ReadStats loaded = RunReaders(kReaderThreads, seconds, f.seed + 300, [&](Random* rnd) {
    return PointRead(db, ctx, s->keys, Priority::kHigh, rnd);
  });
  const uint64_t scans_closed = scans.load();
  ReadStats paced = RunPacedReads(seconds, f.read_rate, f.seed + 350, ReadPoolRead(db, ctx, s->keys, Priority::kHigh));
  const double scans_paced = static_cast<double>(scans.load() - scans_closed) / paced.seconds;
  stop = true;
  for (auto& t : scanners) t.join();
  nlohmann::json r = ReadResult("scans", "high while low scans", loaded);
  r["low_scans_per_sec"] = static_cast<double>(scans_closed) / loaded.seconds;
  r["p99_vs_alone"] = loaded.latency_us.Percentile(99) / std::max(1.0, baseline.latency_us.Percentile(99));
  Print(ctx, r);
  nlohmann::json rp = PacedResult(ReadResult("scans", "high while low scans", paced), f.read_rate);
  rp["low_scans_per_sec"] = scans_paced;
  rp["p99_vs_alone"] = paced.latency_us.Percentile(99) / std::max(1.0, paced_baseline.latency_us.Percentile(99));
  Print(ctx, rp);
  return Status::OK();
}

Status ScenarioOverload(BenchContext* ctx, Setup* s, double seconds) {
  const Flags& f = ctx->flags();
  Database* db = s->db.get();
  // The unloaded tails the admitted reads are compared with, in the same
  // run: closed loop (kReaderThreads readers) and paced at --read-rate.
  const ReadStats unloaded_closed = RunReaders(kReaderThreads, seconds / 2, f.seed + 400, [&](Random* rnd) {
    return PointRead(db, ctx, s->keys, Priority::kNormal, rnd);
  });
  const ReadStats unloaded_paced =
      RunPacedReads(seconds / 2, f.read_rate, f.seed + 450, ReadPoolRead(db, ctx, s->keys, Priority::kNormal));
  // Capacity: as many concurrent asynchronous reads as the pool admits.
  std::atomic<uint64_t> completed{0};
  auto measure_start = SteadyClock::now();
  {
    std::atomic<bool> stop{false};
    std::vector<std::thread> submitters;
    for (int t = 0; t < 2; t++) {
      submitters.emplace_back([&, t] {
        Random rnd(f.seed * 5 + static_cast<uint64_t>(t));
        while (!stop.load(std::memory_order_relaxed)) {
          Status st = db->GetAsync(ctx->Key(rnd.Uniform(s->keys)), Priority::kNormal,
                                   [&](Result<std::string>) { completed.fetch_add(1, std::memory_order_relaxed); });
          if (!st.ok()) std::this_thread::yield();
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds / 2));
    stop = true;
    for (auto& t : submitters) t.join();
  }
  double capacity = static_cast<double>(completed.load()) / std::chrono::duration<double>(SteadyClock::now() - measure_start).count();
  // Let the queue drain before the open-loop phase.
  while (s->store->GetStatus().read_pool.normal.queued + s->store->GetStatus().read_pool.normal.running > 0) {
    std::this_thread::yield();
  }
  // Open loop at twice the capacity, paced by one submitting thread.
  double rate = 2 * capacity;
  std::atomic<uint64_t> done{0};
  uint64_t admitted = 0, rejected = 0;
  Histogram reject_ns;
  Histogram latency_us;
  Mutex latency_mu;
  Random rnd(f.seed * 13);
  auto start = SteadyClock::now();
  // The pacer sleeps when nothing is due rather than spin, leaving the core
  // to the pool (submissions then go out in small bursts, at the same
  // average rate).
  EBB_RETURN_IF_ERROR(RunPaced(seconds, rate, std::chrono::microseconds(50), [&]() -> Status {
    auto t0 = SteadyClock::now();
    Status st = db->GetAsync(ctx->Key(rnd.Uniform(s->keys)), Priority::kNormal, [&, t0](Result<std::string>) {
      uint64_t us = static_cast<uint64_t>(ElapsedUs(t0) + 0.5);
      MutexLock lock(&latency_mu);
      latency_us.Add(us);
      done.fetch_add(1, std::memory_order_relaxed);
    });
    if (st.ok()) {
      admitted++;
    } else if (st.IsBusy()) {
      rejected++;
      reject_ns.Add(static_cast<uint64_t>(std::chrono::duration<double, std::nano>(SteadyClock::now() - t0).count()));
    }
    return Status::OK();
  }));
  double seconds_run = std::chrono::duration<double>(SteadyClock::now() - start).count();
  while (done.load() < admitted) std::this_thread::yield();
  ReadStats r;
  {
    MutexLock lock(&latency_mu);
    r.latency_us = latency_us;
  }
  r.ops = admitted;
  r.busy = rejected;
  r.seconds = seconds_run;
  nlohmann::json j = ReadResult("overload", "readpool at 2x capacity", r);
  j["loop"] = "paced";
  j["capacity_reads_per_sec"] = capacity;
  j["offered_reads_per_sec"] = static_cast<double>(admitted + rejected) / seconds_run;
  j["reject_cost_us"] = reject_ns.Mean() / 1000.0;
  j["reject_cost_p99_us"] = reject_ns.Percentile(99) / 1000.0;
  const double closed_p99 = unloaded_closed.latency_us.Percentile(99);
  const double paced_p99 = unloaded_paced.latency_us.Percentile(99);
  j["unloaded_closed_p99_us"] = closed_p99;
  j["unloaded_paced_p99_us"] = paced_p99;
  j["p99_vs_unloaded_closed"] = r.latency_us.Percentile(99) / std::max(1.0, closed_p99);
  j["p99_vs_unloaded_paced"] = r.latency_us.Percentile(99) / std::max(1.0, paced_p99);
  Print(ctx, j);
  return Status::OK();
}

}  // namespace

void RegisterReadIsolationWorkload(WorkloadRegistry* r) {
  (*r)["readisolation"] = {
      "readisolation",
      "point reads under saturating writes (--read-exec readpool|shared; the write pool runs at "
      "server.write_nice), high-priority reads under low-priority scans, reads offered at 2x capacity; --duration "
      "seconds per phase (default 5)",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("readisolation measures Ebb's ReadPool: use --engine ebb");
        if (f.read_exec != "readpool" && f.read_exec != "shared") {
          return Status::InvalidArgument(fmt::format("--read-exec must be readpool or shared, not '{}'", f.read_exec));
        }
        double seconds = f.duration_s > 0 ? f.duration_s : 5.0;
        EBB_ASSIGN_OR_RETURN(Setup s, OpenLoaded(ctx));
        EBB_RETURN_IF_ERROR(ScenarioWrites(ctx, &s, seconds));
        if (f.read_exec == "readpool") {
          EBB_RETURN_IF_ERROR(ScenarioScans(ctx, &s, seconds));
          EBB_RETURN_IF_ERROR(ScenarioOverload(ctx, &s, seconds));
        }
        s.db.reset();
        EBB_RETURN_IF_ERROR(s.store->Close());
        return nlohmann::json{{"workload", "readisolation"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
