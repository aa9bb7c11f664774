#include "base/thread_name.h"

#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

namespace ebb {
namespace {

// Names a new thread `name` and returns the name it then reads back.
std::string NameSeenByThreadNamed(std::string_view name) {
  std::string seen;
  std::thread t([&] {
    SetCurrentThreadName(name);
    seen = CurrentThreadName();
  });
  t.join();
  return seen;
}

TEST(ThreadNameTest, NamesTheCallingThread) { EXPECT_EQ(NameSeenByThreadNamed("ebb-test-7"), "ebb-test-7"); }

TEST(ThreadNameTest, CutsLongNamesToWhatLinuxKeeps) {
  std::string seen = NameSeenByThreadNamed("ebb-a-name-longer-than-fifteen");
  EXPECT_EQ(seen, std::string("ebb-a-name-longer-than-fifteen").substr(0, kMaxThreadNameChars));
  EXPECT_EQ(seen.size(), kMaxThreadNameChars);
}

}  // namespace
}  // namespace ebb
