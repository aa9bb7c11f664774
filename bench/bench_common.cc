#include <algorithm>
#include <chrono>
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
