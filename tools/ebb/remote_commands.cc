// Commands that talk to a running `ebb serve` over RESP: `ebb status`,
// `ebb config get|set`.

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/config.h"
#include "server/resp_client.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {
namespace {

using json = nlohmann::json;

struct Remote {
  std::string host = "127.0.0.1";
  int port = 6380;
  std::string password;
  int timeout_ms = 10000;
};

void AddRemoteOptions(CLI::App* cmd, Remote* r) {
  cmd->add_option("--host", r->host, "Server address")->capture_default_str();
  cmd->add_option("-p,--port", r->port, "Server RESP port")->capture_default_str();
  cmd->add_option("-a,--password", r->password, "Password (server.requirepass); also read from EBB_PASSWORD");
  cmd->add_option("--timeout-ms", r->timeout_ms, "Give up after this long without a reply")->capture_default_str();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "ebb: %s\n", message.c_str());
  return 1;
}

// Connects and authenticates.
Result<std::unique_ptr<RespClient>> Dial(const Remote& r) {
  auto client = RespClient::Connect(r.host, r.port, r.timeout_ms);
  if (!client.ok()) return client.status();
  std::string password = r.password;
  if (password.empty()) {
    if (const char* env = std::getenv("EBB_PASSWORD")) password = env;
  }
  if (!password.empty()) {
    auto reply = (*client)->Command({"AUTH", password});
    if (!reply.ok()) return reply.status();
    if (reply->is_error()) return Status::PermissionDenied("AUTH refused: " + reply->str);
  }
  return client;
}

// Runs one command; an error reply becomes a failed Status.
Result<RespValue> Call(const Remote& r, const std::vector<std::string>& args) {
  auto client = Dial(r);
  if (!client.ok()) return client.status();
  auto reply = (*client)->Command(args);
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return Status::InvalidArgument(fmt::format("{} failed: {}", args[0], reply->str));
  return reply;
}

std::string Bytes(const json& v) { return v.is_number() ? FormatBytes(v.get<uint64_t>()) : v.dump(); }
std::string Num(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.0f}", v.get<double>());
  return v.dump();
}

// The items of a section that is an array, or an object wrapping one.
const json* ItemsOf(const json& section, const char* inner) {
  if (section.is_array()) return &section;
  if (section.is_object() && section.contains(inner) && section[inner].is_array()) return &section[inner];
  return nullptr;
}

void PrintStatus(const json& s, const Remote& r) {
  const json& server = s.value("server", json::object());
  std::printf("Ebb %s at %s:%d  data %s  up %s s  journal.sync %s  %s\n", Num(server.value("version", json())).c_str(),
              r.host.c_str(), r.port, s.value("data_dir", std::string()).c_str(), Num(s.value("uptime_s", json())).c_str(),
              s.contains("journal") ? Num(s["journal"].value("sync_mode", json())).c_str() : "-",
              s.value("background_error", std::string()).empty()
                  ? "healthy"
                  : ("READ-ONLY: " + s.value("background_error", std::string())).c_str());
  std::printf("clients %s  commands %s  busy answers %s  protocol errors %s\n",
              Num(server.value("connected_clients", json())).c_str(), Num(server.value("commands_processed", json())).c_str(),
              Num(server.value("busy_rejections", json())).c_str(), Num(server.value("protocol_errors", json())).c_str());
  // The engine reports these as "work" and "compaction"; older names too.
  const json& work = s.contains("work_classes") ? s["work_classes"] : s.value("work", json());
  const json& compaction = s.contains("channels") ? s["channels"] : s.value("compaction", json());
  if (!work.is_null()) {
    std::printf("\n%-16s %-12s %12s %12s %12s %14s\n", "work class", "state", "pending", "band low", "band high",
                "rate/s");
    if (const json* items = ItemsOf(work, "classes")) {
      for (const auto& c : *items) {
        std::printf("%-16s %-12s %12s %12s %12s %14s\n", c.value("name", std::string()).c_str(),
                    c.value("state", std::string()).c_str(), Bytes(c.value("pending_bytes", json())).c_str(),
                    Bytes(c.value("band_low_bytes", json())).c_str(), Bytes(c.value("band_high_bytes", json())).c_str(),
                    Bytes(c.value("rate_bytes_per_s", json(0))).c_str());
      }
    }
  }
  if (!compaction.is_null()) {
    std::printf("\n%-16s %8s %8s %12s  %s\n", "channel", "waiting", "active", "concurrency", "state");
    if (const json* items = ItemsOf(compaction, "channels")) {
      for (const auto& c : *items) {
        const json& waiting = c.value("waiting", json());
        std::string state = c.value("suspended", false) ? "suspended" : (c.value("paused", false) ? "paused" : "open");
        std::string blocked = c.value("blocked_reason", std::string());
        std::printf("%-16s %8s %8s %12s  %s%s\n", c.value("name", std::string()).c_str(),
                    Num(waiting.is_object() ? waiting.value("size", json()) : waiting).c_str(),
                    Num(c.value("active", json())).c_str(), Num(c.value("concurrency", json())).c_str(), state.c_str(),
                    blocked.empty() ? "" : (": " + blocked).c_str());
      }
    }
  }
  if (s.contains("read_pool") && s["read_pool"].is_object()) {
    std::printf("\n%-10s %8s %8s %8s %12s %10s %14s %12s\n", "read pool", "threads", "running", "queued", "completed",
                "rejected", "p99 wait us", "p99 run us");
    for (const auto& [prio, p] : s["read_pool"].items()) {
      std::printf("%-10s %8s %8s %8s %12s %10s %14s %12s\n", prio.c_str(), Num(p.value("threads", json())).c_str(),
                  Num(p.value("running", json())).c_str(), Num(p.value("queued", json())).c_str(),
                  Num(p.value("completed", json())).c_str(), Num(p.value("rejected", json())).c_str(),
                  Num(p.value("queue_wait_p99_us", json())).c_str(), Num(p.value("run_p99_us", json())).c_str());
    }
  }
  if (s.contains("tiering") && !s["tiering"].is_null()) {
    std::printf("\ntiering:\n");
    if (s["tiering"].is_object()) {
      for (const auto& [k, v] : s["tiering"].items()) {
        if (!v.is_structured()) std::printf("  %-28s %s\n", k.c_str(), Num(v).c_str());
      }
    }
  }
  if (s.contains("databases") && s["databases"].is_array()) {
    std::printf("\n%-24s %10s %10s %10s %12s %6s\n", "database", "disk", "live", "memtable", "entries", "segs");
    for (const auto& d : s["databases"]) {
      std::printf("%-24s %10s %10s %10s %12s %6s\n", d.value("name", std::string()).c_str(),
                  Bytes(d.value("disk_bytes", json())).c_str(), Bytes(d.value("live_bytes", json())).c_str(),
                  Bytes(d.value("memtable_bytes", json())).c_str(), Num(d.value("entries", json())).c_str(),
                  Num(d.value("segments", json())).c_str());
    }
  }
}

}  // namespace

