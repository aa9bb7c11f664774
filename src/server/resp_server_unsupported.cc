// RespServer for builds without the RESP listener: compilers without C++20
// coroutines (clang before 17 with libstdc++, as in the `clang` preset,
// which exists to check the locking annotations), and the `fuzz` preset,
// whose targets drive the CommandProcessor without sockets. Such a build
// says so when asked to listen; the release build (g++) has the listener.
// See src/server/CMakeLists.txt.

#include "server/resp_server.h"

namespace ebb {

struct RespServer::Impl {};

RespServer::RespServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RespServer::~RespServer() = default;

Result<std::unique_ptr<RespServer>> RespServer::Start(ServerCore*) {
  return Status::NotSupported(
      "this build of ebb has no RESP listener: its compiler lacks C++20 coroutines (clang before 17 with "
      "libstdc++); build with g++ (scripts/build.sh release)");
}

int RespServer::port() const { return 0; }
int RespServer::tls_port() const { return 0; }
void RespServer::Stop() {}
void RespServer::NotifySettingsChanged() {}

}  // namespace ebb
