#include "server/write_job.h"

#include <algorithm>

#include "base/status_macros.h"
#include "server/resp_writer.h"
#include "server/server_core.h"

namespace ebb {

bool WriteCommandReads(const WriteCommand& c) {
  switch (c.id) {
    case CommandId::kSet:
      return c.nx || c.xx || c.get || c.keep_ttl;
    case CommandId::kSetEx:
    case CommandId::kPSetEx:
      return false;
    case CommandId::kMSet:
      return false;
    default:  // DEL counts what it removes; the string commands read-modify-write
      return true;
  }
}

WriteJobContext::WriteJobContext(ServerCore* core, Database* db, bool reads)
    : core_(core), db_(db), reads_(reads), track_writes_(!core->watches().Empty()) {}

Result<std::optional<std::string>> WriteJobContext::Read(std::string_view key) {
  EBB_ASSIGN_OR_RETURN(std::optional<Entry> entry, ReadEntry(key));
  if (!entry) return std::optional<std::string>();
  return std::optional<std::string>(std::move(entry->value));
}

Result<std::optional<WriteJobContext::Entry>> WriteJobContext::ReadEntry(std::string_view key) {
  auto it = overlay_.find(key);
  if (it != overlay_.end()) {
    // Deleted by the job, or written with an expiry already past (SET PXAT).
    const bool gone = !it->second || (it->second->expire_at_ms != 0 &&
                                      it->second->expire_at_ms <= core_->clock()->WallMicros() / 1000);
    if (gone) return std::optional<Entry>();
    return std::optional<Entry>(Entry{std::string(it->second->value), it->second->expire_at_ms});
  }
  if (db_ == nullptr) return std::optional<Entry>();
  Entry entry;
  Status s = db_->GetWithExpiry(ReadOptions(), key, &entry.value, &entry.expire_at_ms);
  // A dropped database (FLUSHDB racing) reads as empty; its write below
  // fails and the job is retried on the new database.
  if (s.IsNotFound()) return std::optional<Entry>();
  if (!s.ok()) return s;
  return std::optional<Entry>(std::move(entry));
}

void WriteJobContext::Put(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  if (expire_at_ms != 0) {
    batch_.PutWithExpiry(key, value, expire_at_ms);
  } else {
    batch_.Put(key, value);
  }
  if (reads_) overlay_[key] = Written{value, expire_at_ms};
  if (track_writes_) written_.push_back(key);
}

void WriteJobContext::Delete(std::string_view key) {
  batch_.Delete(key);
  if (reads_) overlay_[key] = std::nullopt;
  if (track_writes_) written_.push_back(key);
}

Status WriteJobContext::Write(const WriteOptions& options) {
  if (batch_.Empty()) return Status::OK();
  Status s = db_->Write(options, batch_);
  if (options.no_slowdown && s.IsBusy()) return s;  // nothing written
  if (s.IsNotFound()) return s;                     // dropped: nothing written, the caller retries
  // Written, or failed: a watcher must not trust the keys either way.
  if (track_writes_) core_->watches().Touch(db_->name(), written_);
  return s;
}

std::string_view WriteJobContext::Keep(std::string value) {
  kept_.push_back(std::make_unique<std::string>(std::move(value)));
  return *kept_.back();
}

namespace {

void RunSet(WriteJobContext* job, WriteCommand* c) {
  RespWriter w(&c->reply);
  std::string_view key = c->args[1];
  std::string_view value = c->args[c->id == CommandId::kSet ? 2 : 3];  // SETEX/PSETEX key ttl value
  if (!WriteCommandReads(*c)) {
    job->Put(key, value, c->expire_at_ms);
    w.SimpleString("OK");
    return;
  }
  auto current = job->ReadEntry(key);
  if (!current.ok()) {
    c->reply = StatusErrorReply(current.status());
    return;
  }
  const bool exists = current->has_value();
  const bool write = !(c->nx && exists) && !(c->xx && !exists);
  if (write) job->Put(key, value, c->keep_ttl && exists ? (*current)->expire_at_ms : c->expire_at_ms);
  if (c->get) {
    if (exists) {
      w.Bulk((*current)->value);
    } else {
      w.NullBulk();
    }
  } else if (write) {
    w.SimpleString("OK");
  } else {
    w.NullBulk();
  }
}

void RunDel(WriteJobContext* job, WriteCommand* c) {
  int64_t removed = 0;
  for (size_t i = 1; i < c->args.size(); i++) {
    auto current = job->Read(c->args[i]);
    if (!current.ok()) {
      c->reply = StatusErrorReply(current.status());
      return;
    }
    if (!current->has_value()) continue;  // absent: no tombstone needed
    removed++;
    job->Delete(c->args[i]);
  }
  RespWriter(&c->reply).Integer(removed);
}

}  // namespace

void RunWriteCommand(WriteJobContext* job, WriteCommand* c) {
  switch (c->id) {
    case CommandId::kSet:
    case CommandId::kSetEx:
    case CommandId::kPSetEx:
      RunSet(job, c);
      break;
    case CommandId::kMSet:
      for (size_t i = 1; i + 1 < c->args.size(); i += 2) job->Put(c->args[i], c->args[i + 1]);
      RespWriter(&c->reply).SimpleString("OK");
      break;
    case CommandId::kDel:
    case CommandId::kUnlink:
      RunDel(job, c);
      break;
    default:
      RunStringCommand(job, c);
      break;
  }
}

namespace {

// Runs the commands once against `db` with `options`. Returns the Write
// status (with options.no_slowdown, Busy means nothing was written).
Status RunOnce(ServerCore* core, Database* db, std::vector<WriteCommand>* commands, const WriteOptions& options) {
  const bool reads = std::any_of(commands->begin(), commands->end(), WriteCommandReads);
  WriteJobContext job(core, db, reads);
  for (WriteCommand& c : *commands) {
    c.reply.clear();
    RunWriteCommand(&job, &c);
  }
  if (job.batch()->Empty()) return Status::OK();
  Status s = job.Write(options);
  if (options.no_slowdown && s.IsBusy()) return s;  // not written: run again where waiting is harmless
  core->stats().write_batches.fetch_add(1, std::memory_order_relaxed);
  core->stats().write_batch_commands.fetch_add(commands->size(), std::memory_order_relaxed);
  return s;
}

// Every key the commands write, with whether its stripe is taken
// exclusively (commands that read before writing).
std::vector<std::pair<std::string_view, bool>> LockedKeys(const std::vector<WriteCommand>& commands) {
  std::vector<std::pair<std::string_view, bool>> keys;
  for (const WriteCommand& c : commands) {
    const bool exclusive = WriteCommandReads(c);
    for (size_t i : KeyPositions(GetCommandSpec(c.id), c.args.size())) keys.emplace_back(c.args[i], exclusive);
  }
  return keys;
}

}  // namespace

void RunOnWriteExecutor(ServerCore* core, std::function<void()> work, std::function<void(const Status&)> failed) {
  // Shared: when the pool refuses the task it drops its copy of `failed`.
  auto shared_failed = std::make_shared<std::function<void(const Status&)>>(std::move(failed));
  Status s = core->write_pool()->Spawn([work = std::move(work)](TaskContext&) { work(); },
                                       [shared_failed](const Status& status) { (*shared_failed)(status); });
  if (!s.ok()) (*shared_failed)(s);
}

std::string StatusErrorReply(const Status& status) {
  if (status.IsBusy()) return EncodeError("BUSY " + status.message());
  return EncodeError("ERR " + status.ToString());
}

bool IsLoneWrite(const std::vector<WriteCommand>& commands) {
  if (commands.size() != 1) return false;
  const WriteCommand& c = commands.front();
  if (c.id != CommandId::kSet && c.id != CommandId::kMSet) return false;
  if (WriteCommandReads(c)) return false;
  size_t bytes = 0;
  for (std::string_view a : c.args) bytes += a.size();
  return bytes <= kLoneWriteMaxBytes;
}

bool RunLoneWrite(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands) {
  std::optional<KeyLocks::Guard> guard = core->key_locks().TryLock(LockedKeys(*commands));
  if (!guard) return false;  // a job on the write executor holds a key
  std::shared_ptr<Database> db = core->registry().FindCached(database);
  if (db == nullptr) return false;  // opening or creating a database reads and writes the disk
  WriteOptions options;
  options.caller_syncs = true;
  options.no_slowdown = true;
  Status s = RunOnce(core, db.get(), commands, options);
  // Busy: it would wait (for room, a pause or a sync); NotFound: dropped by
  // a FLUSHDB meanwhile. Either way nothing was written.
  if (s.IsBusy() || s.IsNotFound()) return false;
  if (!s.ok()) {
    std::string reply = StatusErrorReply(s);
    for (WriteCommand& c : *commands) c.reply = reply;
  }
  return true;
}

void RunWriteJob(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands) {
  KeyLocks::Guard guard = core->key_locks().Lock(LockedKeys(*commands));
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
    s = RunOnce(core, db->get(), commands, WriteOptions());
    if (!s.IsNotFound()) break;
    core->registry().Forget(database, db->get());
  }
  if (!s.ok()) {
    std::string reply = StatusErrorReply(s);
    for (WriteCommand& c : *commands) c.reply = reply;
  }
}

}  // namespace ebb
