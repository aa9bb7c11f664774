#include "base/thread_name.h"

#include <thread>

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(ThreadNameTest, NamesTheCallingThread) {
  std::string seen;
  std::thread t([&] {
    SetCurrentThreadName("ebb-test-7");
    seen = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(seen, "ebb-test-7");
}

TEST(ThreadNameTest, CutsLongNamesToWhatLinuxKeeps) {
  std::string seen;
  std::thread t([&] {
    SetCurrentThreadName("ebb-a-name-longer-than-fifteen");
    seen = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(seen, std::string("ebb-a-name-longer-than-fifteen").substr(0, kMaxThreadNameChars));
  EXPECT_EQ(seen.size(), kMaxThreadNameChars);
}

}  // namespace
}  // namespace ebb
