// Connection commands: HELLO, AUTH, COMMAND, CLIENT.

#include <optional>

#include <fmt/format.h>

#include "server/command_processor.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/status_report.h"

namespace ebb {
namespace {

// Reply of one COMMAND entry (Redis 7 layout).
void WriteCommandInfo(RespWriter* w, const CommandSpec& spec) {
  w->ArrayHeader(10);
  w->Bulk(spec.name);
  w->Integer(spec.arity);
  w->ArrayHeader(spec.flags.size());
  for (auto f : spec.flags) w->SimpleString(f);
  w->Integer(spec.first_key);
  w->Integer(spec.last_key);
  w->Integer(spec.key_step);
  w->ArrayHeader(0);  // ACL categories
  w->ArrayHeader(0);  // tips
  w->ArrayHeader(0);  // key specs
  w->ArrayHeader(0);  // subcommands
}

}  // namespace

void CommandProcessor::Hello(SessionState* session, const CommandArgs& args, std::string* out) {
  if (args.size() >= 2) {
    int64_t version = 0;
    if (!ParseInt64(args[1], &version)) {
      AppendError(core_, out, "ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version != 2) {
      AppendError(core_, out, "NOPROTO sorry, this protocol version is not supported.");
      return;
    }
  }
  std::optional<std::string> setname;
  for (size_t i = 2; i < args.size(); i++) {
    if (EqualsIgnoreCase(args[i], "auth") && i + 2 < args.size()) {
      if (core_->live().password_required()) {
        if (args[i + 1] != "default" || !core_->live().CheckPassword(args[i + 2])) {
          core_->stats().auth_failures.fetch_add(1, std::memory_order_relaxed);
          AppendError(core_, out, "WRONGPASS invalid username-password pair or user is disabled.");
          return;
        }
        session->authenticated = true;
      }
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < args.size()) {
      setname.emplace(args[i + 1]);
      i += 1;
    } else {
      AppendError(core_, out, fmt::format("ERR Syntax error in HELLO option '{}'", Quote(args[i])));
      return;
    }
  }
  if (!session->authenticated && core_->live().password_required()) {
    AppendError(core_, out,
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> "
                "AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol "
                "version at the same time");
    return;
  }
  if (setname) session->name = *setname;
  RespWriter w(out);
  w.ArrayHeader(14);
  w.Bulk("server");
  w.Bulk("redis");
  w.Bulk("version");
  w.Bulk(kRedisCompatVersion);
  w.Bulk("proto");
  w.Integer(2);
  w.Bulk("id");
  w.Integer(static_cast<int64_t>(session->id));
  w.Bulk("mode");
  w.Bulk("standalone");
  w.Bulk("role");
  w.Bulk("master");
  w.Bulk("modules");
  w.ArrayHeader(0);
}

void CommandProcessor::Auth(SessionState* session, const CommandArgs& args, std::string* out) {
  if (args.size() > 3) {
    AppendError(core_, out, "ERR syntax error");
    return;
  }
  if (!core_->live().password_required()) {
    AppendError(core_, out,
                "ERR AUTH <password> called without any password configured for the default user. Are you sure "
                "your configuration is correct?");
    return;
  }
  const bool user_ok = args.size() == 2 || args[1] == "default";
  if (!user_ok || !core_->live().CheckPassword(args.back())) {
    core_->stats().auth_failures.fetch_add(1, std::memory_order_relaxed);
    AppendError(core_, out, "WRONGPASS invalid username-password pair or user is disabled.");
    return;
  }
  session->authenticated = true;
  RespWriter(out).SimpleString("OK");
}

void CommandProcessor::Command(const CommandArgs& args, std::string* out) {
  RespWriter w(out);
  const auto& all = AllCommands();
  if (args.size() == 1) {
    w.ArrayHeader(all.size());
    for (const auto& spec : all) WriteCommandInfo(&w, spec);
    return;
  }
  if (EqualsIgnoreCase(args[1], "count")) {
    w.Integer(static_cast<int64_t>(all.size()));
  } else if (EqualsIgnoreCase(args[1], "info")) {
    w.ArrayHeader(args.size() - 2);
    for (size_t i = 2; i < args.size(); i++) {
      const CommandSpec* spec = FindCommand(args[i]);
      if (spec) {
        WriteCommandInfo(&w, *spec);
      } else {
        w.NullArray();
      }
    }
  } else if (EqualsIgnoreCase(args[1], "list")) {
    w.ArrayHeader(all.size());
    for (const auto& spec : all) w.Bulk(spec.name);
  } else if (EqualsIgnoreCase(args[1], "docs")) {
    // No documentation entries: clients fall back to their own help.
    w.ArrayHeader(0);
  } else {
    AppendError(core_, out, fmt::format("ERR unknown subcommand '{}'. Try COMMAND HELP.", Quote(args[1])));
  }
}

void CommandProcessor::Client(SessionState* session, const CommandArgs& args, std::string* out) {
  RespWriter w(out);
  if (EqualsIgnoreCase(args[1], "setname") && args.size() == 3) {
    for (char c : args[2]) {
      if (c <= ' ' || c > '~') {
        AppendError(core_, out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    }
    session->name.assign(args[2]);
    w.SimpleString("OK");
  } else if (EqualsIgnoreCase(args[1], "getname") && args.size() == 2) {
    if (session->name.empty()) {
      w.NullBulk();
    } else {
      w.Bulk(session->name);
    }
  } else if (EqualsIgnoreCase(args[1], "id") && args.size() == 2) {
    w.Integer(static_cast<int64_t>(session->id));
  } else if (EqualsIgnoreCase(args[1], "setinfo") && args.size() == 4) {
    // Library name and version (redis-py 5 sends them): accepted, not kept.
    w.SimpleString("OK");
  } else if (EqualsIgnoreCase(args[1], "info") && args.size() == 2) {
    int64_t age_s = (core_->clock()->NowMicros() - session->connected_micros) / 1000000;
    // multi: commands queued, -1 outside MULTI; watch: keys watched (as Redis).
    const int64_t multi = session->tx.active() ? static_cast<int64_t>(session->tx.queued()) : -1;
    w.Bulk(fmt::format("id={} addr={} name={} age={} db={} multi={} watch={}\n", session->id, session->peer,
                       session->name, age_s, session->db, multi, session->tx.watches().size()));
  } else {
    AppendError(core_, out,
                fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                            Quote(args[1])));
  }
}

}  // namespace ebb
