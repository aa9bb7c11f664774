#include "tools/ebb/serve_service.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "server/sd_notify.h"

namespace ebb::tool {
namespace {

void Notify(const std::string& state) {
  Status s = SdNotify(state);
  if (!s.ok()) std::fprintf(stderr, "ebb serve: telling the service manager '%s': %s\n", state.c_str(),
                            s.ToString().c_str());
}

std::string Names(const std::vector<ConfigChange>& changes) {
  std::string out;
  for (const auto& c : changes) out += (out.empty() ? "" : ", ") + c.setting;
  return out;
}

uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

sigset_t BlockServeSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void NotifyReady(const ServeAddresses& a) {
  std::string status = fmt::format("RESP on {}:{}", a.bind, a.port);
  if (a.tls_port != 0) status += fmt::format(", TLS on {}:{}", a.bind, a.tls_port);
  status += a.admin_port != 0 ? fmt::format(", admin HTTP on {}:{}", a.admin_bind, a.admin_port) : ", admin HTTP off";
  Notify(fmt::format("READY=1\nSTATUS={}\nMAINPID={}", status, getpid()));
}

int ServeUntilStopped(Server* server, const sigset_t& signals) {
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received != SIGHUP) {
      Notify(fmt::format("STOPPING=1\nSTATUS=stopping ({})", received == SIGINT ? "SIGINT" : "SIGTERM"));
      return received;
    }
    // RELOADING=1 with the time it started, then READY=1 once done.
    Notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration", MonotonicMicros()));
    auto report = server->ReloadConfig();
    std::string status;
    if (!report.ok()) {
      status = fmt::format("configuration reload failed, running configuration kept: {}", report.status().ToString());
      std::fprintf(stderr, "ebb serve: %s\n", status.c_str());
    } else {
      status = fmt::format("configuration reloaded: {} changed ({}), {} need a restart ({})", report->applied.size(),
                           Names(report->applied), report->restart_required.size(), Names(report->restart_required));
      std::printf("ebb serve: %s\n", status.c_str());
    }
    std::fflush(stdout);
    Notify(fmt::format("READY=1\nSTATUS={}", status));
  }
}

}  // namespace ebb::tool
