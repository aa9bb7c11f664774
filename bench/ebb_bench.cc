// ebb-bench WORKLOAD [WORKLOAD...]: runs named workloads in order against one
// engine (--engine ebb|rocksdb|leveldb) and prints results, one JSON object
// per workload with --json. See docs/BENCHMARKS.md.

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "base/config.h"
#include "bench/bench.h"

int main(int argc, char** argv) {
  using namespace ebb::bench;
  WorkloadRegistry registry;
  RegisterCoreWorkloads(&registry);
  RegisterWritersWorkload(&registry);
  RegisterReadIsolationWorkload(&registry);
  RegisterIdleWorkload(&registry);
  RegisterSmooshWorkload(&registry);
  RegisterTieringWorkload(&registry);
  RegisterManyDbsWorkload(&registry);

  std::string names_help = "Workloads:";
  for (const auto& [name, w] : registry) names_help += fmt::format("\n  {:<18} {}", name, w.description);
  CLI::App app{"ebb-bench: Ebb's benchmark program.\n" + names_help};
  Flags f;
  std::vector<std::string> workloads;
  app.add_option("workloads", workloads, "Workloads to run, in order")->required();
  auto engines = AvailableEngines();
  std::string engine_list;
  for (const auto& e : engines) engine_list += (engine_list.empty() ? "" : "|") + e;
  app.add_option("--engine", f.engine, "Engine: " + engine_list)->capture_default_str();
  app.add_option("--num", f.num, "Operations (and key space) per workload")->capture_default_str();
  app.add_option("--key-size", f.key_size, "Key bytes")->capture_default_str()->check(CLI::Range(8, 1024));
  app.add_option("--value-size", f.value_size, "Value bytes")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  app.add_option("--threads", f.threads, "Client threads")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--sync", f.sync, "Sync mode: always|batch|none")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "batch", "none"}));
  app.add_option("--dbs", f.dbs, "Databases (keys are spread over them)")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--data", f.data_dir, "Data directory (default /tmp/ebb-bench-<engine>)");
  std::string memory_budget = "128MiB";
  app.add_option("--memory-budget", memory_budget,
                 "Memtable memory of every engine (RocksDB 2 x write_buffer_size, LevelDB 2 memtables, Ebb per "
                 "--ebb-layout); 128MiB is RocksDB's default and Ebb's default layout, 8MiB LevelDB's default")
      ->capture_default_str();
  std::string ebb_layout = "native";
  app.add_option("--ebb-layout", ebb_layout,
                 "How Ebb spends the budget: native (its defaults scaled: memtables of 1/16, writeback band 1/8-1/2, "
                 "writers slowed from 1/2) or peer (two memtables of 1/2, flushed at once)")
      ->capture_default_str()
      ->check(CLI::IsMember({"native", "peer"}));
  app.add_option("--zipf-theta", f.zipf_theta, "readzipfian: Zipfian skew")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.9999));
  app.add_flag("--use-existing", f.use_existing, "Do not wipe the data directory before fill workloads");
  app.add_flag("--json", f.json, "Print one JSON object per workload");
  app.add_option("--seed", f.seed, "Random seed")->capture_default_str();
  app.add_option("--duration", f.duration_s, "Seconds, for workloads that run for a time");
  app.add_option("--set", f.set, "Ebb configuration override section.key=value (repeatable)");
  app.add_option("--completion", f.completion, "writers, Ebb: op_lock|db_lock (default: both)");
  app.add_option("--read-exec", f.read_exec, "readisolation: readpool|shared")->capture_default_str();
  app.add_option("--read-rate", f.read_rate, "readisolation: reads/s offered open-loop in the paced phases")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--policy", f.policy, "idle: ebb|eager|threshold; smoosh: channels|eager");
  app.add_option("--trace", f.trace, "idle: bursty,sustained,trickle (comma-separated; default all)");
  app.add_option("--out", f.out_dir,
                 "Directory for CSV and plots (idle, smoosh, tiering; default: a new bench/results/<workload>-<time>; "
                 "--out docs updates the plots docs/BENCHMARKS.md shows)");
  app.add_option("--manydbs", f.manydbs, "manydbs: database counts to run (default 10000 100000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10000000}));
  app.add_option("--keys-per-db", f.keys_per_db, "manydbs: keys written into each database")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--tier-store", f.tier_store, "tiering: local|s3 (s3: s3rver, or the service EBB_TEST_S3_ENDPOINT names; default: both)");
  CLI11_PARSE(app, argc, argv);
  f.threads_given = app.get_option("--threads")->count() > 0;
  f.sync_given = app.get_option("--sync")->count() > 0;
  f.dbs_given = app.get_option("--dbs")->count() > 0;
  f.num_given = app.get_option("--num")->count() > 0;
  auto budget = ebb::ParseBytes(memory_budget);
  if (!budget.ok() || *budget < (64 << 10)) {
    std::fprintf(stderr, "ebb-bench: --memory-budget '%s': %s\n", memory_budget.c_str(),
                 budget.ok() ? "at least 64KiB" : budget.status().ToString().c_str());
    return 2;
  }
  f.memory_budget_bytes = static_cast<uint64_t>(*budget);
  f.ebb_layout = ebb_layout == "peer" ? MemoryLayout::kPeer : MemoryLayout::kNative;

  if (f.data_dir.empty()) f.data_dir = "/tmp/ebb-bench-" + f.engine;
  for (const auto& w : workloads) {
    if (!registry.count(w)) {
      std::fprintf(stderr, "ebb-bench: unknown workload '%s'; run ebb-bench --help for the list\n", w.c_str());
      return 2;
    }
  }
  BenchContext ctx(f);
  int exit_code = 0;
  // One id per process, and the workloads it runs: results of one process
  // share a store (fillrandom then compact is the end-to-end pair).
  const std::string run_id = fmt::format("{}-{}", getpid(), std::time(nullptr));
  std::string sequence;
  for (const auto& w : workloads) sequence += (sequence.empty() ? "" : " ") + w;
  std::string previous;  // the workload run before this one in this process
  int step = 0;
  for (const auto& w : workloads) {
    auto result = registry[w].run(&ctx);
    if (result.ok() && !result->value("printed", false)) {
      // What the state the workload found came from, and how the engine of
      // a core workload was configured (bench_engine.h).
      (*result)["after"] = previous;
      (*result)["run_id"] = run_id;
      (*result)["sequence"] = sequence;
      (*result)["step"] = step;
      nlohmann::json settings = ctx.EngineSettings();
      if (!settings.is_null()) {
        (*result)["memory_budget_bytes"] = f.memory_budget_bytes;
        if (f.engine == "ebb") (*result)["ebb_layout"] = ebb_layout;
        (*result)["sync"] = f.sync;
        (*result)["threads"] = f.threads;
        (*result)["settings"] = settings;
      }
    }
    previous = w;
    step++;
    if (!result.ok()) {
      std::fprintf(stderr, "ebb-bench: %s failed: %s\n", w.c_str(), result.status().ToString().c_str());
      exit_code = 1;
      break;
    }
    if (result->value("printed", false)) {
      // A multi-configuration workload printed its own lines.
    } else if (f.json) {
      std::printf("%s\n", result->dump().c_str());
    } else {
      const auto& r = *result;
      std::printf("%-18s %-8s %10.0f ops/s  %8.2f us/op  p50 %7.1f  p99 %8.1f us  %s written",
                  w.c_str(), f.engine.c_str(), r.value("ops_per_sec", 0.0),
                  r.value("ops_per_sec", 0.0) > 0 ? 1e6 / r.value("ops_per_sec", 1.0) : 0.0, r.value("p50_us", 0.0),
                  r.value("p99_us", 0.0), ebb::FormatBytes(r.value("bytes_written", uint64_t{0})).c_str());
      for (const auto& [k, v] : r.items()) {
        if (k == "workload" || k == "engine" || k == "ops_per_sec" || k == "p50_us" || k == "p99_us" ||
            k == "bytes_written" || k == "ops" || k == "seconds" || k == "p999_us" || k == "settings" ||
            k == "after" || k == "run_id" || k == "sequence" || k == "step") {
          continue;
        }
        std::printf("  %s=%s", k.c_str(), v.dump().c_str());
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  ebb::Status s = ctx.CloseEngine();
  if (!s.ok()) {
    std::fprintf(stderr, "ebb-bench: close: %s\n", s.ToString().c_str());
    exit_code = 1;
  }
  return exit_code;
}
