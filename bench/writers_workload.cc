// ebb-bench writers: random writes from 1..32 threads into one
// database and into 16, with journal.sync batch and none, for
// write.completion op_lock (acknowledge under the write's own lock, complete
// metadata in order) and db_lock (hold the database lock from submit to
// acknowledgement). One JSON object per configuration.

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

Result<nlohmann::json> RunWriters(BenchContext* ctx, int threads, int dbs, const std::string& sync,
                                  const std::string& completion, uint64_t ops) {
  const Flags& f = ctx->flags();
  std::string dir = fmt::format("{}/writers-{}-{}-{}-{}", f.data_dir, threads, dbs, sync, completion);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Options o;
  o.data_dir = dir;
  o.Set("journal.sync", sync);
  o.Set("write.completion", completion);
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  EBB_ASSIGN_OR_RETURN(auto store, Store::Open(o));
  std::vector<std::shared_ptr<Database>> handles;
  for (int d = 0; d < dbs; d++) {
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(fmt::format("w{}", d)));
    handles.push_back(std::move(db));
  }
  std::vector<Histogram> hists(static_cast<size_t>(threads));
  std::vector<Status> errors(static_cast<size_t>(threads));
  auto start = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      Random rnd(f.seed * 7919 + static_cast<uint64_t>(t));
      uint64_t n = ops / static_cast<uint64_t>(threads);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t k = rnd.Uniform(f.num);
        auto& db = handles[static_cast<size_t>(k % static_cast<uint64_t>(dbs))];
        auto t0 = SteadyClock::now();
        Status s = db->Put(ctx->Key(k), ctx->Value(&rnd));
        hists[static_cast<size_t>(t)].Add(static_cast<uint64_t>(
            std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() + 0.5));
        if (!s.ok()) {
          errors[static_cast<size_t>(t)] = s;
          return;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  for (const auto& e : errors) EBB_RETURN_IF_ERROR(e);
  Histogram all;
  for (const auto& h : hists) all.Merge(h);
  uint64_t passes = 0, items = 0, lock_wait_us = 0;
  StoreStatus status = store->GetStatus();
  double records_per_group = status.journal.batches_written
                                 ? static_cast<double>(status.journal.records_written) / status.journal.batches_written
                                 : 0.0;
  for (const auto& st : status.databases) {
    passes += st.completion_passes;
    items += st.completion_items;
    lock_wait_us += st.lock_wait_us;
  }
  uint64_t done = all.count();
  EBB_RETURN_IF_ERROR(store->Close());
  store.reset();
  std::filesystem::remove_all(dir, ec);
  nlohmann::json r = BaseResult("writers", "ebb", done, seconds, all, 0);
  r.erase("bytes_written");
  r["threads"] = threads;
  r["dbs"] = dbs;
  r["sync"] = sync;
  r["completion"] = completion;
  r["records_per_group_commit"] = records_per_group;
  r["items_per_completion"] = passes ? static_cast<double>(items) / static_cast<double>(passes) : 0.0;
  r["lock_wait_us"] = lock_wait_us;
  r["lock_wait_us_per_op"] = done ? static_cast<double>(lock_wait_us) / static_cast<double>(done) : 0.0;
  return r;
}

}  // namespace

void RegisterWritersWorkload(WorkloadRegistry* r) {
  (*r)["writers"] = {
      "writers",
      "random writes, 1..32 threads, 1 and 16 databases, sync batch|none, --completion op_lock|db_lock (default both); "
      "--threads, --dbs, --sync run only the value given; --num ops per configuration",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        if (f.engine != "ebb") return Status::InvalidArgument("writers measures Ebb's write path: use --engine ebb");
        std::vector<std::string> completions = {"op_lock", "db_lock"};
        if (!f.completion.empty()) completions = {f.completion};
        std::vector<int> thread_counts = {1, 2, 4, 8, 16, 32};
        if (f.threads_given) thread_counts = {f.threads};
        std::vector<std::string> syncs = {"batch", "none"};
        if (f.sync_given) syncs = {f.sync};
        std::vector<int> db_counts = {1, 16};
        if (f.dbs_given) db_counts = {f.dbs};
        nlohmann::json all = nlohmann::json::array();
        for (int dbs : db_counts) {
          for (const auto& sync : syncs) {
            for (int threads : thread_counts) {
              for (const auto& completion : completions) {
                EBB_ASSIGN_OR_RETURN(nlohmann::json r, RunWriters(ctx, threads, dbs, sync, completion, f.num));
                // One line per configuration as it finishes.
                if (f.json) {
                  std::printf("%s\n", r.dump().c_str());
                } else {
                  std::printf("writers dbs=%-2d sync=%-5s threads=%-2d %-7s %9.0f ops/s  p50 %7.1f us  p99 %8.1f us  "
                              "items/completion %5.2f  records/group %5.2f  lock wait %6.2f us/op\n",
                              dbs, sync.c_str(), threads, completion.c_str(), r["ops_per_sec"].get<double>(),
                              r["p50_us"].get<double>(), r["p99_us"].get<double>(),
                              r["items_per_completion"].get<double>(), r["records_per_group_commit"].get<double>(),
                              r["lock_wait_us_per_op"].get<double>());
                }
                std::fflush(stdout);
                all.push_back(std::move(r));
              }
            }
          }
        }
        return nlohmann::json{{"workload", "writers"}, {"engine", "ebb"}, {"configurations", all.size()},
                              {"printed", true}};
      }};
}

}  // namespace ebb::bench
