// `ebb serve` as a service: readiness and stopping reported to systemd
// (Type=notify, src/server/sd_notify.h), SIGHUP reloading the configuration
// file (docs/operations.md).

#ifndef EBB_TOOLS_EBB_SERVE_SERVICE_H_
#define EBB_TOOLS_EBB_SERVE_SERVICE_H_

#include <signal.h>

#include <string>

#include "server/server.h"

namespace ebb::tool {

// The signals `ebb serve` handles on its main thread: SIGINT and SIGTERM
// stop it, SIGHUP reloads the configuration file. Blocked in every thread
// (call before any thread starts) and returned for ServeUntilStopped.
sigset_t BlockServeSignals();

// Where the server listens, for the status line the service manager shows.
struct ServeAddresses {
  std::string bind;
  int port = 0;
  int tls_port = 0;    // 0: no TLS listener
  std::string admin_bind;
  int admin_port = 0;  // 0: admin HTTP off
};

// Tells the service manager the server is ready (every listener bound),
// with a status line naming the addresses. Failing to notify is logged, not
// fatal: the server works without a manager.
void NotifyReady(const ServeAddresses& addresses);

// Waits for SIGINT or SIGTERM and returns it; on each SIGHUP reloads the
// configuration (Server::ReloadConfig), prints what changed and what needs a
// restart, and keeps serving whatever the outcome. Tells the service manager
// about reloads and, at the end, that the server is stopping.
int ServeUntilStopped(Server* server, const sigset_t& signals);

}  // namespace ebb::tool

#endif  // EBB_TOOLS_EBB_SERVE_SERVICE_H_
