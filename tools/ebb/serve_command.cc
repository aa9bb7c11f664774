// `ebb serve`: the Redis-protocol server and admin HTTP over a store.

#include <cstdio>

#include <fmt/format.h>

#include "ebb/ebb.h"
#include "server/server.h"
#include "tools/ebb/commands.h"
#include "tools/ebb/serve_service.h"

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
  const sigset_t signals = BlockServeSignals();

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
  ServerOptions server_options;
  server_options.store_options = options;
  auto server = Server::Start(store->get(), std::move(server_options));
  if (!server.ok()) {
    std::fprintf(stderr, "ebb serve: %s\n", server.status().ToString().c_str());
    (void)(*store)->Close();
    return 1;
  }
  ServeAddresses where;
  where.bind = (*store)->GetConfig("server", "bind").value_or("127.0.0.1");
  where.port = (*server)->port();
  where.tls_port = (*server)->tls_port();
  where.admin_bind = (*store)->GetConfig("server", "admin_bind").value_or("127.0.0.1");
  where.admin_port = (*server)->admin_port();
  const std::string& bind = where.bind;
  std::printf("ebb serve: ready: RESP on %s:%d (try: redis-cli -p %d), ", bind.c_str(), (*server)->port(),
              (*server)->port());
  if ((*server)->tls_port() != 0) std::printf("TLS on %s:%d, ", bind.c_str(), (*server)->tls_port());
  if ((*server)->admin_port() != 0) {
    std::printf("admin http://%s:%d/, ", where.admin_bind.c_str(), (*server)->admin_port());
  } else {
    std::printf("admin HTTP off, ");
  }
  std::printf("data in %s; Ctrl-C stops\n", args.data_dir.c_str());
  std::fflush(stdout);
  NotifyReady(where);

  const int received = ServeUntilStopped(server->get(), signals);
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
      "admin HTTP listener (/status, /metrics, dashboard at /). Flags override the configuration file. SIGTERM or "
      "SIGINT stops it; SIGHUP reloads the configuration file (runtime settings change, the others are reported as "
      "needing a restart). Under systemd (Type=notify) it reports readiness once both listeners are bound.");
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
