#include "server/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace ebb {

Status SdNotify(std::string_view state) {
  const char* address = std::getenv("NOTIFY_SOCKET");
  if (address == nullptr || *address == '\0') return Status::OK();
  return SdNotifyTo(address, state);
}

Status SdNotifyTo(std::string_view address, std::string_view state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (address.empty() || (address[0] != '/' && address[0] != '@')) {
    return Status::NotSupported(
        fmt::format("NOTIFY_SOCKET '{}': only absolute paths and @abstract names are supported", address));
  }
  // An abstract name keeps no terminating NUL, a path needs one.
  const size_t room = sizeof(addr.sun_path) - (address[0] == '/' ? 1 : 0);
  if (address.size() > room || (address[0] == '@' && address.size() < 2)) {
    return Status::InvalidArgument(fmt::format("NOTIFY_SOCKET '{}': not a valid socket address", address));
  }
  std::memcpy(addr.sun_path, address.data(), address.size());
  if (address[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                               (address[0] == '/' ? 1 : 0));

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(fmt::format("NOTIFY_SOCKET {}: socket: {}", address, std::strerror(errno)));
  ssize_t sent;
  do {
    sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  const int err = errno;
  close(fd);
  if (sent < 0) return Status::IOError(fmt::format("NOTIFY_SOCKET {}: sendto: {}", address, std::strerror(err)));
  if (static_cast<size_t>(sent) != state.size()) {
    return Status::IOError(fmt::format("NOTIFY_SOCKET {}: sent {} of {} bytes", address, sent, state.size()));
  }
  return Status::OK();
}

}  // namespace ebb
