// RespClient: a small blocking RESP2 client over a POSIX socket, for the
// `ebb status` / `ebb config` commands and for tests. One request at a
// time; every wait is bounded by the timeout given to Connect.
//
// Thread safety: one thread at a time.

#ifndef EBB_SERVER_RESP_CLIENT_H_
#define EBB_SERVER_RESP_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "server/resp_parser.h"

namespace ebb {

class RespClient {
 public:
  // Connects to host:port (numeric address or "localhost").
  static Result<std::unique_ptr<RespClient>> Connect(const std::string& host, int port, int timeout_ms = 5000);
  ~RespClient();

  // Sends one command as a multibulk array and reads its reply. An error
  // reply (-ERR ...) is a successful call returning a kError value.
  Result<RespValue> Command(const std::vector<std::string>& args);

  // Sends bytes as they are (tests of malformed input).
  Status SendRaw(std::string_view bytes);
  // Reads one reply.
  Result<RespValue> ReadReply();
  // True once the server closed the connection (reads return 0), waiting
  // up to the timeout.
  bool WaitForClose();

 private:
  RespClient(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
  Status ReadMore();

  int fd_;
  int timeout_ms_;
  std::string buffer_;
  RespValueParser parser_;
};

// The multibulk encoding of a command.
std::string EncodeCommand(const std::vector<std::string>& args);

}  // namespace ebb

#endif  // EBB_SERVER_RESP_CLIENT_H_
