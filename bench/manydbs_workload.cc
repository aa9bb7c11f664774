// ebb-bench manydbs: what many small databases in one store cost. For each
// count N (--manydbs, default 10,000 and 100,000) on a fresh store:
//
//   create    open N new databases, write --keys-per-db keys into each
//             (16-byte keys, --value-size values): time per database and
//             resident memory per database;
//   quiesce   then nothing: the time from the last write until every
//             background class is asleep with nothing pending, and the
//             fsyncs (and files) that took;
//   read      --num point reads (default 200,000), each of a random key of a
//             random database: p50/p99/p999 and how many segment files were
//             opened for them (the segment cache holds
//             store.max_open_segments);
//   reopen    close the store, open it again and open all N databases.
//
// Files go through a CountingFileSystem over the POSIX one, which counts
// syncs and opens. Ebb only: the peers have no comparable many-database mode
// (RocksDB column families and LevelDB instances each cost far more).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench.h"
#include "bench/counting_file_system.h"
#include "ebb/ebb.h"
#include "engine/engine.h"

namespace ebb::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string DbName(uint64_t i) { return fmt::format("db{:06}", i); }

struct Quiescence {
  bool quiet = false;
  double seconds = -1;  // last class asleep - last foreground write
};

// Polls the store (once a second: a status walks every database) until every
// class is asleep with nothing pending and no timer armed, at most
// `timeout_s`. The time comes from the classes' own transition times, so the
// polling interval does not blur it.
Quiescence WaitForQuiescence(Store* store, double timeout_s) {
  Quiescence q;
  auto deadline = SteadyClock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    StoreStatus st = store->GetStatus();
    bool quiet = !st.work.armed_deadline_micros.has_value();
    int64_t last_write = 0, last_sleep = 0;
    for (const auto& c : st.work.classes) {
      if (c.name == "foreground") {
        last_write = c.last_transition_micros;
        continue;
      }
      quiet = quiet && c.state == "asleep" && c.pending_bytes == 0;
      last_sleep = std::max(last_sleep, c.last_transition_micros);
    }
    if (quiet) {
      q.quiet = true;
      q.seconds = std::max<double>(0, static_cast<double>(last_sleep - last_write) / 1e6);
      return q;
    }
    if (SteadyClock::now() >= deadline) return q;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Result<nlohmann::json> RunManyDbs(BenchContext* ctx, uint64_t n) {
  const Flags& f = ctx->flags();
  const std::string dir = fmt::format("{}/manydbs-{}", f.data_dir, n);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  CountingFileSystem fs(DefaultFileSystem());
  Options o;
  o.data_dir = dir;
  o.Set("journal.sync", f.sync);
  // The workload creates n databases; the store's guard against runaway
  // creation (store.max_databases, 10000 by default) must allow them.
  o.Set("store.max_databases", std::to_string(std::max<uint64_t>(n, 10000)));
  for (const auto& kv : ctx->MakeEngineConfig().ebb_overrides) o.Set(kv.first, kv.second);
  EngineEnv env;
  env.fs = &fs;

  nlohmann::json j = {{"workload", "manydbs"}, {"engine", "ebb"}, {"dbs", n}, {"keys_per_db", f.keys_per_db},
                      {"value_size", f.value_size}, {"sync", f.sync}};
  const uint64_t rss0 = RssBytes();
  auto t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(auto store, OpenStore(o, env));
  std::vector<std::shared_ptr<Database>> dbs;
  dbs.reserve(n);
  for (uint64_t i = 0; i < n; i++) {
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(DbName(i)));
    dbs.push_back(std::move(db));
  }
  const double create_s = SecondsSince(t0);
  const uint64_t rss_created = RssBytes();
  const FileSystemCounts c_created = fs.counts();

  Random rnd(WorkloadSeed(f.seed, "manydbs", 0));
  t0 = SteadyClock::now();
  for (uint64_t i = 0; i < n; i++) {
    for (int k = 0; k < f.keys_per_db; k++) {
      EBB_RETURN_IF_ERROR(dbs[i]->Put(ctx->Key(static_cast<uint64_t>(k)), ctx->Value(&rnd)));
    }
  }
  const double write_s = SecondsSince(t0);
  const uint64_t rss_written = RssBytes();
  const FileSystemCounts c_written = fs.counts();

  // Idle: background work finishes what the writes left, then sleeps.
  t0 = SteadyClock::now();
  Quiescence q = WaitForQuiescence(store.get(), f.duration_s > 0 ? f.duration_s : 3600);
  const double wait_s = SecondsSince(t0);
  const FileSystemCounts c_quiet = fs.counts();
  const uint64_t rss_quiet = RssBytes();
  StoreStatus st = store->GetStatus();
  uint64_t segments = 0, flush_bytes = 0;
  for (const auto& d : st.databases) {
    segments += d.segments;
    flush_bytes += d.flush_bytes_written;
  }
  uint64_t passes = 0;
  for (const auto& c : st.work.classes) {
    if (c.name == "writeback") passes = c.passes;
  }

  // Reads spread over every database.
  const uint64_t reads = f.num_given ? f.num : 200000;
  Histogram read_us;
  uint64_t found = 0;
  t0 = SteadyClock::now();
  for (uint64_t r = 0; r < reads; r++) {
    uint64_t i = rnd.Uniform(n);
    std::string key = ctx->Key(rnd.Uniform(static_cast<uint64_t>(f.keys_per_db)));
    std::string value;
    auto r0 = SteadyClock::now();
    Status s = dbs[i]->Get(ReadOptions(), key, &value);
    read_us.Add(static_cast<uint64_t>(std::chrono::duration<double, std::micro>(SteadyClock::now() - r0).count() + 0.5));
    if (s.ok()) {
      found++;
    } else if (!s.IsNotFound()) {
      return s.WithContext(fmt::format("manydbs read of {}", DbName(i)));
    }
  }
  const double read_s = SecondsSince(t0);
  const FileSystemCounts c_read = fs.counts();

  // Close and open again: recovery of N databases, then opening each.
  t0 = SteadyClock::now();
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());
  store.reset();
  const double close_s = SecondsSince(t0);
  t0 = SteadyClock::now();
  EBB_ASSIGN_OR_RETURN(store, OpenStore(o, env));
  const double reopen_store_s = SecondsSince(t0);
  for (uint64_t i = 0; i < n; i++) {
    EBB_ASSIGN_OR_RETURN(auto db, store->OpenDatabase(DbName(i), /*create_if_missing=*/false));
    dbs.push_back(std::move(db));
  }
  const double reopen_s = SecondsSince(t0);
  dbs.clear();
  EBB_RETURN_IF_ERROR(store->Close());

  const double per_db = static_cast<double>(n);
  j["create_s"] = create_s;
  j["create_us_per_db"] = create_s * 1e6 / per_db;
  j["create_syncs"] = c_created.syncs;
  j["write_s"] = write_s;
  j["rss_bytes_per_db_created"] = static_cast<double>(rss_created - std::min(rss_created, rss0)) / per_db;
  j["rss_bytes_per_db_written"] = static_cast<double>(rss_written - std::min(rss_written, rss0)) / per_db;
  j["rss_bytes_per_db_quiet"] = static_cast<double>(rss_quiet - std::min(rss_quiet, rss0)) / per_db;
  j["quiesced"] = q.quiet;
  j["quiesce_s"] = q.seconds;
  j["quiesce_wait_s"] = wait_s;
  j["quiesce_syncs"] = c_quiet.syncs - c_written.syncs;
  j["quiesce_dir_syncs"] = c_quiet.dir_syncs - c_written.dir_syncs;
  j["quiesce_files_created"] = c_quiet.files_created - c_written.files_created;
  j["quiesce_syncs_per_db"] = static_cast<double>(c_quiet.syncs - c_written.syncs) / per_db;
  j["writeback_passes"] = passes;
  j["segments"] = segments;
  j["flush_bytes_written"] = flush_bytes;
  j["reads"] = reads;
  j["reads_found"] = found;
  j["read_ops_per_sec"] = read_s > 0 ? static_cast<double>(reads) / read_s : 0.0;
  j["read_p50_us"] = read_us.Percentile(50);
  j["read_p99_us"] = read_us.Percentile(99);
  j["read_p999_us"] = read_us.Percentile(99.9);
  j["read_file_opens"] = c_read.random_access_opens - c_quiet.random_access_opens;
  j["read_file_opens_per_read"] =
      static_cast<double>(c_read.random_access_opens - c_quiet.random_access_opens) / static_cast<double>(reads);
  j["close_s"] = close_s;
  j["reopen_store_s"] = reopen_store_s;
  j["reopen_s"] = reopen_s;
  j["reopen_us_per_db"] = reopen_s * 1e6 / per_db;
  std::filesystem::remove_all(dir, ec);
  return j;
}

}  // namespace

