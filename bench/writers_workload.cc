// ebb-bench writers: random writes from 1..32 threads into one
// database and into 16, with journal.sync batch and none. For Ebb, both
// write.completion modes: op_lock (acknowledge under the write's own lock,
// complete metadata in order) and db_lock (hold the database lock from
// submit to acknowledgement). --engine rocksdb|leveldb runs the same writes
// against a peer configured like for like (bench_engine.h), RocksDB with its
// pipelined write path. One JSON object per configuration.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench.h"
#include "ebb/ebb.h"

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One engine in one mode: Ebb with a completion mode, or a peer
// (completion empty).
struct Writer {
  std::string engine;
  std::string completion;
  std::string label() const { return completion.empty() ? engine : completion; }
};

// Ebb-only statistics of a run: what the database lock and the ordered
// completion step did (DatabaseStats, JournalStats).
void AddEbbStats(Store* store, uint64_t done, nlohmann::json* r) {
  uint64_t passes = 0, items = 0, lock_wait_us = 0, acquisitions = 0;
  StoreStatus status = store->GetStatus();
  double records_per_group = status.journal.batches_written
                                 ? static_cast<double>(status.journal.records_written) / status.journal.batches_written
                                 : 0.0;
  for (const auto& st : status.databases) {
    passes += st.completion_passes;
    items += st.completion_items;
    lock_wait_us += st.lock_wait_us;
    acquisitions += st.lock_acquisitions;
  }
  const double writes = static_cast<double>(done);
  (*r)["records_per_group_commit"] = records_per_group;
  (*r)["items_per_completion"] = passes ? static_cast<double>(items) / static_cast<double>(passes) : 0.0;
  (*r)["lock_wait_us"] = lock_wait_us;
  (*r)["lock_wait_us_per_op"] = done ? static_cast<double>(lock_wait_us) / writes : 0.0;
  (*r)["lock_acquisitions"] = acquisitions;
  (*r)["lock_acquisitions_per_write"] = done ? static_cast<double>(acquisitions) / writes : 0.0;
}

Result<nlohmann::json> RunWriters(BenchContext* ctx, const Writer& w, int threads, int dbs, const std::string& sync,
                                  uint64_t ops) {
  const Flags& f = ctx->flags();
  std::string dir = fmt::format("{}/writers-{}-{}-{}-{}", f.data_dir, w.label(), threads, dbs, sync);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  // RocksDB and LevelDB create only the last path component.
  std::filesystem::create_directories(f.data_dir, ec);
  EngineConfig config = ctx->MakeEngineConfig();
  config.data_dir = dir;
  config.sync = sync;
  config.dbs = dbs;
  config.rocksdb_pipelined_write = true;
  // --set overrides come after, and win.
  if (!w.completion.empty()) config.ebb_overrides.insert(config.ebb_overrides.begin(), {"write.completion", w.completion});
  EBB_ASSIGN_OR_RETURN(std::unique_ptr<BenchEngine> engine, NewBenchEngine(w.engine));
  Status opened = engine->Open(config);
  if (!opened.ok()) return opened.WithContext(fmt::format("writers: open {} in {}", w.engine, dir));
  std::vector<Histogram> hists(static_cast<size_t>(threads));
  std::vector<Status> errors(static_cast<size_t>(threads));
  ResetPeakRss();
  auto start = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      // The same keys and values for every engine.
      Random rnd(f.seed * 7919 + static_cast<uint64_t>(t));
      uint64_t n = ops / static_cast<uint64_t>(threads);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t k = rnd.Uniform(f.num);
        int db = static_cast<int>(k % static_cast<uint64_t>(dbs));
        auto t0 = SteadyClock::now();
        Status s = engine->Put(db, ctx->Key(k), ctx->Value(&rnd));
        hists[static_cast<size_t>(t)].Add(static_cast<uint64_t>(
            std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() + 0.5));
        if (!s.ok()) {
          errors[static_cast<size_t>(t)] = s;
          return;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  uint64_t peak_rss = PeakRssBytes();
  Status failed;
  for (const auto& e : errors) {
    if (!e.ok()) {
      failed = e;
      break;
    }
  }
  Histogram all;
  for (const auto& h : hists) all.Merge(h);
  uint64_t done = all.count();
  nlohmann::json r = BaseResult("writers", w.engine, done, seconds, all, 0);
  r.erase("bytes_written");
  r["threads"] = threads;
  r["dbs"] = dbs;
  r["sync"] = sync;
  if (!w.completion.empty()) r["completion"] = w.completion;
  if (Store* store = engine->ebb_store(); store && failed.ok()) AddEbbStats(store, done, &r);
  r["peak_rss_bytes"] = peak_rss;
  r["memory_budget_bytes"] = f.memory_budget_bytes;
  if (w.engine == "ebb") r["ebb_layout"] = f.ebb_layout == MemoryLayout::kPeer ? "peer" : "native";
  r["key_size"] = f.key_size;
  r["value_size"] = f.value_size;
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [k, v] : engine->Settings()) settings[k] = v;
  r["settings"] = std::move(settings);
  Status closed = engine->Close();
  engine.reset();
  std::filesystem::remove_all(dir, ec);
  if (!failed.ok()) return failed.WithContext(fmt::format("writers: {} put", w.engine));
  if (!closed.ok()) return closed.WithContext(fmt::format("writers: close {}", w.engine));
  return r;
}

}  // namespace

