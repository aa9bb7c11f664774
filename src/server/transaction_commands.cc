// MULTI, EXEC, DISCARD, WATCH, UNWATCH and the queueing of commands between
// MULTI and EXEC (transaction.h describes the whole behaviour).

#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "server/command_processor.h"
#include "server/command_util.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/transaction.h"
#include "server/write_job.h"

namespace ebb {

bool CommandProcessor::Queue(SessionState* session, const CommandSpec& spec, const CommandArgs& args,
                             std::string* out) {
  switch (spec.id) {
    case CommandId::kExec:
    case CommandId::kDiscard:
    case CommandId::kMulti:
    case CommandId::kWatch:
    case CommandId::kQuit:
      return false;  // run now, as in Redis
    default:
      break;
  }
  std::string error = NotAllowedInTransaction(spec);
  if (error.empty() && spec.id == CommandId::kCopy) {
    // A copy into another database is a write of its own, outside the
    // transaction's one batch.
    WriteCommand c;
    c.id = spec.id;
    c.args = args;
    (void)ValidateWriteCommand(*core_, &c);
    if (!c.copy_db.empty() && c.copy_db != session->db) {
      error = fmt::format(
          "ERR Command not allowed inside a transaction: COPY ... DB '{}' (another database than the selected "
          "'{}'): a transaction writes one database in one batch; the transaction will be discarded (EXEC answers "
          "EXECABORT)",
          Quote(c.copy_db), Quote(session->db));
    }
  }
  if (error.empty()) error = session->tx.Queue(args, core_->live().multi_max_commands(), core_->live().multi_max_bytes());
  if (!error.empty()) {
    session->tx.Fail();
    AppendError(core_, out, error);
    return true;
  }
  RespWriter(out).SimpleString("QUEUED");
  return true;
}

void CommandProcessor::Multi(SessionState* session, std::string* out) {
  if (session->tx.active()) {
    AppendError(core_, out, "ERR MULTI calls can not be nested");
    return;
  }
  session->tx.Begin();
  RespWriter(out).SimpleString("OK");
}

void CommandProcessor::Discard(SessionState* session, std::string* out) {
  if (!session->tx.active()) {
    AppendError(core_, out, "ERR DISCARD without MULTI");
    return;
  }
  session->tx.Reset();
  RespWriter(out).SimpleString("OK");
}

void CommandProcessor::Unwatch(SessionState* session, std::string* out) {
  session->tx.watches().Clear();
  RespWriter(out).SimpleString("OK");
}

bool CommandProcessor::Exec(SessionState* session, std::string* out, AsyncStep* step) {
  if (!session->tx.active()) {
    AppendError(core_, out, "ERR EXEC without MULTI");
    return false;
  }
  if (session->tx.failed()) {
    session->tx.Reset();
    core_->stats().transactions_error_aborted.fetch_add(1, std::memory_order_relaxed);
    AppendError(core_, out, "EXECABORT Transaction discarded because of previous errors.");
    return false;
  }
  struct ExecState {
    std::string db;
    std::vector<QueuedCommand> queue;
    WatchSet watches;
    std::string reply;
    Status error;
  };
  auto st = std::make_shared<ExecState>();
  st->db = session->db;
  session->tx.Take(&st->queue, &st->watches);
  if (st->queue.empty() && st->watches.empty()) {  // nothing to run or check
    core_->stats().transactions_executed.fetch_add(1, std::memory_order_relaxed);
    RespWriter(out).ArrayHeader(0);
    return false;
  }
  step->start = [core = core_, st](std::function<void()> done) {
    RunOnWriteExecutor(
        core,
        [core, st, done] {
          ExecOutcome outcome;
          st->reply = RunTransaction(core, st->db, st->watches, st->queue, &outcome);
          st->watches.Clear();  // EXEC ends every watch, whatever the outcome
          done();
        },
        [st, done](const Status& status) {
          st->error = status;
          done();
        });
  };
  step->finish = [core = core_, st](std::string* out) {
    if (!st->error.ok()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    if (!st->reply.empty() && st->reply[0] == '-') core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
    out->append(st->reply);
  };
  return true;
}

bool CommandProcessor::Watch(SessionState* session, const CommandArgs& args, std::string* out, AsyncStep* step) {
  if (session->tx.active()) {
    AppendError(core_, out, "ERR WATCH inside MULTI is not allowed");
    return false;
  }
  WatchSet& watched = session->tx.watches();
  // The keys not watched yet, once each.
  std::set<std::string_view> fresh;
  size_t bytes = 0;
  for (size_t i = 1; i < args.size(); i++) {
    if (watched.Contains(session->db, args[i]) || !fresh.insert(args[i]).second) continue;
    bytes += session->db.size() + args[i].size();
  }
  if (watched.size() + fresh.size() > kMaxWatchedKeys) {
    AppendError(core_, out,
                fmt::format("ERR WATCH would watch {} keys on this connection, over the limit of {}; nothing more "
                            "is watched: UNWATCH, or watch fewer keys",
                            watched.size() + fresh.size(), kMaxWatchedKeys));
    return false;
  }
  const int64_t max_bytes = core_->live().multi_max_bytes();
  if (static_cast<int64_t>(session->tx.bytes() + bytes) > max_bytes) {
    AppendError(core_, out,
                fmt::format("ERR WATCH would hold {} bytes of watched keys on this connection, over "
                            "server.multi_max_bytes ({}); nothing more is watched: UNWATCH, or watch fewer keys",
                            session->tx.bytes() + bytes, max_bytes));
    return false;
  }
  if (fresh.empty()) {
    RespWriter(out).SimpleString("OK");
    return false;
  }
  // Registered while holding the keys' stripes exclusively, so no write to
  // them is between its batch and its Touch (watch_registry.h).
  std::vector<std::pair<std::string_view, bool>> keys;
  for (std::string_view k : fresh) keys.emplace_back(k, true);
  if (std::optional<KeyLocks::Guard> guard = core_->key_locks().TryLock(keys)) {
    const int64_t now_ms = core_->clock()->WallMicros() / 1000;
    for (std::string_view k : fresh) watched.Watch(&core_->watches(), session->db, k, now_ms);
    RespWriter(out).SimpleString("OK");
    return false;
  }
  // A write holds one of the keys: wait for it on the write executor.
  struct WatchState {
    std::string db;
    std::vector<std::string> keys;
    WatchSet watched;
    Status error;
  };
  auto st = std::make_shared<WatchState>();
  st->db = session->db;
  st->keys.assign(fresh.begin(), fresh.end());
  step->start = [core = core_, st](std::function<void()> done) {
    RunOnWriteExecutor(
        core,
        [core, st, done] {
          {
            std::vector<std::pair<std::string_view, bool>> keys;
            for (const std::string& k : st->keys) keys.emplace_back(k, true);
            KeyLocks::Guard guard = core->key_locks().Lock(keys);
            const int64_t now_ms = core->clock()->WallMicros() / 1000;
            for (const std::string& k : st->keys) st->watched.Watch(&core->watches(), st->db, k, now_ms);
          }
          done();
        },
        [st, done](const Status& status) {
          st->error = status;
          done();
        });
  };
  step->finish = [core = core_, st, session](std::string* out) {
    if (!st->error.ok()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    session->tx.watches().Merge(std::move(st->watched));
    RespWriter(out).SimpleString("OK");
  };
  return true;
}

}  // namespace ebb
