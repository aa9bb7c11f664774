#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "bench/bench.h"

namespace ebb::bench {

EngineConfig BenchContext::MakeEngineConfig() const {
  EngineConfig c;
  c.data_dir = flags_.data_dir;
  c.sync = flags_.sync;
  c.dbs = flags_.dbs;
  c.memory_budget_bytes = flags_.memory_budget_bytes;
  c.ebb_layout = flags_.ebb_layout;
  c.key_size = flags_.key_size;
  c.value_size = flags_.value_size;
  for (const auto& kv : flags_.set) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) c.ebb_overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return c;
}

Result<BenchEngine*> BenchContext::Engine(bool fresh) {
  if (fresh && !flags_.use_existing) {
    EBB_RETURN_IF_ERROR(CloseEngine());
    std::error_code ec;
    std::filesystem::remove_all(flags_.data_dir, ec);
  }
  if (!engine_) {
    // LevelDB and RocksDB create only the last path component.
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(flags_.data_dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    EBB_ASSIGN_OR_RETURN(engine_, NewBenchEngine(flags_.engine));
    Status s = engine_->Open(MakeEngineConfig());
    if (!s.ok()) {
      engine_.reset();
      return s.WithContext(fmt::format("open {} in {}", flags_.engine, flags_.data_dir));
    }
  }
  return engine_.get();
}

nlohmann::json BenchContext::EngineSettings() const {
  if (!engine_) return nullptr;
  nlohmann::json s = nlohmann::json::object();
  for (const auto& [k, v] : engine_->Settings()) s[k] = v;
  return s;
}

std::string BenchContext::OutDir(const std::string& workload) {
  if (!flags_.out_dir.empty()) return flags_.out_dir;
  auto it = out_dirs_.find(workload);
  if (it != out_dirs_.end()) return it->second;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S", &tm);
  std::string dir = fmt::format("bench/results/{}-{}", workload, stamp);
  // Two runs in the same second get distinct directories.
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(dir, ec); n++) dir = fmt::format("bench/results/{}-{}-{}", workload, stamp, n);
  std::filesystem::create_directories(dir, ec);
  std::fprintf(stderr, "ebb-bench %s: CSV and plots go to %s (--out to choose)\n", workload.c_str(), dir.c_str());
  out_dirs_[workload] = dir;
  return dir;
}

Status BenchContext::CloseEngine() {
  if (!engine_) return Status::OK();
  Status s = engine_->Close();
  engine_.reset();
  return s;
}

std::string BenchContext::Key(uint64_t k) const {
  return fmt::format("{:0{}}", k, flags_.key_size);
}

BenchContext::BenchContext(Flags flags) : flags_(std::move(flags)) {
  // Like db_bench: random printable bytes, each piece repeated once, so
  // values compress about 2:1 for engines that compress.
  Random r(1234);
  size_t target = std::max<size_t>(1 << 20, 2 * static_cast<size_t>(flags_.value_size));
  while (value_source_.size() < target) {
    std::string piece = r.RandomString(100);
    value_source_ += piece;
    value_source_ += piece;
  }
}

std::string_view BenchContext::Value(Random* rnd) const {
  size_t n = static_cast<size_t>(flags_.value_size);
  size_t pos = rnd->Uniform(value_source_.size() - n);
  return std::string_view(value_source_).substr(pos, n);
}

uint64_t ProcessBytesWritten() {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value;
  while (in >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

namespace {
uint64_t StatusFieldKiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::strtoull(line.c_str() + n, nullptr, 10) * 1024;
  }
  return 0;
}
}  // namespace

void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }
uint64_t PeakRssBytes() { return StatusFieldKiB("VmHWM:"); }
uint64_t RssBytes() { return StatusFieldKiB("VmRSS:"); }

uint64_t WorkloadSeed(uint64_t seed, std::string_view workload, uint64_t thread) {
  // FNV-1a of the name: the same on every machine and build.
  uint64_t h = 14695981039346656037ULL;
  for (char c : workload) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return seed * 1000003ULL ^ h ^ (thread * 0x9e3779b97f4a7c15ULL);
}

uint64_t ScrambleRank(uint64_t rank, uint64_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (int i = 0; i < 8; i++) h = (h ^ ((rank >> (8 * i)) & 0xff)) * 1099511628211ULL;
  return h % n;
}

Status RunPaced(double seconds, double rate, std::chrono::microseconds idle_sleep, const std::function<Status()>& op) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t n = 0;
  while (true) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) return Status::OK();
    uint64_t due = static_cast<uint64_t>(elapsed * rate);
    if (n >= due) {
      std::this_thread::sleep_for(idle_sleep);
      continue;
    }
    for (; n < due; n++) EBB_RETURN_IF_ERROR(op());
  }
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

nlohmann::json BaseResult(const std::string& workload, const std::string& engine, uint64_t ops, double seconds,
                          const Histogram& latency_us, uint64_t bytes_written) {
  return {
      {"workload", workload},
      {"engine", engine},
      {"ops", ops},
      {"seconds", seconds},
      {"ops_per_sec", seconds > 0 ? static_cast<double>(ops) / seconds : 0.0},
      {"p50_us", latency_us.Percentile(50)},
      {"p99_us", latency_us.Percentile(99)},
      {"p999_us", latency_us.Percentile(99.9)},
      {"bytes_written", bytes_written},
  };
}

}  // namespace ebb::bench
