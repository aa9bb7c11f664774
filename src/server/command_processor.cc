#include "server/command_processor.h"

#include <memory>

#include <fmt/format.h>

#include "ebb/store.h"
#include "server/command_table.h"
#include "server/command_util.h"
#include "server/read_reply.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/status_report.h"
#include "server/write_job.h"

namespace ebb {

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
    if (session->tx.active()) session->tx.Fail();
    (*next)++;
    return false;
  }
  if (!session->authenticated && !spec->allowed_before_auth && core_->live().password_required()) {
    AppendError(core_, out, "NOAUTH Authentication required.");
    if (session->tx.active()) session->tx.Fail();
    (*next)++;
    return false;
  }
  if (!ArityOk(*spec, args.size())) {
    AppendError(core_, out, ArityError(args[0]));
    if (session->tx.active()) session->tx.Fail();
    (*next)++;
    return false;
  }
  stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
  if (session->tx.active() && Queue(session, *spec, args, out)) {
    (*next)++;
    return false;
  }
  RespWriter w(out);
  if (spec->kind == CommandKind::kRead || spec->kind == CommandKind::kWrite) {
    std::string error;
    if (spec->kind == CommandKind::kRead) {
      PointRead read;
      error = ParsePointRead(*spec, args, &read);
    } else {
      WriteCommand c;
      c.id = spec->id;
      c.args = args;
      error = ValidateWriteCommand(*core_, &c);
    }
    if (!error.empty()) {
      AppendError(core_, out, error);
      (*next)++;
      return false;
    }
    if (spec->kind == CommandKind::kRead) {
      ReadRun(session, commands, count, next, step);
      return true;
    }
    return WriteRun(session, commands, count, next, out, step);
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
    case CommandId::kMulti:
      Multi(session, out);
      return false;
    case CommandId::kExec:
      return Exec(session, out, step);
    case CommandId::kDiscard:
      Discard(session, out);
      return false;
    case CommandId::kWatch:
      return Watch(session, args, out, step);
    case CommandId::kUnwatch:
      Unwatch(session, out);
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
    case CommandId::kKeys:
      Keys(session, args, step);
      return true;
    case CommandId::kRandomKey:
      RandomKey(session, step);
      return true;
    case CommandId::kFlushDb:
      if (args.size() > 2 || (args.size() == 2 && !EqualsIgnoreCase(args[1], "async") &&
                              !EqualsIgnoreCase(args[1], "sync"))) {
        AppendError(core_, out, "ERR syntax error");
        return false;
      }
      AdminStep(
          [core = core_, db = session->db] {
            // No write job or transaction runs across the drop; the keys of
            // the database under WATCH count as modified.
            KeyLocks::Guard all = core->key_locks().LockAll();
            Status s = core->registry().Flush(db);
            core->watches().TouchDatabase(db);
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

void CommandProcessor::ReadRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                               size_t* next, AsyncStep* step) {
  struct ReadState {
    std::string db;
    std::vector<std::string> keys;
    std::vector<PointRead> items;
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
    PointRead item;
    if (i != first) {
      if (spec == nullptr || spec->kind != CommandKind::kRead || !ArityOk(*spec, args.size())) break;
      // A command with bad arguments is answered on its own, after the run.
      if (!ParsePointRead(*spec, args, &item).empty()) break;
      stats.commands_processed.fetch_add(1, std::memory_order_relaxed);
      stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
    } else {
      (void)ParsePointRead(*spec, args, &item);
    }
    st->items.push_back(item);
    for (size_t k : KeyPositions(*spec, args.size())) st->keys.emplace_back(args[k]);
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
    for (const PointRead& item : st->items) {
      const Result<std::string>* results = st->results.data() + at;
      at += item.keys;
      // A read error other than "absent" fails the command.
      Status failure = FirstReadError(results, item.keys);
      if (!failure.ok()) {
        AppendStatusError(core, out, failure);
        continue;
      }
      AppendPointReadReply(&w, item, results, &hits, &misses);
    }
    stats.keyspace_hits.fetch_add(hits, std::memory_order_relaxed);
    stats.keyspace_misses.fetch_add(misses, std::memory_order_relaxed);
  };
}

bool CommandProcessor::WriteRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count,
                                size_t* next, std::string* out, AsyncStep* step) {
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
    }
    c.id = spec->id;
    c.args = args;
    if (i != first) {
      // A command with bad arguments is answered on its own, after the run.
      if (!ValidateWriteCommand(*core_, &c).empty()) break;
      stats.commands_processed.fetch_add(1, std::memory_order_relaxed);
      stats.calls[static_cast<size_t>(spec->id)].fetch_add(1, std::memory_order_relaxed);
    } else {
      (void)ValidateWriteCommand(*core_, &c);
    }
    st->commands.push_back(std::move(c));
    *next = i + 1;
  }
  auto finish = [core = core_, st](std::string* out) {
    for (const WriteCommand& c : st->commands) {
      if (!st->error.ok()) {
        AppendStatusError(core, out, st->error);
      } else {
        if (!c.reply.empty() && c.reply[0] == '-') core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
        out->append(c.reply);
      }
    }
  };
  // A lone write runs here when it cannot wait: handing it to the write
  // executor and back would wake two more threads for a few microseconds
  // of work. Its journal sync, if one is due, is made by the connection
  // once the reply is out (SessionState::journal_sync_owed).
  if (core_->settings().inline_lone_writes && IsLoneWrite(st->commands) &&
      RunLoneWrite(core_, st->db, &st->commands)) {
    core_->stats().inline_writes.fetch_add(1, std::memory_order_relaxed);
    session->journal_sync_owed = true;
    finish(out);
    return false;
  }
  step->start = [core = core_, st](std::function<void()> done) {
    RunOnWriteExecutor(
        core,
        [core, st, done] {
          RunWriteJob(core, st->db, &st->commands);
          done();
        },
        [st, done](const Status& status) {
          st->error = status;
          done();
        });
  };
  step->finish = std::move(finish);
  return true;
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

}  // namespace ebb
