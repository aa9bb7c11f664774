#include "server/command_processor.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "base/config.h"
#include "ebb/store.h"
#include "server/command_table.h"
#include "server/glob_match.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/status_report.h"
#include "server/write_job.h"

namespace ebb {
namespace {

// Entries one SCAN step may examine (its COUNT is clamped to this).
constexpr size_t kMaxScanCount = 100000;
// Entries one DBSIZE ReadPool task counts before handing over to the next.
constexpr size_t kDbSizeChunk = 4096;
// Characters of an argument quoted back in an error message.
constexpr size_t kMaxQuotedArgBytes = 128;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseUint64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// An argument quoted in an error message: printable, bounded.
std::string Quote(std::string_view arg) {
  std::string out;
  for (unsigned char c : arg.substr(0, kMaxQuotedArgBytes)) {
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

// The smallest string greater than every string starting with `prefix`;
// empty when there is none (no bound).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

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

void AppendError(ServerCore* core, std::string* out, std::string_view text) {
  core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  RespWriter(out).Error(text);
}

void AppendStatusError(ServerCore* core, std::string* out, const Status& s) {
  core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  if (s.IsBusy()) core->stats().busy_rejections.fetch_add(1, std::memory_order_relaxed);
  out->append(StatusErrorReply(s));
}

std::string ArityError(std::string_view name) {
  return fmt::format("ERR wrong number of arguments for '{}' command", Lower(Quote(name)));
}

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

void ReadPoint(ServerCore* core, const std::string& database, std::vector<std::string> keys, PointReader::Done done) {
  auto db = core->registry().Find(database);
  if (!db.ok()) {
    done(db.status(), {});
    return;
  }
  if (!*db) {  // no such database: every key is absent
    std::vector<Result<std::string>> absent(keys.size(), Result<std::string>(Status::NotFound("")));
    done(Status::OK(), std::move(absent));
    return;
  }
  auto shared_done = std::make_shared<PointReader::Done>(std::move(done));
  Status s = (*db)->MultiGetAsync(std::move(keys), Priority::kNormal,
                                  [shared_done](std::vector<Result<std::string>> results) {
                                    (*shared_done)(Status::OK(), std::move(results));
                                  });
  if (!s.ok()) (*shared_done)(s, {});
}

bool CommandProcessor::Process(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                               size_t* next, std::string* out, AsyncStep* step) {
  while (*next < count) {
    if (session->close_after_reply) return false;
    if (Dispatch(session, commands, count, next, out, step)) return true;
  }
  return false;
}

bool CommandProcessor::Dispatch(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                                size_t* next, std::string* out, AsyncStep* step) {
  const CommandArgs& args = commands[*next];
  ServerStats& stats = core_->stats();
  stats.commands_processed.fetch_add(1, std::memory_order_relaxed);
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec == nullptr) {
    stats.unknown_commands.fetch_add(1, std::memory_order_relaxed);
    std::string text = fmt::format("ERR unknown command '{}', with args beginning with: ", Quote(args[0]));
    for (size_t i = 1; i < args.size() && text.size() < 512; i++) text += fmt::format("'{}' ", Quote(args[i]));
    AppendError(core_, out, text);
    (*next)++;
    return false;
  }
  if (!session->authenticated && !spec->allowed_before_auth && core_->live().password_required()) {
    AppendError(core_, out, "NOAUTH Authentication required.");
    (*next)++;
    return false;
  }
  if (!ArityOk(*spec, args.size())) {
    AppendError(core_, out, ArityError(args[0]));
    (*next)++;
    return false;
  }
  stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
  RespWriter w(out);
  switch (spec->id) {
    case CommandId::kGet:
    case CommandId::kMGet:
    case CommandId::kExists:
      ReadRun(session, commands, count, next, step);
      return true;
    case CommandId::kSet:
    case CommandId::kMSet:
    case CommandId::kDel: {
      bool nx, xx, get;
      std::string error = ValidateWrite(args, &nx, &xx, &get);
      if (!error.empty()) {
        AppendError(core_, out, error);
        (*next)++;
        return false;
      }
      WriteRun(session, commands, count, next, step);
      return true;
    }
    default:
      break;
  }
  (*next)++;
  switch (spec->id) {
    case CommandId::kPing:
      if (args.size() > 2) {
        AppendError(core_, out, ArityError(args[0]));
      } else if (args.size() == 2) {
        w.Bulk(args[1]);
      } else {
        w.SimpleString("PONG");
      }
      return false;
    case CommandId::kEcho:
      w.Bulk(args[1]);
      return false;
    case CommandId::kQuit:
      w.SimpleString("OK");
      session->close_after_reply = true;
      return false;
    case CommandId::kHello:
      Hello(session, args, out);
      return false;
    case CommandId::kAuth:
      Auth(session, args, out);
      return false;
    case CommandId::kSelect:
      if (!IsValidDatabaseName(args[1])) {
        AppendError(core_, out,
                    fmt::format("ERR invalid database name '{}': use 1 to 128 letters, digits, '_', '-' or '.', "
                                "not starting with '.' (SELECT 0-15 work as in Redis)",
                                Quote(args[1])));
      } else {
        session->db.assign(args[1]);
        w.SimpleString("OK");
      }
      return false;
    case CommandId::kCommand:
      Command(args, out);
      return false;
    case CommandId::kClient:
      Client(session, args, out);
      return false;
    case CommandId::kConfig:
      return Config(args, out, step);
    case CommandId::kScan:
      return Scan(session, args, out, step);
    case CommandId::kDbSize:
      DbSize(session, step);
      return true;
    case CommandId::kFlushDb:
      if (args.size() > 2 || (args.size() == 2 && !EqualsIgnoreCase(args[1], "async") &&
                              !EqualsIgnoreCase(args[1], "sync"))) {
        AppendError(core_, out, "ERR syntax error");
        return false;
      }
      AdminStep(
          [core = core_, db = session->db] {
            Status s = core->registry().Flush(db);
            return s.ok() ? EncodeSimpleString("OK") : StatusErrorReply(s);
          },
          step);
      return true;
    case CommandId::kInfo: {
      std::vector<std::string> sections;
      for (size_t i = 1; i < args.size(); i++) sections.push_back(Lower(args[i]));
      AdminStep(
          [core = core_, sections] { return EncodeBulk(RenderInfo(core, StatusDocument(core), sections)); },
          step);
      return true;
    }
    case CommandId::kEbbStatus:
      AdminStep([core = core_] { return EncodeBulk(DumpJson(StatusDocument(core))); }, step);
      return true;
    case CommandId::kEbbCompact: {
      if (!IsValidDatabaseName(args[1])) {
        AppendError(core_, out, fmt::format("ERR invalid database name '{}'", Quote(args[1])));
        return false;
      }
      AdminStep(
          [core = core_, name = std::string(args[1])] {
            auto db = core->registry().Find(name);
            if (!db.ok()) return StatusErrorReply(db.status());
            if (!*db) return StatusErrorReply(Status::NotFound(fmt::format("database {} does not exist", name)));
            Status s = (*db)->Compact();
            return s.ok() ? EncodeSimpleString("OK") : StatusErrorReply(s);
          },
          step);
      return true;
    }
    case CommandId::kEbbEnqueueAll:
      AdminStep(
          [core = core_] {
            auto queued = core->admin_ops()->EnqueueAll();
            return queued.ok() ? EncodeInteger(static_cast<int64_t>(*queued)) : StatusErrorReply(queued.status());
          },
          step);
      return true;
    case CommandId::kEbbSuspend:
    case CommandId::kEbbResume:
      AdminStep(
          [core = core_, suspend = spec->id == CommandId::kEbbSuspend, channel = std::string(args[1])] {
            Status s = suspend ? core->admin_ops()->SuspendChannel(channel) : core->admin_ops()->ResumeChannel(channel);
            return s.ok() ? EncodeSimpleString("OK") : StatusErrorReply(s);
          },
          step);
      return true;
    default:
      AppendError(core_, out, fmt::format("ERR internal: no handler for '{}'", spec->name));
      return false;
  }
}

std::string CommandProcessor::ValidateWrite(const CommandArgs& args, bool* nx, bool* xx, bool* get) const {
  *nx = *xx = *get = false;
  const ServerSettings& s = core_->settings();
  const CommandSpec* spec = FindCommand(args[0]);
  auto key_ok = [&](std::string_view key) { return static_cast<int64_t>(key.size()) <= s.max_key_bytes; };
  auto value_ok = [&](std::string_view v) { return static_cast<int64_t>(v.size()) <= s.max_value_bytes; };
  auto key_error = [&](std::string_view key) {
    return fmt::format("ERR key of {} bytes exceeds store.max_key_bytes ({})", key.size(), s.max_key_bytes);
  };
  auto value_error = [&](std::string_view v) {
    return fmt::format("ERR value of {} bytes exceeds store.max_value_bytes ({})", v.size(), s.max_value_bytes);
  };
  switch (spec->id) {
    case CommandId::kSet:
      for (size_t i = 3; i < args.size(); i++) {
        if (EqualsIgnoreCase(args[i], "nx")) {
          *nx = true;
        } else if (EqualsIgnoreCase(args[i], "xx")) {
          *xx = true;
        } else if (EqualsIgnoreCase(args[i], "get")) {
          *get = true;
        } else if (EqualsIgnoreCase(args[i], "keepttl")) {
          // No key expires in Ebb: keeping "the TTL" is what always happens.
        } else if (EqualsIgnoreCase(args[i], "ex") || EqualsIgnoreCase(args[i], "px") ||
                   EqualsIgnoreCase(args[i], "exat") || EqualsIgnoreCase(args[i], "pxat")) {
          return fmt::format("ERR SET {}: Ebb keys do not expire; set without a time to live",
                             Lower(Quote(args[i])));
        } else {
          return "ERR syntax error";
        }
      }
      if (*nx && *xx) return "ERR syntax error";
      if (!key_ok(args[1])) return key_error(args[1]);
      if (!value_ok(args[2])) return value_error(args[2]);
      return "";
    case CommandId::kMSet:
      if (args.size() % 2 != 1) return ArityError(args[0]);
      for (size_t i = 1; i + 1 < args.size(); i += 2) {
        if (!key_ok(args[i])) return key_error(args[i]);
        if (!value_ok(args[i + 1])) return value_error(args[i + 1]);
      }
      return "";
    case CommandId::kDel:
      for (size_t i = 1; i < args.size(); i++) {
        if (!key_ok(args[i])) return key_error(args[i]);
      }
      return "";
    default:
      return "ERR internal: not a write command";
  }
}

void CommandProcessor::ReadRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                               size_t* next, AsyncStep* step) {
  struct Item {
    CommandId id;
    size_t keys;
  };
  struct ReadState {
    std::string db;
    std::vector<std::string> keys;
    std::vector<Item> items;
    std::vector<Result<std::string>> results;
    Status error;
  };
  auto st = std::make_shared<ReadState>();
  st->db = session->db;
  ServerStats& stats = core_->stats();
  // The first command was checked by Dispatch; take its neighbours while
  // they are reads that will run (known, allowed, right arity).
  const size_t first = *next;
  for (size_t i = first; i < count; i++) {
    const CommandArgs& args = commands[i];
    const CommandSpec* spec = FindCommand(args[0]);
    if (i != first) {
      if (spec == nullptr || spec->kind != CommandKind::kRead || !ArityOk(*spec, args.size())) break;
      stats.commands_processed.fetch_add(1, std::memory_order_relaxed);
      stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
    }
    st->items.push_back({spec->id, args.size() - 1});
    for (size_t k = 1; k < args.size(); k++) st->keys.emplace_back(args[k]);
    *next = i + 1;
  }
  step->start = [core = core_, st, reader = session->reader](std::function<void()> done) {
    if (reader != nullptr) {
      reader->Read(st->db, std::move(st->keys),
                   [st, done](Status status, std::vector<Result<std::string>> results) {
                     st->error = std::move(status);
                     st->results = std::move(results);
                     done();
                   });
      return;
    }
    ReadPoint(core, st->db, std::move(st->keys), [st, done](Status status, std::vector<Result<std::string>> results) {
      st->error = std::move(status);
      st->results = std::move(results);
      done();
    });
  };
  step->finish = [core = core_, st](std::string* out) {
    ServerStats& stats = core->stats();
    RespWriter w(out);
    if (!st->error.ok()) {
      for (size_t i = 0; i < st->items.size(); i++) AppendStatusError(core, out, st->error);
      return;
    }
    size_t at = 0;
    uint64_t hits = 0, misses = 0;
    for (const Item& item : st->items) {
      const size_t first = at;
      at += item.keys;
      // A read error other than "absent" fails the command. (Result::status()
      // returns a copy: keep it by value, not a pointer into the loop.)
      std::optional<Status> failure;
      for (size_t k = first; k < at; k++) {
        if (st->results[k].ok()) continue;
        Status s = st->results[k].status();
        if (!s.IsNotFound()) {
          failure = std::move(s);
          break;
        }
      }
      if (failure) {
        AppendStatusError(core, out, *failure);
        continue;
      }
      switch (item.id) {
        case CommandId::kGet:
          if (st->results[first].ok()) {
            hits++;
            w.Bulk(*st->results[first]);
          } else {
            misses++;
            w.NullBulk();
          }
          break;
        case CommandId::kMGet:
          w.ArrayHeader(item.keys);
          for (size_t k = first; k < at; k++) {
            if (st->results[k].ok()) {
              hits++;
              w.Bulk(*st->results[k]);
            } else {
              misses++;
              w.NullBulk();
            }
          }
          break;
        default: {  // EXISTS counts every argument, repeats included
          int64_t n = 0;
          for (size_t k = first; k < at; k++) n += st->results[k].ok() ? 1 : 0;
          w.Integer(n);
          break;
        }
      }
    }
    stats.keyspace_hits.fetch_add(hits, std::memory_order_relaxed);
    stats.keyspace_misses.fetch_add(misses, std::memory_order_relaxed);
  };
}

void CommandProcessor::WriteRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                                size_t* next, AsyncStep* step) {
  struct WriteState {
    std::string db;
    std::vector<WriteCommand> commands;
    Status error;
  };
  auto st = std::make_shared<WriteState>();
  st->db = session->db;
  ServerStats& stats = core_->stats();
  const size_t first = *next;
  for (size_t i = first; i < count; i++) {
    const CommandArgs& args = commands[i];
    const CommandSpec* spec = FindCommand(args[0]);
    WriteCommand c;
    if (i != first) {
      if (spec == nullptr || spec->kind != CommandKind::kWrite || !ArityOk(*spec, args.size())) break;
      // A command with bad arguments is answered on its own, after the run.
      if (!ValidateWrite(args, &c.nx, &c.xx, &c.get).empty()) break;
      stats.commands_processed.fetch_add(1, std::memory_order_relaxed);
      stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
    } else {
      (void)ValidateWrite(args, &c.nx, &c.xx, &c.get);
    }
    c.id = spec->id;
    c.args = args;
    st->commands.push_back(std::move(c));
    *next = i + 1;
  }
  step->start = [core = core_, st](std::function<void()> done) {
    Status s = core->write_pool()->Spawn(
        [core, st, done](TaskContext&) {
          RunWriteJob(core, st->db, &st->commands);
          done();
        },
        [st, done](const Status& status) {
          st->error = status;
          done();
        });
    if (!s.ok()) {
      st->error = s;
      done();
    }
  };
  step->finish = [core = core_, st](std::string* out) {
    for (const WriteCommand& c : st->commands) {
      if (!st->error.ok()) {
        AppendStatusError(core, out, st->error);
      } else {
        if (!c.reply.empty() && c.reply[0] == '-') core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
        out->append(c.reply);
      }
    }
  };
}

bool CommandProcessor::Scan(SessionState* session, const CommandArgs& args, std::string* out, AsyncStep* step) {
  uint64_t cursor = 0;
  if (!ParseUint64(args[1], &cursor)) {
    AppendError(core_, out, "ERR invalid cursor");
    return false;
  }
  std::optional<std::string> pattern;
  std::optional<std::string> type;
  size_t limit = 10;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      AppendError(core_, out, "ERR syntax error");
      return false;
    }
    if (EqualsIgnoreCase(args[i], "match")) {
      pattern.emplace(args[i + 1]);
    } else if (EqualsIgnoreCase(args[i], "count")) {
      int64_t n = 0;
      if (!ParseInt64(args[i + 1], &n)) {
        AppendError(core_, out, "ERR value is not an integer or out of range");
        return false;
      }
      if (n < 1) {
        AppendError(core_, out, "ERR syntax error");
        return false;
      }
      limit = static_cast<size_t>(std::min<int64_t>(n, kMaxScanCount));
    } else if (EqualsIgnoreCase(args[i], "type")) {
      type = Lower(args[i + 1]);
    } else {
      AppendError(core_, out, "ERR syntax error");
      return false;
    }
  }
  std::string start;
  if (cursor != 0) {
    auto resume = core_->cursors().Take(cursor, session->db);
    if (!resume) {
      AppendError(core_, out,
                  fmt::format("ERR invalid cursor {}: unknown, already used, or expired (Ebb keeps the {} most "
                              "recent SCAN cursors); start again from 0",
                              cursor, ScanCursors::kMaxCursors));
      return false;
    }
    start = std::move(*resume);
  }
  ScanRequest request;
  request.limit = limit;
  if (pattern) {
    // Every match starts with the pattern's literal prefix: scan only there.
    std::string prefix = GlobLiteralPrefix(*pattern);
    request.start = std::max(start, prefix);
    request.end = PrefixSuccessor(prefix);
  } else {
    request.start = std::move(start);
  }
  struct ScanState {
    std::string db;
    ScanRequest request;
    std::optional<std::string> pattern;
    bool type_matches = true;
    Result<ScanBatch> batch = ScanBatch();
  };
  auto st = std::make_shared<ScanState>();
  st->db = session->db;
  st->request = std::move(request);
  st->pattern = std::move(pattern);
  st->type_matches = !type || *type == "string";  // every Ebb value is a string
  step->start = [core = core_, st](std::function<void()> done) {
    auto db = core->registry().Find(st->db);
    if (!db.ok()) {
      st->batch = db.status();
      done();
      return;
    }
    if (!*db) {  // an empty database
      done();
      return;
    }
    Status s = (*db)->ScanAsync(st->request, Priority::kLow, [st, done](Result<ScanBatch> batch) {
      st->batch = std::move(batch);
      done();
    });
    if (!s.ok()) {
      st->batch = s;
      done();
    }
  };
  step->finish = [core = core_, st](std::string* out) {
    if (!st->batch.ok() && !st->batch.status().IsNotFound()) {
      AppendStatusError(core, out, st->batch.status());
      return;
    }
    ScanBatch empty;
    const ScanBatch& batch = st->batch.ok() ? *st->batch : empty;
    std::vector<const std::string*> keys;
    if (st->type_matches) {
      for (const auto& [key, value] : batch.entries) {
        if (!st->pattern || GlobMatch(*st->pattern, key)) keys.push_back(&key);
      }
    }
    uint64_t next_cursor = batch.next_start.empty() ? 0 : core->cursors().Issue(st->db, batch.next_start);
    RespWriter w(out);
    w.ArrayHeader(2);
    w.Bulk(std::to_string(next_cursor));
    w.ArrayHeader(keys.size());
    for (const std::string* k : keys) w.Bulk(*k);
  };
  return true;
}

