#include "server/write_job.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "ebb/write_batch.h"
#include "server/resp_writer.h"
#include "server/server_core.h"

namespace ebb {
namespace {

bool NeedsRead(const WriteCommand& c) { return c.id == CommandId::kDel || c.nx || c.xx || c.get; }

// The job's own writes so far: key -> value, or nullopt for deleted.
using Overlay = std::unordered_map<std::string_view, std::optional<std::string_view>>;

// The current value of `key` as the job sees it. nullopt when absent.
Result<std::optional<std::string>> ReadKey(Database* db, const Overlay& overlay, std::string_view key) {
  auto it = overlay.find(key);
  if (it != overlay.end()) {
    if (!it->second) return std::optional<std::string>();
    return std::optional<std::string>(std::string(*it->second));
  }
  std::string value;
  Status s = db->Get(ReadOptions(), key, &value);
  // A dropped database (FLUSHDB racing) reads as empty; its write below
  // fails and the job is retried on the new database.
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return s;
  return std::optional<std::string>(std::move(value));
}

// Runs the commands once against `db`. Returns the Write status.
Status RunOnce(Database* db, std::vector<WriteCommand>* commands, ServerStats* stats) {
  // The overlay serves reads of the job's own writes; a job that reads
  // nothing (plain SET and MSET, the common pipeline) does not keep one.
  const bool reads = std::any_of(commands->begin(), commands->end(), NeedsRead);
  Overlay overlay;
  auto remember = [&](std::string_view key, std::optional<std::string_view> value) {
    if (reads) overlay[key] = value;
  };
  WriteBatch batch;
  for (WriteCommand& c : *commands) {
    c.reply.clear();
    RespWriter w(&c.reply);
    switch (c.id) {
      case CommandId::kSet: {
        std::string_view key = c.args[1];
        std::string_view value = c.args[2];
        if (!NeedsRead(c)) {
          batch.Put(key, value);
          remember(key, value);
          w.SimpleString("OK");
          break;
        }
        auto current = ReadKey(db, overlay, key);
        if (!current.ok()) {
          c.reply = StatusErrorReply(current.status());
          break;
        }
        const bool exists = current->has_value();
        const bool write = !(c.nx && exists) && !(c.xx && !exists);
        if (write) {
          batch.Put(key, value);
          remember(key, value);
        }
        if (c.get) {
          if (exists) {
            w.Bulk(**current);
          } else {
            w.NullBulk();
          }
        } else if (write) {
          w.SimpleString("OK");
        } else {
          w.NullBulk();
        }
        break;
      }
      case CommandId::kMSet:
        for (size_t i = 1; i + 1 < c.args.size(); i += 2) {
          batch.Put(c.args[i], c.args[i + 1]);
          remember(c.args[i], c.args[i + 1]);
        }
        w.SimpleString("OK");
        break;
      case CommandId::kDel: {
        int64_t removed = 0;
        Status error;
        for (size_t i = 1; i < c.args.size(); i++) {
          auto current = ReadKey(db, overlay, c.args[i]);
          if (!current.ok()) {
            error = current.status();
            break;
          }
          if (!current->has_value()) continue;  // absent: no tombstone needed
          removed++;
          batch.Delete(c.args[i]);
          remember(c.args[i], std::nullopt);
        }
        if (!error.ok()) {
          c.reply = StatusErrorReply(error);
        } else {
          w.Integer(removed);
        }
        break;
      }
      default:
        c.reply = EncodeError("ERR internal: not a write command");
        break;
    }
  }
  if (batch.Empty()) return Status::OK();
  stats->write_batches.fetch_add(1, std::memory_order_relaxed);
  stats->write_batch_commands.fetch_add(commands->size(), std::memory_order_relaxed);
  return db->Write(WriteOptions(), batch);
}

}  // namespace

std::string StatusErrorReply(const Status& status) {
  if (status.IsBusy()) return EncodeError("BUSY " + status.message());
  return EncodeError("ERR " + status.ToString());
}

void RunWriteJob(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands) {
  std::vector<std::pair<std::string_view, bool>> keys;
  for (const WriteCommand& c : *commands) {
    const bool exclusive = NeedsRead(c);
    const size_t step = c.id == CommandId::kMSet ? 2 : 1;
    const size_t last = c.id == CommandId::kSet ? 1 : c.args.size() - 1;
    for (size_t i = 1; i <= last; i += step) keys.emplace_back(c.args[i], exclusive);
  }
  KeyLocks::Guard guard = core->key_locks().Lock(keys);
  // A FLUSHDB may drop the database between lookup and write; the write then
  // fails with NotFound and the job runs again on the new database.
  constexpr int kAttempts = 2;
  Status s;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    auto db = core->registry().GetOrCreate(database);
    if (!db.ok()) {
      s = db.status();
      break;
    }
    s = RunOnce(db->get(), commands, &core->stats());
    if (!s.IsNotFound()) break;
    core->registry().Forget(database, db->get());
  }
  if (!s.ok()) {
    std::string reply = StatusErrorReply(s);
    for (WriteCommand& c : *commands) c.reply = reply;
  }
}

}  // namespace ebb
