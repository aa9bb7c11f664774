// Helpers shared by Ebb's tests (linked as ebb_testing, never into products).

#ifndef EBB_BASE_TEST_UTIL_H_
#define EBB_BASE_TEST_UTIL_H_

#include <cstdint>
#include <string>

namespace ebb::testing {

// Seed for randomized tests: EBB_TEST_SEED from the environment if set, else
// `fallback`. Tests print it (SCOPED_TRACE) so a failure can be replayed.
uint64_t TestSeed(uint64_t fallback);

// A fresh, empty directory under $TMPDIR (or /tmp), removed on destruction
// unless EBB_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Absolute path of the source tree (for tests that read docs/ or fixtures).
std::string SourceDir();

}  // namespace ebb::testing

#endif  // EBB_BASE_TEST_UTIL_H_
