// The systemd notification protocol against sockets the test binds itself.

#include "server/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "base/test_util.h"

namespace ebb {
namespace {

// A datagram socket bound to `address` (a path, or "@name" for the
// abstract namespace), as systemd's notification socket is.
class Listener {
 public:
  explicit Listener(const std::string& address) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.data(), address.size());
    if (address[0] == '@') addr.sun_path[0] = '\0';
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                           (address[0] == '/' ? 1 : 0));
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Listener() { close(fd_); }

  std::string Receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n < 0 ? std::string("(nothing: ") + std::strerror(errno) + ")" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
};

TEST(SdNotifyTest, SendsOneDatagramToAPathSocket) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("notify");
  Listener listener(path);
  ASSERT_TRUE(SdNotifyTo(path, "READY=1\nSTATUS=serving").ok());
  EXPECT_EQ(listener.Receive(), "READY=1\nSTATUS=serving");
}

TEST(SdNotifyTest, SendsToAnAbstractSocket) {
  std::string name = fmt::format("@ebb-sd-notify-test-{}", getpid());
  Listener listener(name);
  ASSERT_TRUE(SdNotifyTo(name, "STOPPING=1").ok());
  EXPECT_EQ(listener.Receive(), "STOPPING=1");
}

TEST(SdNotifyTest, FollowsTheEnvironmentAndDoesNothingWithoutIt) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("notify");
  Listener listener(path);
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(SdNotify("READY=1").ok());
  setenv("NOTIFY_SOCKET", "", 1);
  EXPECT_TRUE(SdNotify("READY=1").ok());
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(SdNotify("RELOADING=1").ok());
  unsetenv("NOTIFY_SOCKET");
  // Only the one sent while the variable named the socket arrived.
  EXPECT_EQ(listener.Receive(), "RELOADING=1");
}

TEST(SdNotifyTest, ErrorsNameTheSocket) {
  testing::TempDir tmp;
  std::string missing = tmp.Sub("no-such-socket");
  Status s = SdNotifyTo(missing, "READY=1");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.ToString();

  s = SdNotifyTo("relative/notify", "READY=1");
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  s = SdNotifyTo("vsock:2:1234", "READY=1");
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  s = SdNotifyTo("/" + std::string(200, 'x'), "READY=1");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = SdNotifyTo("@", "READY=1");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

}  // namespace
}  // namespace ebb
