// ebb-bench WORKLOAD [WORKLOAD...]: runs named workloads in order against one
// engine (--engine ebb|rocksdb|leveldb) and prints results, one JSON object
// per workload with --json. See docs/BENCHMARKS.md.

#include <CLI/CLI.hpp>

#include <cstdio>

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
  app.add_flag("--use-existing", f.use_existing, "Do not wipe the data directory before fill workloads");
  app.add_flag("--json", f.json, "Print one JSON object per workload");
  app.add_option("--seed", f.seed, "Random seed")->capture_default_str();
  app.add_option("--duration", f.duration_s, "Seconds, for workloads that run for a time");
  app.add_option("--set", f.set, "Ebb configuration override section.key=value (repeatable)");
  app.add_option("--completion", f.completion, "writers: op_lock|db_lock (default: both)");
  app.add_option("--read-exec", f.read_exec, "readisolation: readpool|shared")->capture_default_str();
  app.add_option("--read-rate", f.read_rate, "readisolation: reads/s offered open-loop in the paced phases")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--policy", f.policy, "idle: ebb|eager|threshold; smoosh: channels|eager");
  app.add_option("--trace", f.trace, "idle: bursty,sustained,trickle (comma-separated; default all)");
  app.add_option("--out", f.out_dir, "Directory for CSV and plots (idle, smoosh, tiering; default docs)");
  app.add_option("--tier-store", f.tier_store, "tiering: local|s3rver (default: both)");
  CLI11_PARSE(app, argc, argv);
  f.threads_given = app.get_option("--threads")->count() > 0;
  f.sync_given = app.get_option("--sync")->count() > 0;
  f.dbs_given = app.get_option("--dbs")->count() > 0;

  if (f.data_dir.empty()) f.data_dir = "/tmp/ebb-bench-" + f.engine;
  for (const auto& w : workloads) {
    if (!registry.count(w)) {
      std::fprintf(stderr, "ebb-bench: unknown workload '%s'; run ebb-bench --help for the list\n", w.c_str());
      return 2;
    }
  }
  BenchContext ctx(f);
  int exit_code = 0;
  for (const auto& w : workloads) {
    auto result = registry[w].run(&ctx);
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
            k == "bytes_written" || k == "ops" || k == "seconds" || k == "p999_us") {
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
