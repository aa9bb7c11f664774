// AdminHttp: the admin HTTP listener of `ebb serve` (cpp-httplib), on
// server.admin_bind:server.admin_port (0 disables it; loopback by default,
// whatever server.bind says):
//   GET /         the dashboard: one page, assets compiled into the binary
//                 (src/server/assets/), polling /status and drawing charts;
//   GET /status   the status document as JSON (status_report.h);
//   GET /metrics  Prometheus text exposition format 0.0.4.
// It serves reads only: nothing here changes the store or its settings
// (that goes through RESP, which has AUTH). With server.admin_token set
// (required off loopback), /status and /metrics need the header
// "Authorization: Bearer <token>" and answer 401 without it; the page and
// its assets hold no data and need none.
//
// This header has no httplib in it (compile time).
// Thread safety: Start/Stop from one thread.

#ifndef EBB_SERVER_ADMIN_HTTP_H_
#define EBB_SERVER_ADMIN_HTTP_H_

#include <memory>

#include "ebb/status.h"

namespace ebb {

class ServerCore;

class AdminHttp {
 public:
  // Binds and starts serving on its own threads. `core` must outlive it.
  static Result<std::unique_ptr<AdminHttp>> Start(ServerCore* core);
  ~AdminHttp();

  int port() const;
  // Stops listening and joins the threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit AdminHttp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb

#endif  // EBB_SERVER_ADMIN_HTTP_H_
