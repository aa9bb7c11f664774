// WriteJob: a run of pipelined write commands (SET, MSET, DEL, INCR, APPEND,
// RENAME, ... every command of kind kWrite in command_table.cc) from one
// connection, executed on the write executor as ONE WriteBatch, with one
// reply per command exactly as if each ran alone and in order:
//   - the keys' KeyLocks stripes are held for the whole job (exclusive for
//     commands that read before writing: SET NX/XX/GET, DEL, which counts
//     what it removes, INCR and every other read-modify-write), so those
//     reads and the batch are atomic against every other write the server
//     makes;
//   - a read sees the job's own earlier writes (SET k v then SET k w NX in
//     one pipeline answers nil to the second; INCR k twice answers 1 and 2);
//   - arguments are validated before the job (key and value sizes, numbers,
//     options), so the batch can fail only as a whole, for a reason that
//     would have failed every command (I/O error, read-only store); then
//     every command gets that error. Errors that depend on the data (INCR
//     of a value that is not an integer) are that command's reply and leave
//     the others alone.
//   - once written, the keys the batch wrote count as modified for WATCH
//     (watch_registry.h), before the stripes are released.
// A MULTI/EXEC transaction (transaction.h) runs its commands through the
// same WriteJobContext.
// The reads a job makes run on the write executor, not the ReadPool: they
// belong to the write (docs/ARCHITECTURE.md: writes never run on the ReadPool).

#ifndef EBB_SERVER_WRITE_JOB_H_
#define EBB_SERVER_WRITE_JOB_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ebb/database.h"
#include "ebb/status.h"
#include "ebb/write_batch.h"
#include "server/command_table.h"

namespace ebb {

class ServerCore;

struct WriteCommand {
  CommandId id = CommandId::kSet;
  // The command's arguments (name included); views valid until the job ends.
  std::vector<std::string_view> args;
  // SET options.
  bool nx = false;
  bool xx = false;
  bool get = false;
  // SET KEEPTTL.
  bool keep_ttl = false;
  // The expiry a command sets (SET EX/PX/EXAT/PXAT, SETEX, PSETEX, EXPIRE
  // and friends, GETEX): Unix milliseconds, 0 for none; GETEX PERSIST.
  int64_t expire_at_ms = 0;
  bool persist = false;
  // EXPIRE's condition: NX, XX, GT or LT (0 for none).
  char expire_condition = 0;
  // Parsed arguments: INCRBY/DECRBY's increment, SETRANGE's offset.
  int64_t integer = 0;
  // INCRBYFLOAT's increment.
  long double real = 0;
  // COPY's options: DB (empty: the connection's database) and REPLACE.
  std::string_view copy_db;
  bool replace = false;
  // Filled by RunWriteJob: the encoded reply.
  std::string reply;
};

// What one command of a job sees: every key as of the job's earlier
// commands, and the batch it adds to. Used on the write executor (or, for a
// lone write, the I/O thread), with the stripes of every key the job may
// write held (KeyLocks) from before construction until after Write.
class WriteJobContext {
 public:
  // `db` may be null for a job that only reads (a transaction of reads of a
  // database that does not exist): every key is then absent.
  WriteJobContext(ServerCore* core, Database* db, bool reads);

  ServerCore* core() const { return core_; }
  // A key's value and its expiry (Unix milliseconds, 0 for none).
  struct Entry {
    std::string value;
    int64_t expire_at_ms = 0;
  };
  // The value of `key` now (nullopt when absent), or the read error.
  Result<std::optional<std::string>> Read(std::string_view key);
  // The same with the key's expiry.
  Result<std::optional<Entry>> ReadEntry(std::string_view key);
  // `key` and `value` must stay valid until the batch is written (views
  // into the command's arguments, or strings the job owns: see Keep). With
  // `expire_at_ms` (Unix milliseconds) the value expires then; 0 for never.
  void Put(std::string_view key, std::string_view value, int64_t expire_at_ms = 0);
  void Delete(std::string_view key);
  // Keeps `value` alive until the job ends; returns a view of it.
  std::string_view Keep(std::string value);
  // The connection's database.
  Database* db() const { return db_; }
  WriteBatch* batch() { return &batch_; }
  // Writes the batch (nothing if empty), then marks the keys it wrote
  // modified for WATCH (watch_registry.h). With options.no_slowdown, Busy
  // means nothing was written; NotFound means the database was dropped
  // meanwhile and nothing was written either.
  Status Write(const WriteOptions& options);

 private:
  ServerCore* const core_;
  Database* const db_;
  const bool reads_;  // a job that reads nothing keeps no overlay
  // Some key is watched: remember the keys written, for Write's Touch.
  const bool track_writes_;
  WriteBatch batch_;
  // The job's own writes so far: key -> value and expiry, or nullopt for
  // deleted.
  struct Written {
    std::string_view value;
    int64_t expire_at_ms;
  };
  std::unordered_map<std::string_view, std::optional<Written>> overlay_;
  std::vector<std::string_view> written_;
  std::vector<std::unique_ptr<std::string>> kept_;
};

// Whether `c` reads before it writes (its keys are then locked exclusively).
bool WriteCommandReads(const WriteCommand& c);

// Computes the reply of one write command (c->id of kind kWrite, validated
// by ValidateWriteCommand) and adds its writes to the job's batch.
void RunWriteCommand(WriteJobContext* job, WriteCommand* c);

// Computes the reply of one string or key command (INCR, APPEND, RENAME,
// ...; string_commands.cc) and adds its writes to the job's batch. The
// plain SET/MSET/DEL are handled by the job itself.
void RunStringCommand(WriteJobContext* job, WriteCommand* c);

// Why a write command cannot run (argument sizes, numbers, syntax), or ""
// if it can; fills the parsed arguments of `c` (c->id and c->args set).
std::string ValidateWriteCommand(const ServerCore& core, WriteCommand* c);

// Runs `commands` against database `database` (created if missing). Every
// command gets its reply. Blocks for the write (and its sync, per
// journal.sync); call it from the write executor.
void RunWriteJob(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands);

// A lone write: one plain SET or MSET (no NX/XX/GET: nothing read), of at
// most kLoneWriteMaxBytes of arguments. The I/O thread may run it itself
// (RunLoneWrite) instead of handing it to the write executor and back:
// under a trickle that spares two threads a wakeup per write.
inline constexpr size_t kLoneWriteMaxBytes = 64 << 10;
bool IsLoneWrite(const std::vector<WriteCommand>& commands);

// Runs a lone write on the calling thread (an I/O thread) if that cannot
// wait: its key stripes are free, the database's handle is cached (opening
// or creating one touches the disk), and the write needs no room made, is
// not under writeback's backpressure and does not wait for a sync
// (WriteOptions::no_slowdown; journal.sync = always always waits). It is
// written with WriteOptions::caller_syncs: the caller must call
// Store::SyncOwedJournal() once the reply is out. Returns false, having
// written nothing, when the write must go to the write executor
// (RunWriteJob) instead.
bool RunLoneWrite(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands);

// Runs `work` on the write executor. If it cannot run there (the pool is
// full or stopping), `failed` is called instead, with why, on this thread or
// the one stopping the pool. Exactly one of the two is called.
void RunOnWriteExecutor(ServerCore* core, std::function<void()> work, std::function<void(const Status&)> failed);

// The RESP error reply for a failed Status: "-BUSY ..." for Busy, else
// "-ERR <Code>: <message>".
std::string StatusErrorReply(const Status& status);

}  // namespace ebb

#endif  // EBB_SERVER_WRITE_JOB_H_
