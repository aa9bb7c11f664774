#include "server/status_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/status_json.h"
#include "server/server_core.h"

namespace ebb {
namespace {

using json = nlohmann::json;

json ServerSection(ServerCore* core) {
  const ServerStats& st = core->stats();
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  json commands = json::object();
  for (const auto& spec : AllCommands()) {
    uint64_t calls = load(st.calls[static_cast<size_t>(spec.id)]);
    if (calls != 0) commands[std::string(spec.name)] = calls;
  }
  const int64_t uptime_us = core->clock()->NowMicros() - core->started_micros();
  return {
      {"version", std::string(kEbbVersion)},
      {"bind", core->settings().bind},
      {"port", core->bound_port()},
      {"tls_port", core->bound_tls_port()},
      {"admin_bind", core->settings().admin_bind},
      {"admin_port", core->bound_admin_port()},
      // Whether a secret is required, never the secret.
      {"auth_required", core->live().password_required()},
      {"admin_token_required", core->live().admin_token_required()},
      {"uptime_s", uptime_us / 1000000},
      {"io_threads", core->settings().io_threads},
      {"write_threads", core->settings().write_threads},
      {"write_nice", core->write_pool()->nice()},
      {"max_clients", core->live().max_clients()},
      {"connected_clients", load(st.connected_clients)},
      {"connections_received", load(st.connections_received)},
      {"rejected_connections", load(st.rejected_connections)},
      {"commands_processed", load(st.commands_processed)},
      {"unknown_commands", load(st.unknown_commands)},
      {"error_replies", load(st.error_replies)},
      {"keyspace_hits", load(st.keyspace_hits)},
      {"keyspace_misses", load(st.keyspace_misses)},
      {"busy_rejections", load(st.busy_rejections)},
      {"protocol_errors", load(st.protocol_errors)},
      {"limit_disconnects", load(st.limit_disconnects)},
      {"idle_disconnects", load(st.idle_disconnects)},
      {"auth_failures", load(st.auth_failures)},
      {"protected_mode", core->live().protected_mode()},
      {"protected_mode_denials", load(st.protected_mode_denials)},
      {"tls_handshake_failures", load(st.tls_handshake_failures)},
      {"net_input_bytes", load(st.net_input_bytes)},
      {"net_output_bytes", load(st.net_output_bytes)},
      {"write_batches", load(st.write_batches)},
      {"write_batch_commands", load(st.write_batch_commands)},
      {"inline_writes", load(st.inline_writes)},
      {"transactions_executed", load(st.transactions_executed)},
      {"transactions_watch_aborted", load(st.transactions_watch_aborted)},
      {"transactions_error_aborted", load(st.transactions_error_aborted)},
      {"watched_keys", core->watches().watched_keys()},
      {"scan_cursors", core->cursors().size()},
      {"database_handles", core->registry().cached()},
      {"commands", commands},
  };
}

// Fields that only grow; Prometheus counters (named with _total).
const std::set<std::string, std::less<>>& CounterFields() {
  static const std::set<std::string, std::less<>> fields = {
      "records_written", "batches_written", "syncs", "bytes_written", "admitted", "rejected", "rejected_by_wait",
      "completed", "lock_acquisitions",
      "aborted", "flush_bytes_written", "compaction_bytes_written", "compactions", "passes", "bytes_done",
      "wakeups", "deadline_wakeups", "dispatcher_passes", "stuck_passes", "transitions", "jobs_started", "jobs_succeeded", "jobs_failed", "jobs_dropped",
      "evicted", "foreground_notifications", "throttled_writes", "throttle_pause_us", "memory_bound_waits", "events_dropped",
      "connections_received", "rejected_connections",
      "commands_processed", "unknown_commands", "error_replies", "keyspace_hits", "keyspace_misses",
      "busy_rejections", "protocol_errors", "limit_disconnects", "idle_disconnects", "auth_failures",
      "protected_mode_denials", "tls_handshake_failures",
      "net_input_bytes", "net_output_bytes", "write_batches", "write_batch_commands", "inline_writes", "reloads",
      "reload_failures", "transactions_executed", "transactions_watch_aborted", "transactions_error_aborted"};
  return fields;
}

// String fields worth exporting as a labelled 1-valued gauge.
const std::set<std::string, std::less<>>& StateFields() {
  static const std::set<std::string, std::less<>> fields = {"state", "sync_mode", "policy", "blocked"};
  return fields;
}

// Fields that identify an element of an array of objects, in preference order.
const char* const kIdentityFields[] = {"name", "id", "database", "channel"};

std::string SanitizeName(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string SanitizeLabelName(std::string_view name) {
  std::string out = SanitizeName(name);
  if (out.rfind("__", 0) == 0) out = "l" + out;  // "__" prefixes are reserved
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

struct Family {
  std::string type;  // counter | gauge
  std::string help;
  std::vector<std::string> samples;
};

class PrometheusBuilder {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  void Add(std::string name, bool counter, const std::string& help, const Labels& labels, double value) {
    if (counter) name += "_total";
    Family& f = families_[name];
    if (f.type.empty()) {
      f.type = counter ? "counter" : "gauge";
      f.help = help;
    }
    std::string line = name;
    if (!labels.empty()) {
      line += "{";
      for (size_t i = 0; i < labels.size(); i++) {
        if (i) line += ",";
        line += SanitizeLabelName(labels[i].first) + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
      }
      line += "}";
    }
    line += " " + FormatValue(value);
    f.samples.push_back(std::move(line));
  }

  // Exports every number, bool and state string under `prefix`.
  void Walk(const std::string& prefix, const std::string& path, const json& node, const Labels& labels) {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) WalkField(prefix, path, key, value, labels);
    }
  }

  std::string Render() const {
    std::string out;
    for (const auto& [name, f] : families_) {
      out += "# HELP " + name + " " + EscapeHelp(f.help) + "\n";
      out += "# TYPE " + name + " " + f.type + "\n";
      for (const auto& s : f.samples) out += s + "\n";
    }
    return out;
  }

 private:
  static std::string EscapeHelp(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out.push_back(c);
      }
    }
    return out;
  }

