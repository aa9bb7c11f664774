// Transactions: MULTI / EXEC / DISCARD / WATCH / UNWATCH (docs/server.md,
// "Transactions").
//
//   state      command        reply and effect
//   -------    -------        ----------------
//   idle       WATCH k...     +OK; k registered with its version (watch_registry.h)
//   idle       UNWATCH        +OK; every watch dropped
//   idle       MULTI          +OK; -> queueing
//   idle       EXEC/DISCARD   -ERR EXEC without MULTI / DISCARD without MULTI
//   queueing   key read/write, PING, ECHO, UNWATCH
//                             +QUEUED; the arguments copied into the queue
//   queueing   unknown command, wrong arity, a command a transaction cannot
//              run (SELECT, FLUSHDB, SCAN, ...; COPY ... DB other), past
//              server.multi_max_commands or server.multi_max_bytes
//                             the error at once; the transaction is failed
//   queueing   MULTI / WATCH  -ERR MULTI calls can not be nested / WATCH
//                             inside MULTI is not allowed (not failed, as
//                             in Redis)
//   queueing   DISCARD        +OK; queue and watches dropped -> idle
//   queueing   EXEC (failed)  -EXECABORT ...; queue and watches dropped -> idle
//   queueing   EXEC           -> idle; on the write executor (RunTransaction):
//                             the stripes of every key of the queue and of
//                             every watched key exclusively, then a watched
//                             key changed: *-1 (nothing runs); else every
//                             command in order through one WriteJobContext
//                             (reads see the transaction's own writes),
//                             and ONE WriteBatch: an array of the replies
//                             (a command's own error is its element).
// Closing the connection drops the queue and the watches.
//
// Thread safety: a TransactionState belongs to one connection (its I/O
// thread); RunTransaction runs on the write executor.

#ifndef EBB_SERVER_TRANSACTION_H_
#define EBB_SERVER_TRANSACTION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_table.h"
#include "server/watch_registry.h"

namespace ebb {

class ServerCore;

// Keys one connection may watch at once (their bytes count against
// server.multi_max_bytes too).
inline constexpr size_t kMaxWatchedKeys = 100000;

// A command queued after MULTI: its arguments, the name first.
struct QueuedCommand {
  std::vector<std::string> args;
};

// What a queued command costs the limits: its argument bytes, plus the
// bookkeeping of each argument and of the command.
size_t QueuedCommandBytes(const std::vector<std::string_view>& args);

class TransactionState {
 public:
  // Inside MULTI (until EXEC or DISCARD).
  bool active() const { return active_; }
  // A queued command failed: EXEC answers EXECABORT.
  bool failed() const { return failed_; }
  size_t queued() const { return queue_.size(); }
  // Bytes of the queue and of the watched keys (server.multi_max_bytes).
  size_t bytes() const { return queue_bytes_ + watches_.bytes(); }
  WatchSet& watches() { return watches_; }

  void Begin() { active_ = true; }
  void Fail() { failed_ = true; }
  // Queues a copy of `args` if it fits `max_commands` and `max_bytes`;
  // otherwise fails the transaction and returns the error to answer. A
  // failed transaction keeps nothing more (EXEC discards it anyway).
  std::string Queue(const std::vector<std::string_view>& args, int64_t max_commands, int64_t max_bytes);
  // Ends the transaction: the queue and the watches are handed over and
  // this state is idle again.
  void Take(std::vector<QueuedCommand>* queue, WatchSet* watches);
  // Drops everything: the queue, the failure, the watches.
  void Reset();

 private:
  bool active_ = false;
  bool failed_ = false;
  std::vector<QueuedCommand> queue_;
  size_t queue_bytes_ = 0;
  WatchSet watches_;
};

// Why a command cannot be queued in a transaction ("" if it can): every
// command but the key reads and writes, PING, ECHO and UNWATCH.
std::string NotAllowedInTransaction(const CommandSpec& spec);

// How EXEC ended.
enum class ExecOutcome { kExecuted, kWatchAborted, kFailed };

// EXEC on the write executor: runs `queue` against `database` as described
// above and returns the encoded reply (an array, *-1, or one error when
// nothing could be written). Blocks for the locks and the write.
std::string RunTransaction(ServerCore* core, std::string_view database, const WatchSet& watches,
                           const std::vector<QueuedCommand>& queue, ExecOutcome* outcome);

}  // namespace ebb

#endif  // EBB_SERVER_TRANSACTION_H_
