// CONFIG GET | SET | RESETSTAT | REWRITE | HELP.

#include <memory>

#include <fmt/format.h>

#include "base/config.h"
#include "ebb/store.h"
#include "server/command_processor.h"
#include "server/command_util.h"
#include "server/glob_match.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/status_report.h"
#include "server/write_job.h"

namespace ebb {
namespace {

// Redis names for Ebb settings, so clients that ask (redis-benchmark asks
// for save and appendonly) get a meaningful answer.
struct ConfigAlias {
  std::string_view name;
  std::string_view section;  // empty: a fixed, read-only value
  std::string_view key;
  std::string_view fixed_value;
  bool bytes;
};

constexpr ConfigAlias kConfigAliases[] = {
    // Ebb takes no RDB snapshots; its journal is always on.
    {"save", "", "", "", false},
    {"appendonly", "", "", "yes", false},
    {"appendfsync", "journal", "sync", "", false},
    {"maxclients", "server", "max_clients", "", false},
    {"requirepass", "server", "requirepass", "", false},
    {"timeout", "server", "idle_timeout_s", "", false},
    {"proto-max-bulk-len", "server", "max_bulk_bytes", "", true},
    {"client-query-buffer-limit", "server", "max_query_buffer_bytes", "", true},
    {"port", "server", "port", "", false},
    {"bind", "server", "bind", "", false},
};

const ConfigAlias* FindAlias(std::string_view name) {
  for (const auto& a : kConfigAliases) {
    if (EqualsIgnoreCase(a.name, name)) return &a;
  }
  return nullptr;
}

// journal.sync <-> appendfsync.
std::string SyncToAppendFsync(std::string_view sync) {
  if (sync == "batch") return "everysec";
  if (sync == "none") return "no";
  return std::string(sync);
}
std::string AppendFsyncToSync(std::string_view value) {
  if (EqualsIgnoreCase(value, "everysec")) return "batch";
  if (EqualsIgnoreCase(value, "no")) return "none";
  return Lower(value);
}

// Splits "smoosh.ratio_dbs.capacity" into ("smoosh.ratio_dbs", "capacity").
bool SplitDotted(std::string_view name, std::string_view* section, std::string_view* key) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  *section = name.substr(0, dot);
  *key = name.substr(dot + 1);
  return true;
}

}  // namespace