  void WalkField(const std::string& prefix, const std::string& path, const std::string& key, const json& value,
                 const Labels& labels) {
    const std::string name = prefix + "_" + SanitizeName(key);
    const std::string field_path = path.empty() ? key : path + "." + key;
    const std::string help = fmt::format("Ebb /status field {} (docs/server.md).", field_path);
    if (value.is_number()) {
      Add(name, CounterFields().count(key) != 0, help, labels, value.get<double>());
    } else if (value.is_boolean()) {
      Add(name, false, help + " 1 when true.", labels, value.get<bool>() ? 1 : 0);
    } else if (value.is_string() && StateFields().count(key) != 0) {
      Labels l = labels;
      l.emplace_back(key, value.get<std::string>());
      Add(name, false, help + " 1 for the current value.", l, 1);
    } else if (value.is_object()) {
      // An object whose values are all objects is a map of named things
      // (read_pool: high/normal/low): label them; else flatten.
      bool all_objects = !value.empty();
      for (const auto& [k, v] : value.items()) all_objects = all_objects && v.is_object();
      if (all_objects) {
        for (const auto& [k, v] : value.items()) {
          Labels l = labels;
          l.emplace_back(LabelFor(key), k);
          Walk(name, field_path, v, l);
        }
      } else {
        Walk(name, field_path, value, labels);
      }
    } else if (value.is_array()) {
      for (size_t i = 0; i < value.size(); i++) {
        const json& element = value[i];
        if (!element.is_object()) continue;
        std::string id = std::to_string(i);
        for (const char* f : kIdentityFields) {
          auto it = element.find(f);
          if (it != element.end() && (it->is_string() || it->is_number())) {
            id = it->is_string() ? it->get<std::string>() : it->dump();
            break;
          }
        }
        Labels l = labels;
        l.emplace_back(LabelFor(key), id);
        Walk(name, field_path, element, l);
      }
    }
  }

