#include "server/net_address.h"

#include <gtest/gtest.h>

namespace ebb {
namespace {

TEST(NetAddressTest, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "192.0.2.2", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "fd00::2",
                        "example.com", "", "127.0.0.1 ", "1270.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

}  // namespace
}  // namespace ebb
