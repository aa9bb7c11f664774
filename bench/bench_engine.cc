#include "bench/bench_engine.h"

#include <fmt/format.h>

namespace ebb::bench {

std::unique_ptr<BenchEngine> NewEbbBenchEngine();
#ifdef EBB_HAVE_ROCKSDB
std::unique_ptr<BenchEngine> NewRocksBenchEngine();
#endif
#ifdef EBB_HAVE_LEVELDB
std::unique_ptr<BenchEngine> NewLevelBenchEngine();
#endif

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> out = {"ebb"};
#ifdef EBB_HAVE_ROCKSDB
  out.push_back("rocksdb");
#endif
#ifdef EBB_HAVE_LEVELDB
  out.push_back("leveldb");
#endif
  return out;
}

Result<std::unique_ptr<BenchEngine>> NewBenchEngine(const std::string& name) {
  if (name == "ebb") return NewEbbBenchEngine();
#ifdef EBB_HAVE_ROCKSDB
  if (name == "rocksdb") return NewRocksBenchEngine();
#endif
#ifdef EBB_HAVE_LEVELDB
  if (name == "leveldb") return NewLevelBenchEngine();
#endif
  std::string have;
  for (const auto& e : AvailableEngines()) have += (have.empty() ? "" : ", ") + e;
  return Status::InvalidArgument(fmt::format(
      "engine '{}' is not available in this build (available: {}); install librocksdb-dev / libleveldb-dev "
      "(scripts/setup.sh) and rebuild",
      name, have));
}

}  // namespace ebb::bench