  // "databases" -> "database", "read_pool" -> "priority", "channels" -> "channel".
  static std::string LabelFor(const std::string& key) {
    if (key == "read_pool") return "priority";
    if (key == "work_classes" || key == "classes") return "class";
    if (key == "jobs") return "job";
    if (key == "commands") return "command";
    if (key.size() > 1 && key.back() == 's') return key.substr(0, key.size() - 1);
    return key;
  }

  std::map<std::string, Family> families_;
};

void InfoLine(std::string* out, std::string_view key, const json& value) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "1" : "0";
  } else if (value.is_null()) {
    text = "";
  } else {
    text = value.dump();
  }
  // INFO lines must stay on one line.
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  *out += fmt::format("{}:{}\r\n", key, text);
}

// Flattens any JSON node into key:value INFO lines.
void InfoFlatten(std::string* out, const std::string& prefix, const json& node) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) InfoFlatten(out, prefix.empty() ? k : prefix + "_" + k, v);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); i++) {
      std::string id = std::to_string(i);
      if (node[i].is_object()) {
        for (const char* f : kIdentityFields) {
          auto it = node[i].find(f);
          if (it != node[i].end() && it->is_string()) {
            id = it->get<std::string>();
            break;
          }
        }
      }
      InfoFlatten(out, prefix + "_" + id, node[i]);
    }
  } else {
    InfoLine(out, prefix, node);
  }
}

