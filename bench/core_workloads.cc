// The db_bench-style workloads: fillseq, fillrandom, overwrite, readrandom,
// readzipfian, readseq, readwhilewriting, and compact (full compaction +
// space amplification).
//
// Every workload draws its keys from its own random stream (--seed mixed
// with the workload's name and the thread), so readrandom does not replay
// fillrandom's order and overwrite writes other keys in another order than
// the fill.

#include <atomic>
#include <optional>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench.h"

namespace ebb::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

enum class KeyOrder { kSequential, kRandom };

// Runs `ops` operations split over flags.threads threads; op(thread_rnd, i)
// returns an error to stop. Each thread's random stream is the workload's
// own (WorkloadSeed).
Result<nlohmann::json> RunOps(BenchContext* ctx, const std::string& workload, uint64_t ops, int threads,
                              const std::function<Status(Random*, uint64_t)>& op) {
  std::vector<Histogram> hists(static_cast<size_t>(threads));
  std::vector<Status> errors(static_cast<size_t>(threads));
  ResetPeakRss();
  uint64_t written_before = ProcessBytesWritten();
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      Random rnd(WorkloadSeed(ctx->flags().seed, workload, static_cast<uint64_t>(t)));
      uint64_t begin = ops * static_cast<uint64_t>(t) / static_cast<uint64_t>(threads);
      uint64_t end = ops * static_cast<uint64_t>(t + 1) / static_cast<uint64_t>(threads);
      for (uint64_t i = begin; i < end; i++) {
        auto t0 = Clock::now();
        Status s = op(&rnd, i);
        hists[static_cast<size_t>(t)].Add(static_cast<uint64_t>(Micros(Clock::now() - t0) + 0.5));
        if (!s.ok() && !s.IsNotFound()) {
          errors[static_cast<size_t>(t)] = s;
          return;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& e : errors) {
    if (!e.ok()) return e.WithContext(workload);
  }
  Histogram all;
  for (const auto& h : hists) all.Merge(h);
  auto result = BaseResult(workload, ctx->flags().engine, ops, seconds, all, ProcessBytesWritten() - written_before);
  result["peak_rss_bytes"] = PeakRssBytes();
  return result;
}

Result<nlohmann::json> Fill(BenchContext* ctx, const std::string& name, KeyOrder order, bool fresh) {
  EBB_ASSIGN_OR_RETURN(BenchEngine * engine, ctx->Engine(fresh));
  const Flags& f = ctx->flags();
  auto result = RunOps(ctx, name, f.num, f.threads, [&](Random* rnd, uint64_t i) {
    uint64_t k = order == KeyOrder::kSequential ? i : rnd->Uniform(f.num);
    return engine->Put(static_cast<int>(k % static_cast<uint64_t>(f.dbs)), ctx->Key(k), ctx->Value(rnd));
  });
  if (result.ok()) {
    (*result)["disk_bytes"] = DirectoryBytes(f.data_dir);
    (*result)["user_bytes"] = f.num * static_cast<uint64_t>(f.key_size + f.value_size);
  }
  return result;
}

enum class KeyDist { kUniform, kZipfian };

// Point reads of keys in [0, --num): uniform, or Zipfian (skew --zipf-theta,
// YCSB's scrambled form: the popular ranks are hashed over the key space, so
// hot keys are not neighbours).
Result<nlohmann::json> ReadKeys(BenchContext* ctx, const std::string& name, KeyDist dist) {
  EBB_ASSIGN_OR_RETURN(BenchEngine * engine, ctx->Engine(false));
  const Flags& f = ctx->flags();
  std::optional<ZipfGenerator> zipf;
  if (dist == KeyDist::kZipfian) zipf.emplace(f.num, f.zipf_theta);
  std::atomic<uint64_t> found{0};
  auto result = RunOps(ctx, name, f.num, f.threads, [&](Random* rnd, uint64_t) {
    uint64_t k = zipf ? ScrambleRank(zipf->Next(rnd), f.num) : rnd->Uniform(f.num);
    std::string value;
    Status s = engine->Get(static_cast<int>(k % static_cast<uint64_t>(f.dbs)), ctx->Key(k), &value);
    if (s.ok()) found.fetch_add(1, std::memory_order_relaxed);
    return s;
  });
  if (result.ok()) {
    (*result)["found"] = found.load();
    if (zipf) (*result)["zipf_theta"] = f.zipf_theta;
  }
  return result;
}

Result<nlohmann::json> ReadSeq(BenchContext* ctx) {
  EBB_ASSIGN_OR_RETURN(BenchEngine * engine, ctx->Engine(false));
  const Flags& f = ctx->flags();
  Histogram h;
  uint64_t total = 0;
  auto start = Clock::now();
  for (int db = 0; db < f.dbs; db++) {
    auto t0 = Clock::now();
    EBB_ASSIGN_OR_RETURN(uint64_t n, engine->ScanAll(db));
    total += n;
    // Per-entry time of this database's scan (a scan is one long operation).
    if (n) h.Add(static_cast<uint64_t>(Micros(Clock::now() - t0) / static_cast<double>(n) + 0.5));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return BaseResult("readseq", f.engine, total, seconds, h, 0);
}

Result<nlohmann::json> ReadWhileWriting(BenchContext* ctx) {
  EBB_ASSIGN_OR_RETURN(BenchEngine * engine, ctx->Engine(false));
  const Flags& f = ctx->flags();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  Status writer_status;
  std::thread writer([&] {
    Random rnd(WorkloadSeed(f.seed, "readwhilewriting-writer", 0));
    while (!stop.load(std::memory_order_relaxed)) {
      uint64_t k = rnd.Uniform(f.num);
      Status s = engine->Put(static_cast<int>(k % static_cast<uint64_t>(f.dbs)), ctx->Key(k), ctx->Value(&rnd));
      if (!s.ok()) {
        writer_status = s;
        return;
      }
      writes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  auto result = RunOps(ctx, "readwhilewriting", f.num, f.threads, [&](Random* rnd, uint64_t) {
    uint64_t k = rnd->Uniform(f.num);
    std::string value;
    return engine->Get(static_cast<int>(k % static_cast<uint64_t>(f.dbs)), ctx->Key(k), &value);
  });
  stop = true;
  writer.join();
  if (!writer_status.ok()) return writer_status.WithContext("readwhilewriting writer");
  if (result.ok()) (*result)["background_writes"] = writes.load();
  return result;
}

Result<nlohmann::json> Compact(BenchContext* ctx) {
  EBB_ASSIGN_OR_RETURN(BenchEngine * engine, ctx->Engine(false));
  const Flags& f = ctx->flags();
  ResetPeakRss();
  uint64_t written_before = ProcessBytesWritten();
  auto start = Clock::now();
  EBB_RETURN_IF_ERROR(engine->CompactAll());
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t keys = 0;
  for (int db = 0; db < f.dbs; db++) {
    EBB_ASSIGN_OR_RETURN(uint64_t n, engine->ScanAll(db));
    keys += n;
  }
  // Journals/WALs are excluded: they are not part of the data's footprint
  // once flushed (and are reclaimed at different times by each engine).
  uint64_t disk = DirectoryBytes(f.data_dir);
  uint64_t live = keys * static_cast<uint64_t>(f.key_size + f.value_size);
  Histogram none;
  auto result = BaseResult("compact", f.engine, 1, seconds, none, ProcessBytesWritten() - written_before);
  result["peak_rss_bytes"] = PeakRssBytes();
  result["keys"] = keys;
  result["disk_bytes"] = disk;
  result["live_bytes"] = live;
  result["space_amp"] = live ? static_cast<double>(disk) / static_cast<double>(live) : 0.0;
  return result;
}

}  // namespace

void RegisterCoreWorkloads(WorkloadRegistry* r) {
  (*r)["fillseq"] = {"fillseq", "write --num keys in order into a fresh store",
                     [](BenchContext* c) { return Fill(c, "fillseq", KeyOrder::kSequential, true); }};
  (*r)["fillrandom"] = {"fillrandom", "write --num random keys into a fresh store",
                        [](BenchContext* c) { return Fill(c, "fillrandom", KeyOrder::kRandom, true); }};
  (*r)["overwrite"] = {"overwrite", "write --num random keys over the existing store",
                       [](BenchContext* c) { return Fill(c, "overwrite", KeyOrder::kRandom, false); }};
  (*r)["readrandom"] = {"readrandom", "--num point reads of uniformly random keys",
                        [](BenchContext* c) { return ReadKeys(c, "readrandom", KeyDist::kUniform); }};
  (*r)["readzipfian"] = {"readzipfian", "--num point reads of Zipfian keys (--zipf-theta; hot keys spread out)",
                         [](BenchContext* c) { return ReadKeys(c, "readzipfian", KeyDist::kZipfian); }};
  (*r)["readseq"] = {"readseq", "iterate every key in order", ReadSeq};
  (*r)["readwhilewriting"] = {"readwhilewriting", "--threads readers of random keys while one thread writes",
                              ReadWhileWriting};
  (*r)["compact"] = {"compact", "flush and fully compact, then report disk bytes over live bytes (space_amp)",
                     Compact};
}

}  // namespace ebb::bench
