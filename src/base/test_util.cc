#include "base/test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace ebb::testing {

uint64_t TestSeed(uint64_t fallback) {
  if (const char* s = std::getenv("EBB_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return fallback;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/ebb-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("EBB_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SourceDir() { return EBB_SOURCE_DIR; }

}  // namespace ebb::testing