// doc[key], or null when absent (const operator[] must not see a missing key).
const json& Field(const json& doc, std::string_view key) {
  static const json kNull;
  if (!doc.is_object()) return kNull;
  auto it = doc.find(key);
  return it == doc.end() ? kNull : *it;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string DumpJson(const nlohmann::json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json StatusDocument(ServerCore* core) {
  json doc = StoreStatusToJson(core->store()->GetStatus());
  doc["server"] = ServerSection(core);
  doc["config"] = core->config_reload().ToJson();
  return doc;
}

std::string RenderPrometheus(const nlohmann::json& doc) {
  PrometheusBuilder b;
  for (const auto& [key, value] : doc.items()) {
    if (key == "background_error") {
      b.Add("ebb_background_error", false,
            "1 when the store is read-only after a background error (see /status background_error).", {},
            value.is_string() && !value.get<std::string>().empty() ? 1 : 0);
      continue;
    }
    if (key == "data_dir") continue;
    json wrapper = json::object();
    wrapper[key] = value;
    b.Walk("ebb", "", wrapper, {});
  }
  return b.Render();
}

std::string RenderInfo(ServerCore* core, const nlohmann::json& doc, const std::vector<std::string>& sections) {
  std::set<std::string> wanted(sections.begin(), sections.end());
  const bool all = wanted.empty() || wanted.count("all") || wanted.count("everything") || wanted.count("default");
  auto want = [&](std::string_view s) { return all || wanted.count(std::string(s)) != 0; };
  const json& server = Field(doc, "server");
  std::string out;
  if (want("server")) {
    struct utsname u;
    std::string os = uname(&u) == 0 ? fmt::format("{} {} {}", u.sysname, u.release, u.machine) : "unknown";
    int64_t uptime = server.is_object() ? server.value("uptime_s", int64_t{0}) : 0;
    out += "# Server\r\n";
    out += fmt::format("redis_version:{}\r\nebb_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\n",
                       kRedisCompatVersion, kEbbVersion, os, sizeof(void*) * 8);
    out += fmt::format("multiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n",
                       static_cast<int64_t>(getpid()), core->bound_port(), uptime);
    out += fmt::format("uptime_in_days:{}\r\nio_threads_active:{}\r\n", uptime / 86400, core->settings().io_threads);
    out += "\r\n";
  }
  if (want("clients")) {
    out += "# Clients\r\n";
    InfoLine(&out, "connected_clients", Field(server, "connected_clients"));
    InfoLine(&out, "maxclients", Field(server, "max_clients"));
    InfoLine(&out, "total_watched_keys", Field(server, "watched_keys"));
    out += "blocked_clients:0\r\n\r\n";
  }
  if (want("stats")) {
    out += "# Stats\r\n";
    const std::pair<const char*, const char*> stats[] = {
        {"total_connections_received", "connections_received"},
        {"total_commands_processed", "commands_processed"},
        {"rejected_connections", "rejected_connections"},
        {"keyspace_hits", "keyspace_hits"},
        {"keyspace_misses", "keyspace_misses"},
        {"total_net_input_bytes", "net_input_bytes"},
        {"total_net_output_bytes", "net_output_bytes"},
        {"total_error_replies", "error_replies"},
        {"unknown_commands", "unknown_commands"},
        {"busy_rejections", "busy_rejections"},
        {"protocol_errors", "protocol_errors"},
        {"limit_disconnects", "limit_disconnects"},
        {"idle_disconnects", "idle_disconnects"},
        {"auth_failures", "auth_failures"},
        {"protected_mode_denials", "protected_mode_denials"},
        {"tls_handshake_failures", "tls_handshake_failures"},
        {"write_batches", "write_batches"},
        {"write_batch_commands", "write_batch_commands"},
        {"inline_writes", "inline_writes"},
        {"transactions_executed", "transactions_executed"},
        {"transactions_watch_aborted", "transactions_watch_aborted"},
        {"transactions_error_aborted", "transactions_error_aborted"},
    };
    for (const auto& [info_name, field] : stats) InfoLine(&out, info_name, Field(server, field));
    out += "\r\n";
  }
  if (want("keyspace")) {
    out += "# Keyspace\r\n";
    for (const auto& db : Field(doc, "databases")) {
      uint64_t entries = db.value("entries", uint64_t{0});
      uint64_t tombstones = db.value("tombstones", uint64_t{0});
      // An estimate: until compaction, entries count overwritten versions too.
      uint64_t keys = entries > tombstones ? entries - tombstones : 0;
      if (entries == 0) continue;
      // Values stored with an expiry (every version until compaction), as
      // estimated as keys; Ebb keeps no average TTL.
      uint64_t expires = std::min(keys, db.value("expiring", uint64_t{0}));
      out += fmt::format("db{}:keys={},expires={},avg_ttl=0\r\n", db.value("name", std::string()), keys, expires);
    }
    out += "\r\n";
  }
  if (want("ebb")) {
    out += "# Ebb\r\n";
    InfoLine(&out, "data_dir", Field(doc, "data_dir"));
    InfoLine(&out, "uptime_s", Field(doc, "uptime_s"));
    InfoLine(&out, "background_error", Field(doc, "background_error"));
    InfoFlatten(&out, "journal", Field(doc, "journal"));
    out += "\r\n";
  }
  if (want("readpool")) {
    out += "# Readpool\r\n";
    InfoFlatten(&out, "readpool", Field(doc, "read_pool"));
    out += "\r\n";
  }
  // Sections the engine adds (work classes, channels, tiering, ...).
  static const std::set<std::string> kShown = {"data_dir", "uptime_s", "background_error", "journal",
                                               "databases", "read_pool", "server"};
  for (const auto& [key, value] : doc.items()) {
    if (kShown.count(key) || !want(key)) continue;
    std::string title = key;
    if (!title.empty()) title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    out += "# " + title + "\r\n";
    InfoFlatten(&out, key, value);
    out += "\r\n";
  }
  // INFO ends without the blank line after the last section.
  while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0 &&
         out.size() >= 4 && out.compare(out.size() - 4, 4, "\r\n\r\n") == 0) {
    out.resize(out.size() - 2);
  }
  return out;
}

}  // namespace ebb