namespace {

struct CountState {
  std::shared_ptr<Database> db;
  std::shared_ptr<const Snapshot> snapshot;
  uint64_t count = 0;
  Status error;
  std::function<void()> done;
};

// Counts one chunk on the ReadPool, then queues the next from the callback,
// so a big database never holds a ReadPool thread for long.
void CountFrom(std::shared_ptr<CountState> st, std::string start) {
  ScanRequest request;
  request.start = std::move(start);
  request.limit = kDbSizeChunk;
  request.snapshot = st->snapshot;
  Status s = st->db->ScanAsync(std::move(request), Priority::kHigh, [st](Result<ScanBatch> batch) {
    if (!batch.ok()) {
      st->error = batch.status();
      st->done();
      return;
    }
    st->count += batch->entries.size();
    if (batch->next_start.empty()) {
      st->done();
    } else {
      CountFrom(st, std::move(batch->next_start));
    }
  });
  if (!s.ok()) {
    st->error = s;
    st->done();
  }
}

}  // namespace

void CommandProcessor::DbSize(SessionState* session, AsyncStep* step) {
  auto st = std::make_shared<CountState>();
  step->start = [core = core_, st, name = session->db](std::function<void()> done) {
    st->done = std::move(done);
    auto db = core->registry().Find(name);
    if (!db.ok()) {
      st->error = db.status();
      st->done();
      return;
    }
    if (!*db) {
      st->done();
      return;
    }
    st->db = *db;
    st->snapshot = st->db->GetSnapshot();
    CountFrom(st, "");
  };
  step->finish = [core = core_, st](std::string* out) {
    // The chain is over: drop what it held (and the cycle through done).
    st->done = nullptr;
    st->snapshot.reset();
    if (!st->error.ok() && !st->error.IsNotFound()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    RespWriter(out).Integer(st->error.ok() ? static_cast<int64_t>(st->count) : 0);
  };
}

void CommandProcessor::AdminStep(std::function<std::string()> work, AsyncStep* step) {
  struct AdminState {
    std::function<std::string()> work;
    std::string reply;
    Status error;
  };
  auto st = std::make_shared<AdminState>();
  st->work = std::move(work);
  step->start = [core = core_, st](std::function<void()> done) {
    Status s = core->admin_pool()->Spawn(
        [st, done](TaskContext&) {
          st->reply = st->work();
          done();
        },
        [st, done](const Status& status) {
          st->error = status;
          done();
        });
    if (s.IsBusy()) {
      st->error = Status::Busy(fmt::format("the admin executor has {} jobs queued (FLUSHDB, INFO, CONFIG SET, "
                                           "EBB.*); retry when they finish",
                                           ServerCore::kMaxQueuedAdminJobs));
      done();
    } else if (!s.ok()) {
      st->error = s;
      done();
    }
  };
  step->finish = [core = core_, st](std::string* out) {
    if (!st->error.ok()) {
      AppendStatusError(core, out, st->error);
    } else {
      if (!st->reply.empty() && st->reply[0] == '-') core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
      out->append(st->reply);
    }
  };
}

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
    AdminStep(
        [core = core_, changes] {
          bool server_changed = false;
          for (const auto& c : changes) {
            Status s = core->store()->SetConfig(c.section, c.key, c.value);
            if (!s.ok()) {
              return EncodeError(fmt::format("ERR CONFIG SET failed for '{}': {}", Quote(c.name), s.ToString()));
            }
            server_changed = server_changed || c.section == "server";
          }
          if (server_changed) {
            Status s = core->RefreshSettings();
            if (!s.ok()) return StatusErrorReply(s);
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
                    &st.net_input_bytes, &st.net_output_bytes, &st.write_batches, &st.write_batch_commands}) {
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
    w.Bulk(fmt::format("id={} addr={} name={} age={} db={}\n", session->id, session->peer, session->name, age_s,
                       session->db));
  } else {
    AppendError(core_, out,
                fmt::format("ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                            Quote(args[1])));
  }
}

}  // namespace ebb
