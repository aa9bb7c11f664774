// `ebb serve`: the Redis-protocol server and admin HTTP over a store.

#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include <fmt/format.h>

#include "ebb/ebb.h"
#include "server/server.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {
namespace {

struct ServeArgs {
  std::string data_dir = "./ebb-data";
  std::string config_file;
  std::string bind;
  int port = -1;
  int admin_port = -1;
  std::string requirepass;
  bool requirepass_set = false;
  std::vector<std::string> settings;  // section.key=value
};

int RunServe(const ServeArgs& args) {
  // Signals go to the thread that waits for them below, not to a worker:
  // block them before any thread starts (threads inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Options options;
  options.data_dir = args.data_dir;
  options.config_file = args.config_file;
  for (const auto& s : args.settings) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "ebb serve: --set wants section.key=value, got '%s'\n", s.c_str());
      return 2;
    }
    options.Set(s.substr(0, eq), s.substr(eq + 1));
  }
  if (!args.bind.empty()) options.Set("server.bind", args.bind);
  if (args.port >= 0) options.Set("server.port", std::to_string(args.port));
  if (args.admin_port >= 0) options.Set("server.admin_port", std::to_string(args.admin_port));
  if (args.requirepass_set) options.Set("server.requirepass", args.requirepass);

  auto store = Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "ebb serve: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto server = Server::Start(store->get());
  if (!server.ok()) {
    std::fprintf(stderr, "ebb serve: %s\n", server.status().ToString().c_str());
    (void)(*store)->Close();
    return 1;
  }
  std::string bind = (*store)->GetConfig("server", "bind").value_or("127.0.0.1");
  std::printf("ebb serve: ready: RESP on %s:%d (try: redis-cli -p %d), ", bind.c_str(), (*server)->port(),
              (*server)->port());
  if ((*server)->tls_port() != 0) std::printf("TLS on %s:%d, ", bind.c_str(), (*server)->tls_port());
  if ((*server)->admin_port() != 0) {
    std::string admin_bind = (*store)->GetConfig("server", "admin_bind").value_or("127.0.0.1");
    std::printf("admin http://%s:%d/, ", admin_bind.c_str(), (*server)->admin_port());
  } else {
    std::printf("admin HTTP off, ");
  }
  std::printf("data in %s; Ctrl-C stops\n", args.data_dir.c_str());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  std::printf("ebb serve: %s received, stopping\n", received == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*server)->Stop();
  Status s = (*store)->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "ebb serve: closing the store: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("ebb serve: stopped\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App* app, Handler* handler) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app->add_subcommand(
      "serve",
      "Serve the store over the Redis protocol (RESP2: redis-cli, redis-benchmark and Redis clients work) and an "
      "admin HTTP listener (/status, /metrics, dashboard at /). Flags override the configuration file.");
  serve->add_option("--data", args->data_dir, "Data directory")->capture_default_str();
  serve->add_option("--config", args->config_file, "Configuration file (TOML; docs/configuration.md)");
  serve->add_option("--bind", args->bind, "Address to listen on (server.bind; default 127.0.0.1)");
  serve->add_option("--port", args->port, "RESP port (server.port; default 6380; 0 picks a free one)");
  serve->add_option("--admin-port", args->admin_port, "Admin HTTP port (server.admin_port; default 8380; 0 disables)");
  serve->add_option("--requirepass", args->requirepass, "Password clients must AUTH with (server.requirepass)")
      ->each([args](const std::string&) { args->requirepass_set = true; });
  serve->add_option("--set", args->settings, "Any setting as section.key=value (repeatable), e.g. journal.sync=always");
  serve->callback([=] { *handler = [=] { return RunServe(*args); }; });
}

}  // namespace ebb::tool