bool CommandProcessor::Config(const CommandArgs& args, std::string* out, AsyncStep* step) {
  RespWriter w(out);
  Store* store = core_->store();
  if (EqualsIgnoreCase(args[1], "get")) {
    if (args.size() < 3) {
      AppendError(core_, out, "ERR wrong number of arguments for 'config|get' command");
      return false;
    }
    std::vector<std::pair<std::string, std::string>> found;
    std::vector<ConfigValue> all = store->ListConfig();
    auto add = [&](std::string name, std::string value) {
      for (const auto& f : found) {
        if (f.first == name) return;
      }
      found.emplace_back(std::move(name), std::move(value));
    };
    for (size_t i = 2; i < args.size(); i++) {
      for (const auto& alias : kConfigAliases) {
        if (!GlobMatch(args[i], alias.name, /*nocase=*/true)) continue;
        if (alias.section.empty()) {
          add(std::string(alias.name), std::string(alias.fixed_value));
          continue;
        }
        auto value = store->GetConfig(alias.section, alias.key);
        if (!value.ok()) continue;
        std::string v = *value;
        if (alias.name == "appendfsync") v = SyncToAppendFsync(v);
        // Redis's requirepass: whether a password is required, also when it
        // comes from server.requirepass_file (shown as set, never itself).
        if (alias.name == "requirepass") v = core_->live().password_required() ? std::string(kSecretSetMarker) : "";
        if (alias.bytes) {
          auto n = ParseBytes(v);
          if (n.ok()) v = std::to_string(*n);
        }
        add(std::string(alias.name), v);
      }
      for (const auto& c : all) {
        std::string name = c.section + "." + c.key;
        if (GlobMatch(args[i], name, /*nocase=*/true)) add(name, c.value);
      }
    }
    w.ArrayHeader(found.size() * 2);
    for (const auto& [name, value] : found) {
      w.Bulk(name);
      w.Bulk(value);
    }
    return false;
  }
  if (EqualsIgnoreCase(args[1], "set")) {
    if (args.size() < 4 || args.size() % 2 != 0) {
      AppendError(core_, out, "ERR wrong number of arguments for 'config|set' command");
      return false;
    }
    // Resolve names now (cheap, and errors need no executor).
    struct Change {
      std::string name, section, key, value;
    };
    std::vector<Change> changes;
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      Change c{std::string(args[i]), "", "", std::string(args[i + 1])};
      if (const ConfigAlias* alias = FindAlias(args[i])) {
        if (alias->section.empty()) {
          AppendError(core_, out,
                      fmt::format("ERR CONFIG SET {}: not applicable to Ebb (no RDB snapshots; the journal is "
                                  "always on; see journal.sync)",
                                  alias->name));
          return false;
        }
        c.section = alias->section;
        c.key = alias->key;
        if (alias->name == "appendfsync") c.value = AppendFsyncToSync(c.value);
      } else {
        std::string_view section, key;
        if (!SplitDotted(args[i], &section, &key)) {
          AppendError(core_, out,
                      fmt::format("ERR Unknown option or number of arguments for CONFIG SET - '{}' (Ebb settings "
                                  "are section.key, e.g. journal.sync; see CONFIG GET *)",
                                  Quote(args[i])));
          return false;
        }
        c.section = std::string(section);
        c.key = std::string(key);
      }
      changes.push_back(std::move(c));
    }
    // Applied on the admin executor: never on an I/O thread (a change may
    // restart ReadPool threads) and never on a ReadPool thread.
    // All pairs or none, as in Redis 7: every pair is checked by the
    // subsystem that owns it (Config::SetMany) before any is applied.
    AdminStep(
        [core = core_, changes] {
          std::vector<Store::ConfigChange> all;
          bool server_changed = false;
          bool tls_changed = false;
          std::string names;
          for (const auto& c : changes) {
            all.push_back({c.section, c.key, c.value});
            server_changed = server_changed || c.section == "server";
            tls_changed = tls_changed || (c.section == "server" && c.key.rfind("tls_", 0) == 0);
            if (names.size() < kMaxQuotedArgBytes * 4) names += (names.empty() ? "'" : ", '") + Quote(c.name) + "'";
          }
          Status s = core->store()->SetConfig(all);
          if (!s.ok()) {
            return EncodeError(fmt::format("ERR CONFIG SET failed for {} (nothing was changed): {}", names,
                                           s.ToString()));
          }
          if (server_changed) {
            Status refresh = core->RefreshSettings(tls_changed);
            if (!refresh.ok()) return StatusErrorReply(refresh);
          }
          return EncodeSimpleString("OK");
        },
        step);
    return true;
  }
  if (EqualsIgnoreCase(args[1], "resetstat") && args.size() == 2) {
    ServerStats& st = core_->stats();
    for (auto* c : {&st.connections_received, &st.rejected_connections, &st.commands_processed, &st.unknown_commands,
                    &st.error_replies, &st.keyspace_hits, &st.keyspace_misses, &st.busy_rejections,
                    &st.protocol_errors, &st.limit_disconnects, &st.idle_disconnects, &st.auth_failures,
                    &st.protected_mode_denials, &st.tls_handshake_failures,
                    &st.net_input_bytes, &st.net_output_bytes, &st.write_batches, &st.write_batch_commands,
                    &st.inline_writes, &st.transactions_executed, &st.transactions_watch_aborted,
                    &st.transactions_error_aborted}) {
      c->store(0, std::memory_order_relaxed);
    }
    for (auto& c : st.calls) c.store(0, std::memory_order_relaxed);
    w.SimpleString("OK");
    return false;
  }
  if (EqualsIgnoreCase(args[1], "rewrite")) {
    AppendError(core_, out,
                "ERR CONFIG REWRITE is not supported: changes made at run time last until restart; put them in "
                "the file given to ebb serve --config");
    return false;
  }
  if (EqualsIgnoreCase(args[1], "help")) {
    const char* lines[] = {
        "CONFIG <subcommand> [<arg> ...]. Subcommands are:",
        "GET <pattern> [<pattern> ...]",
        "    Settings matching the glob pattern(s): section.key names (journal.sync) and a few Redis names.",
        "SET <section.key> <value> [<section.key> <value> ...]",
        "    Change settings that can change at run time (docs/configuration.md).",
        "RESETSTAT",
        "    Reset the counters reported by INFO and /metrics.",
    };
    w.ArrayHeader(std::size(lines));
    for (const char* l : lines) w.SimpleString(l);
    return false;
  }
  AppendError(core_, out, fmt::format("ERR unknown subcommand '{}'. Try CONFIG HELP.", Quote(args[1])));
  return false;
}

}  // namespace ebb