void AddRemoteCommands(CLI::App* app, Handler* handler) {
  auto remote = std::make_shared<Remote>();

  auto json_flag = std::make_shared<bool>(false);
  auto* status = app->add_subcommand("status", "At-a-glance status of a running ebb serve (EBB.STATUS)");
  AddRemoteOptions(status, remote.get());
  status->add_flag("--json", *json_flag, "Print the status document (as /status serves it)");
  status->callback([=] {
    *handler = [=] {
      auto reply = Call(*remote, {"EBB.STATUS"});
      if (!reply.ok()) return Fail(reply.status().ToString());
      json doc = json::parse(reply->str, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded()) return Fail("EBB.STATUS did not return JSON");
      if (*json_flag) {
        std::printf("%s\n", doc.dump(2, ' ', false, json::error_handler_t::replace).c_str());
      } else {
        PrintStatus(doc, *remote);
      }
      return 0;
    };
  });

  // `config get|set` join `config reference` (config_commands.cc).
  CLI::App* config = app->get_subcommand("config");
  auto pattern = std::make_shared<std::string>("*");
  auto* get = config->add_subcommand("get", "Print settings of a running ebb serve (CONFIG GET; glob pattern)");
  AddRemoteOptions(get, remote.get());
  get->add_option("pattern", *pattern, "section.key or a glob, e.g. 'journal.*'")->capture_default_str();
  get->callback([=] {
    *handler = [=] {
      auto reply = Call(*remote, {"CONFIG", "GET", *pattern});
      if (!reply.ok()) return Fail(reply.status().ToString());
      if (reply->elements.empty()) return Fail(fmt::format("no setting matches '{}'", *pattern));
      for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
        std::printf("%s = %s\n", reply->elements[i].str.c_str(), reply->elements[i + 1].str.c_str());
      }
      return 0;
    };
  });
  auto name = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto* set = config->add_subcommand("set", "Change a setting of a running ebb serve (CONFIG SET)");
  AddRemoteOptions(set, remote.get());
  set->add_option("name", *name, "section.key, e.g. journal.sync")->required();
  set->add_option("value", *value, "New value")->required();
  set->callback([=] {
    *handler = [=] {
      auto reply = Call(*remote, {"CONFIG", "SET", *name, *value});
      if (!reply.ok()) return Fail(reply.status().ToString());
      std::printf("%s = %s\n", name->c_str(), value->c_str());
      return 0;
    };
  });
}

}  // namespace ebb::tool