void RegisterManyDbsWorkload(WorkloadRegistry* r) {
  (*r)["manydbs"] = {
      "manydbs",
      "N small databases (--manydbs, default 10000 100000; --keys-per-db): create time and memory per database, "
      "time and fsyncs to quiesce, read p99 over all, reopen time",
      [](BenchContext* ctx) -> Result<nlohmann::json> {
        const Flags& f = ctx->flags();
        std::vector<uint64_t> counts = f.manydbs.empty() ? std::vector<uint64_t>{10000, 100000} : f.manydbs;
        for (uint64_t n : counts) {
          EBB_ASSIGN_OR_RETURN(nlohmann::json j, RunManyDbs(ctx, n));
          if (f.json) {
            std::printf("%s\n", j.dump().c_str());
          } else {
            std::printf(
                "manydbs %7llu dbs: create %.1f us/db, %.0f B/db resident after writes; quiesce %.2f s, %llu syncs "
                "(%.2f per db); reads p50 %.1f p99 %.1f us, %.3f file opens per read; reopen %.1f us/db\n",
                static_cast<unsigned long long>(n), j["create_us_per_db"].get<double>(),
                j["rss_bytes_per_db_written"].get<double>(), j["quiesce_s"].get<double>(),
                static_cast<unsigned long long>(j["quiesce_syncs"].get<uint64_t>()),
                j["quiesce_syncs_per_db"].get<double>(), j["read_p50_us"].get<double>(),
                j["read_p99_us"].get<double>(), j["read_file_opens_per_read"].get<double>(),
                j["reopen_us_per_db"].get<double>());
          }
          std::fflush(stdout);
        }
        return nlohmann::json{{"workload", "manydbs"}, {"engine", "ebb"}, {"printed", true}};
      }};
}

}  // namespace ebb::bench
