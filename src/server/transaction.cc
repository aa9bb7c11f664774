#include "server/transaction.h"

#include <memory>
#include <optional>

#include <fmt/format.h>

#include "server/command_util.h"
#include "server/read_reply.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/write_job.h"

namespace ebb {

size_t QueuedCommandBytes(const std::vector<std::string_view>& args) {
  size_t bytes = sizeof(QueuedCommand);
  for (std::string_view a : args) bytes += sizeof(std::string) + a.size();
  return bytes;
}

std::string TransactionState::Queue(const std::vector<std::string_view>& args, int64_t max_commands,
                                    int64_t max_bytes) {
  if (failed_) return "";  // discarded at EXEC: keep nothing more
  const size_t cost = QueuedCommandBytes(args);
  if (static_cast<int64_t>(queue_.size()) >= max_commands) {
    failed_ = true;
    return fmt::format(
        "ERR the transaction holds {} queued commands, the limit of server.multi_max_commands ({}); it will be "
        "discarded (EXEC answers EXECABORT): split it into smaller transactions, or raise the limit",
        queue_.size(), max_commands);
  }
  if (static_cast<int64_t>(bytes() + cost) > max_bytes) {
    failed_ = true;
    return fmt::format(
        "ERR the transaction would hold {} bytes of queued commands and watched keys, over "
        "server.multi_max_bytes ({}); it will be discarded (EXEC answers EXECABORT): split it into smaller "
        "transactions, or raise the limit",
        bytes() + cost, max_bytes);
  }
  QueuedCommand& c = queue_.emplace_back();
  c.args.reserve(args.size());
  for (std::string_view a : args) c.args.emplace_back(a);
  queue_bytes_ += cost;
  return "";
}

void TransactionState::Take(std::vector<QueuedCommand>* queue, WatchSet* watches) {
  *queue = std::move(queue_);
  *watches = std::move(watches_);
  queue_.clear();
  queue_bytes_ = 0;
  active_ = failed_ = false;
}

void TransactionState::Reset() {
  queue_.clear();
  queue_bytes_ = 0;
  watches_.Clear();
  active_ = failed_ = false;
}

std::string NotAllowedInTransaction(const CommandSpec& spec) {
  switch (spec.kind) {
    case CommandKind::kRead:
    case CommandKind::kWrite:
      return "";
    default:
      break;
  }
  switch (spec.id) {
    case CommandId::kPing:
    case CommandId::kEcho:
    case CommandId::kUnwatch:
      return "";
    default:
      break;
  }
  return fmt::format(
      "ERR Command not allowed inside a transaction: '{}'. Between MULTI and EXEC Ebb runs the key reads and "
      "writes of the selected database, PING, ECHO and UNWATCH{}; the transaction will be discarded (EXEC answers "
      "EXECABORT)",
      spec.name, spec.id == CommandId::kSelect ? " (send SELECT before MULTI)" : "");
}

namespace {

// One queued command as EXEC runs it.
struct ExecItem {
  const CommandSpec* spec = nullptr;
  std::vector<std::string_view> args;
  std::string error;  // an argument error found before running: the reply
  WriteCommand write;
  PointRead read;
  std::string reply;
};

// Runs a point read through the job, so it sees the transaction's writes.
void RunRead(WriteJobContext* job, ExecItem* item, uint64_t* hits, uint64_t* misses) {
  std::vector<Result<std::string>> results;
  for (size_t k : KeyPositions(*item->spec, item->args.size())) {
    auto value = job->Read(item->args[k]);
    if (!value.ok()) {
      results.emplace_back(value.status());
    } else if (!value->has_value()) {
      results.emplace_back(Status::NotFound(""));
    } else {
      results.emplace_back(std::move(**value));
    }
  }
  Status failure = FirstReadError(results.data(), results.size());
  if (!failure.ok()) {
    item->reply = StatusErrorReply(failure);
    return;
  }
  RespWriter w(&item->reply);
  AppendPointReadReply(&w, item->read, results.data(), hits, misses);
}

void RunItem(WriteJobContext* job, ExecItem* item, uint64_t* hits, uint64_t* misses) {
  item->reply.clear();
  if (!item->error.empty()) {
    item->reply = EncodeError(item->error);
    return;
  }
  RespWriter w(&item->reply);
  switch (item->spec->kind) {
    case CommandKind::kWrite:
      item->write.reply.clear();
      RunWriteCommand(job, &item->write);
      item->reply = std::move(item->write.reply);
      return;
    case CommandKind::kRead:
      RunRead(job, item, hits, misses);
      return;
    default:
      break;
  }
  switch (item->spec->id) {
    case CommandId::kPing:
      if (item->args.size() > 2) {
        w.Error(ArityError(item->args[0]));
      } else if (item->args.size() == 2) {
        w.Bulk(item->args[1]);
      } else {
        w.SimpleString("PONG");
      }
      return;
    case CommandId::kEcho:
      w.Bulk(item->args[1]);
      return;
    case CommandId::kUnwatch:  // EXEC drops the watches anyway
      w.SimpleString("OK");
      return;
    default:
      w.Error(fmt::format("ERR internal: '{}' cannot run in a transaction", item->spec->name));
      return;
  }
}

// The commands of the queue with their arguments checked, as views into it.
std::vector<ExecItem> PrepareItems(const ServerCore& core, const std::vector<QueuedCommand>& queue) {
  std::vector<ExecItem> items(queue.size());
  for (size_t i = 0; i < queue.size(); i++) {
    ExecItem& item = items[i];
    item.args.assign(queue[i].args.begin(), queue[i].args.end());
    item.spec = FindCommand(item.args[0]);  // queued only if known, with the right arity
    if (item.spec->kind == CommandKind::kWrite) {
      item.write.id = item.spec->id;
      item.write.args = item.args;
      item.error = ValidateWriteCommand(core, &item.write);
    } else if (item.spec->kind == CommandKind::kRead) {
      item.error = ParsePointRead(*item.spec, item.args, &item.read);
    }
  }
  return items;
}

// Every key the items touch and every watched key, exclusively: the
// transaction reads before it writes, and no write may land on a watched
// key between the version check and the batch.
std::vector<std::pair<std::string_view, bool>> TransactionKeys(const std::vector<ExecItem>& items,
                                                               const WatchSet& watches) {
  std::vector<std::pair<std::string_view, bool>> keys;
  for (const ExecItem& item : items) {
    for (size_t k : KeyPositions(*item.spec, item.args.size())) keys.emplace_back(item.args[k], true);
  }
  watches.ForEach([&](std::string_view, std::string_view key) { keys.emplace_back(key, true); });
  return keys;
}

// Whether a watched key was alive when it was watched and has expired
// since (Redis 7 aborts EXEC then): its stored value, unchanged since (no
// write bumped its version), read with expiry judged as of the watch. A
// value whose space was already reclaimed reads as absent either way.
bool WatchedKeyExpired(ServerCore* core, const WatchSet& watches) {
  const int64_t now_ms = core->clock()->WallMicros() / 1000;
  bool expired = false;
  watches.ForEachWithTime([&](std::string_view database, std::string_view key, int64_t since_ms) {
    if (expired) return;
    auto db = core->registry().Find(database);
    if (!db.ok() || *db == nullptr) return;
    ReadOptions options;
    options.expiry_as_of_ms = since_ms;
    std::string value;
    int64_t expire_at_ms = 0;
    if ((*db)->GetWithExpiry(options, key, &value, &expire_at_ms).ok() && expire_at_ms != 0 &&
        expire_at_ms <= now_ms) {
      expired = true;
    }
  });
  return expired;
}

std::string OutputLimitError(size_t bytes, int64_t max_bytes) {
  return EncodeError(fmt::format(
      "ERR EXEC aborted, nothing was written: the transaction's writes and replies reached {} bytes, over "
      "server.multi_max_bytes ({}); split it into smaller transactions, or raise the limit",
      bytes, max_bytes));
}

}  // namespace

std::string RunTransaction(ServerCore* core, std::string_view database, const WatchSet& watches,
                           const std::vector<QueuedCommand>& queue, ExecOutcome* outcome) {
  *outcome = ExecOutcome::kFailed;
  std::vector<ExecItem> items = PrepareItems(*core, queue);
  bool writes = false;
  for (const ExecItem& item : items) writes = writes || (item.spec->kind == CommandKind::kWrite && item.error.empty());
  KeyLocks::Guard guard = core->key_locks().Lock(TransactionKeys(items, watches));
  const int64_t max_bytes = core->live().multi_max_bytes();
  ServerStats& stats = core->stats();
  // A database dropped under a handle looked up earlier: Write answers
  // NotFound having written nothing, and the transaction runs again.
  constexpr int kAttempts = 2;
  Status s;
  uint64_t hits = 0, misses = 0;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    if (watches.Changed() || (attempt == 0 && !watches.empty() && WatchedKeyExpired(core, watches))) {
      *outcome = ExecOutcome::kWatchAborted;
      stats.transactions_watch_aborted.fetch_add(1, std::memory_order_relaxed);
      return "*-1\r\n";
    }
    // A transaction that writes nothing creates no database.
    auto db = writes ? core->registry().GetOrCreate(database) : core->registry().Find(database);
    if (!db.ok()) return StatusErrorReply(db.status());
    WriteJobContext job(core, db->get(), /*reads=*/true);
    hits = misses = 0;
    size_t output = 0;
    for (ExecItem& item : items) {
      RunItem(&job, &item, &hits, &misses);
      output += item.reply.size();
      if (static_cast<int64_t>(output + job.batch()->PayloadBytes()) > max_bytes) {
        return OutputLimitError(output + job.batch()->PayloadBytes(), max_bytes);
      }
    }
    s = job.Write(WriteOptions());
    if (s.IsNotFound() && *db != nullptr) {
      core->registry().Forget(database, db->get());
      continue;
    }
    if (!job.batch()->Empty()) {
      stats.write_batches.fetch_add(1, std::memory_order_relaxed);
      stats.write_batch_commands.fetch_add(items.size(), std::memory_order_relaxed);
    }
    break;
  }
  if (!s.ok()) return StatusErrorReply(s);
  *outcome = ExecOutcome::kExecuted;
  stats.transactions_executed.fetch_add(1, std::memory_order_relaxed);
  stats.keyspace_hits.fetch_add(hits, std::memory_order_relaxed);
  stats.keyspace_misses.fetch_add(misses, std::memory_order_relaxed);
  std::string reply;
  RespWriter w(&reply);
  w.ArrayHeader(items.size());
  for (const ExecItem& item : items) {
    if (!item.reply.empty() && item.reply[0] == '-') stats.error_replies.fetch_add(1, std::memory_order_relaxed);
    w.Raw(item.reply);
  }
  return reply;
}

}  // namespace ebb