void RegisterWritersWorkload(WorkloadRegistry* r) {
  (*r)["writers"] = {
      "writers",
      "random writes, 1..32 threads, 1 and 16 databases, sync batch|none; Ebb with --completion op_lock|db_lock "
      "(default both), or --engine rocksdb (pipelined writes) | leveldb (no sync batch: skipped); "
      "--threads, --dbs, --sync run only the value given; --num ops per configuration",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        std::vector<Writer> writers;
        if (f.engine == "ebb") {
          if (f.completion.empty()) {
            writers = {{"ebb", "op_lock"}, {"ebb", "db_lock"}};
          } else if (f.completion == "op_lock" || f.completion == "db_lock") {
            writers = {{"ebb", f.completion}};
          } else {
            return Status::InvalidArgument(
                fmt::format("writers: --completion '{}': op_lock or db_lock", f.completion));
          }
        } else {
          if (!f.completion.empty()) {
            return Status::InvalidArgument(fmt::format(
                "writers: --completion chooses Ebb's write.completion; {} has one write path (drop --completion)",
                f.engine));
          }
          // Refuses an engine this build lacks, naming the ones it has.
          EBB_RETURN_IF_ERROR(NewBenchEngine(f.engine).status());
          writers = {{f.engine, ""}};
        }
        std::vector<int> thread_counts = {1, 2, 4, 8, 16, 32};
        if (f.threads_given) thread_counts = {f.threads};
        std::vector<std::string> syncs = {"batch", "none"};
        if (f.sync_given) syncs = {f.sync};
        std::vector<int> db_counts = {1, 16};
        if (f.dbs_given) db_counts = {f.dbs};
        nlohmann::json all = nlohmann::json::array();
        for (int dbs : db_counts) {
          for (const auto& sync : syncs) {
            if (f.engine == "leveldb" && sync == "batch" && !f.sync_given) {
              // Asked for explicitly, Open refuses it with the reason.
              std::fprintf(stderr,
                           "ebb-bench writers: leveldb has no sync batch (it cannot sync beside its writers): "
                           "skipped\n");
              continue;
            }
            for (int threads : thread_counts) {
              for (const auto& w : writers) {
                EBB_ASSIGN_OR_RETURN(nlohmann::json r, RunWriters(ctx, w, threads, dbs, sync, f.num));
                // One line per configuration as it finishes.
                if (f.json) {
                  std::printf("%s\n", r.dump().c_str());
                } else {
                  std::printf("writers dbs=%-2d sync=%-5s threads=%-2d %-7s %9.0f ops/s  p50 %7.1f us  p99 %8.1f us",
                              dbs, sync.c_str(), threads, w.label().c_str(), r["ops_per_sec"].get<double>(),
                              r["p50_us"].get<double>(), r["p99_us"].get<double>());
                  if (r.contains("items_per_completion")) {
                    std::printf("  items/completion %5.2f  records/group %5.2f  lock wait %6.2f us/op  "
                                "lock acquisitions %4.2f/write",
                                r["items_per_completion"].get<double>(), r["records_per_group_commit"].get<double>(),
                                r["lock_wait_us_per_op"].get<double>(), r["lock_acquisitions_per_write"].get<double>());
                  }
                  std::printf("\n");
                }
                std::fflush(stdout);
                all.push_back(std::move(r));
              }
            }
          }
        }
        return nlohmann::json{{"workload", "writers"}, {"engine", f.engine}, {"configurations", all.size()},
                              {"printed", true}};
      }};
}

}  // namespace ebb::bench
