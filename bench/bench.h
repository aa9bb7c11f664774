// ebb-bench: Ebb's benchmark program (like LevelDB's db_bench). Each
// workload is a named function that drives one engine and returns one JSON
// object of results; --json prints one object per line.

#ifndef EBB_BENCH_BENCH_H_
#define EBB_BENCH_BENCH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/histogram.h"
#include "base/random.h"
#include "bench/bench_engine.h"

namespace ebb::bench {

struct Flags {
  std::string engine = "ebb";
  uint64_t num = 1000000;
  int key_size = 16;
  int value_size = 100;
  int threads = 1;
  std::string sync = "none";
  int dbs = 1;
  // Whether --threads, --sync and --dbs were given (workloads that sweep
  // them, like writers, then run only the given value).
  bool threads_given = false;
  bool sync_given = false;
  bool dbs_given = false;
  bool num_given = false;
  std::string data_dir;  // default: /tmp/ebb-bench-<engine>
  // Memtable memory for every engine (bench_engine.h), and how Ebb spends it.
  uint64_t memory_budget_bytes = 128 << 20;
  MemoryLayout ebb_layout = MemoryLayout::kNative;
  double zipf_theta = 0.99;  // readzipfian's skew
  bool use_existing = false;
  bool json = false;
  uint64_t seed = 301;
  double duration_s = 0;  // workloads that run for a time use this when > 0
  std::vector<std::string> set;  // Ebb config overrides "section.key=value"
  // Workload-specific options.
  std::string completion;  // writers: op_lock | db_lock (empty: both)
  std::string read_exec = "readpool";  // readisolation: readpool | shared
  double read_rate = 2000;             // readisolation: reads/s offered in the paced phases
  std::string policy;      // idle: ebb | eager | threshold; smoosh: channels | eager
  std::string trace;       // idle: comma-separated bursty,sustained,trickle (empty: all)
  std::string out_dir;     // where CSV/plots go (idle, smoosh, tiering); see OutDir()
  std::vector<uint64_t> manydbs;  // manydbs: database counts (default 10,000 and 100,000)
  int keys_per_db = 4;            // manydbs: keys written into each database
  std::string tier_store;  // tiering: local | s3 (empty: both)
};

// Everything a workload needs.
class BenchContext {
 public:
  explicit BenchContext(Flags flags);
  const Flags& flags() const { return flags_; }

  // The engine open on flags().data_dir, opening it on first use. `fresh`
  // wipes the directory first.
  Result<BenchEngine*> Engine(bool fresh);
  Status CloseEngine();
  EngineConfig MakeEngineConfig() const;
  // The open engine's settings, as a JSON object (null if none is open).
  nlohmann::json EngineSettings() const;
  // Where CSV files and plots go: --out, or else a fresh directory
  // bench/results/<workload>-<date>-<time> under the current directory
  // (made once, on first use), so a plain run never rewrites docs/.
  std::string OutDir(const std::string& workload);

  std::string Key(uint64_t k) const;
  // A value of flags().value_size bytes (half-compressible random text).
  // Thread-safe.
  std::string_view Value(Random* rnd) const;

 private:
  Flags flags_;
  std::unique_ptr<BenchEngine> engine_;
  std::string value_source_;  // built once in the constructor, then read-only
  std::map<std::string, std::string> out_dirs_;  // made by OutDir, per workload
};

// Bytes of file data this process has written so far, through write(2) or a
// shared memory mapping alike: the page-cache bytes it dirtied, counted a
// page at a time (/proc/self/io write_bytes). Ebb writes its journal through
// a mapping (journal.mmap_writes), which wchar, the write(2) count, misses.
uint64_t ProcessBytesWritten();
// Bytes of files under `dir`.
uint64_t DirectoryBytes(const std::string& dir);
// The process's resident set high-water mark since the last ResetPeakRss
// (VmHWM of /proc/self/status; clear_refs resets it), and the current RSS.
void ResetPeakRss();
uint64_t PeakRssBytes();
uint64_t RssBytes();
// A random seed of its own for each workload and thread, from --seed: two
// workloads never share a key sequence.
uint64_t WorkloadSeed(uint64_t seed, std::string_view workload, uint64_t thread);
// Spreads Zipfian rank `rank` over [0, n) (YCSB's scrambled Zipfian): the
// most popular keys land far apart instead of being keys 0, 1, 2...
uint64_t ScrambleRank(uint64_t rank, uint64_t n);
// Open-loop pacing: calls `op` `rate` times per second for `seconds`,
// catching up in bursts when behind and sleeping `idle_sleep` when nothing
// is due (so the pacer leaves the core to the system under test). Stops at
// the first error `op` returns.
Status RunPaced(double seconds, double rate, std::chrono::microseconds idle_sleep, const std::function<Status()>& op);
// Common result fields.
nlohmann::json BaseResult(const std::string& workload, const std::string& engine, uint64_t ops, double seconds,
                          const Histogram& latency_us, uint64_t bytes_written);

using WorkloadFn = std::function<Result<nlohmann::json>(BenchContext*)>;
struct Workload {
  std::string name;
  std::string description;
  WorkloadFn run;
};
using WorkloadRegistry = std::map<std::string, Workload>;

void RegisterCoreWorkloads(WorkloadRegistry* registry);     // fill*, overwrite, read*, compact
void RegisterWritersWorkload(WorkloadRegistry* registry);   // writers (op-lock completion)
void RegisterReadIsolationWorkload(WorkloadRegistry* registry);  // readisolation (ReadPool)
void RegisterIdleWorkload(WorkloadRegistry* registry);           // idle (work classes)
void RegisterSmooshWorkload(WorkloadRegistry* registry);         // smoosh (compaction daemon)
void RegisterTieringWorkload(WorkloadRegistry* registry);        // tiering (tiering-out agent)
void RegisterManyDbsWorkload(WorkloadRegistry* registry);        // manydbs (many small databases)

}  // namespace ebb::bench

#endif  // EBB_BENCH_BENCH_H_
