#include "server/resp_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ebb {
namespace {

// Largest reply buffered (EBB.STATUS of a big store is the largest).
constexpr size_t kMaxReplyBytes = 512 << 20;

std::string Errno() { return std::strerror(errno); }

}  // namespace

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = fmt::format("*{}\r\n", args.size());
  for (const auto& a : args) {
    out += fmt::format("${}\r\n", a.size());
    out += a;
    out += "\r\n";
  }
  return out;
}

Result<std::unique_ptr<RespClient>> RespClient::Connect(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return Status::InvalidArgument(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  }
  Status last = Status::Unavailable(fmt::format("no address for {}", host));
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      freeaddrinfo(found);
      return std::unique_ptr<RespClient>(new RespClient(fd, timeout_ms));
    }
    last = Status::Unavailable(
        fmt::format("cannot connect to {}:{}: {}; is `ebb serve` running there?", host, port, Errno()));
    close(fd);
  }
  freeaddrinfo(found);
  return last;
}

RespClient::~RespClient() { close(fd_); }

Status RespClient::SendRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("send to the server failed: " + Errno());
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status RespClient::ReadMore() {
  pollfd p{fd_, POLLIN, 0};
  int rc = poll(&p, 1, timeout_ms_);
  if (rc == 0) return Status::TimedOut(fmt::format("no reply from the server within {} ms", timeout_ms_));
  if (rc < 0) return Status::IOError("poll failed: " + Errno());
  char chunk[64 << 10];
  ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n < 0) return Status::IOError("recv from the server failed: " + Errno());
  if (n == 0) return Status::Aborted("the server closed the connection");
  if (buffer_.size() + static_cast<size_t>(n) > kMaxReplyBytes) {
    return Status::InvalidArgument(fmt::format("reply larger than {} bytes", kMaxReplyBytes));
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return Status::OK();
}

Result<RespValue> RespClient::ReadReply() {
  while (true) {
    RespValue value;
    size_t consumed = 0;
    RespParseResult r = parser_.Parse(buffer_, &value, &consumed);
    if (r == RespParseResult::kDone) {
      buffer_.erase(0, consumed);
      return value;
    }
    if (r == RespParseResult::kError) return Status::Corruption("malformed reply: " + parser_.error());
    Status s = ReadMore();
    if (!s.ok()) return s;
  }
}

Result<RespValue> RespClient::Command(const std::vector<std::string>& args) {
  Status s = SendRaw(EncodeCommand(args));
  if (!s.ok()) return s;
  return ReadReply();
}

bool RespClient::WaitForClose() {
  while (true) {
    Status s = ReadMore();
    if (s.IsAborted()) return true;
    if (!s.ok()) return s.IsIOError();  // a reset is a close too
  }
}

}  // namespace ebb
