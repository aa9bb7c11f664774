// RespServer: the RESP2 listener of `ebb serve` on standalone Asio with C++20
// coroutines. One acceptor; connections are spread over server.io_threads
// threads, each running its own io_context, so a connection's coroutine
// always runs on one thread and needs no strand.
//
// With server.tls_port set, a second acceptor on the same address serves
// the same protocol over TLS (tls_context.h; the context is taken from the
// ServerCore at each accept, so a reload reaches new connections).
//
// A connection reads what has arrived, parses every complete command
// (RespCommandParser), lets the CommandProcessor answer them in order —
// awaiting ReadPool reads and write-executor jobs without blocking its
// thread — and writes the replies. Limits (server.*): max_clients at accept,
// max_query_buffer_bytes and max_bulk_bytes while reading (an error reply,
// then the connection is closed; the server goes on serving others), and
// idle_timeout_s, enforced by one sweeper per I/O thread that arms a timer
// only while the timeout is set and the thread has connections.
//
// This header has no Asio in it (compile time); resp_server.cc has.
// Thread safety: Start/Stop from one thread; NotifySettingsChanged from any.

#ifndef EBB_SERVER_RESP_SERVER_H_
#define EBB_SERVER_RESP_SERVER_H_

#include <memory>

#include "ebb/status.h"

namespace ebb {

class ServerCore;

class RespServer {
 public:
  // Binds server.bind:server.port (0: a free port) and starts serving.
  // `core` must outlive the server.
  static Result<std::unique_ptr<RespServer>> Start(ServerCore* core);
  ~RespServer();

  // The bound port, and the TLS one (0 when server.tls_port is 0).
  int port() const;
  int tls_port() const;

  // Stops accepting, closes every connection once its current command
  // finishes, and joins the I/O threads. Idempotent.
  void Stop();

  // Runtime limits changed (CONFIG SET server.*): wake the idle sweepers.
  void NotifySettingsChanged();

  struct Impl;

 private:
  explicit RespServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb

#endif  // EBB_SERVER_RESP_SERVER_H_
