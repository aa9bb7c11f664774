// CommandProcessor: what each command does (docs/server.md), without any
// networking. A connection hands it the commands parsed from what it has
// received; the processor answers what it can at once and turns the rest
// into AsyncSteps, keeping per-connection order:
//   - a run of consecutive point reads (GET/MGET/EXISTS/STRLEN/GETRANGE/
//     TYPE/TOUCH) becomes ONE MultiGetAsync on the ReadPool (normal
//     priority), one snapshot for the run;
//   - a run of consecutive writes (SET/MSET/DEL/INCR/APPEND/RENAME/...:
//     kind kWrite in command_table.cc) becomes ONE WriteJob (write_job.h)
//     on the write executor;
//   - SCAN, KEYS and RANDOMKEY read on the ReadPool at low priority, DBSIZE
//     at high (admin);
//   - FLUSHDB, INFO, CONFIG SET, EBB.* run on the admin executor;
//   - between MULTI and EXEC commands are queued; EXEC runs them on the
//     write executor as one WriteJob (transaction.h).
// The connection runs one step at a time and appends its replies before
// going on, so replies come back in command order and a read after a write
// in the same pipeline sees the write.

#ifndef EBB_SERVER_COMMAND_PROCESSOR_H_
#define EBB_SERVER_COMMAND_PROCESSOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "server/command_table.h"
#include "server/transaction.h"

namespace ebb {

class ServerCore;

// One parsed command: its arguments, the name first.
using CommandArgs = std::vector<std::string_view>;

// Runs a connection's point reads (GET/MGET/EXISTS) on the ReadPool at
// normal priority. The RESP server's implementation merges the reads of
// every connection of an I/O thread that are ready at the same moment into
// one ReadPool task (fewer thread hand-offs under many pipelining clients).
class PointReader {
 public:
  virtual ~PointReader() = default;
  // `done` runs exactly once, on any thread: with OK and one result per key
  // (NotFound when absent), or with the error that failed every key (Busy
  // when the pool is full).
  using Done = std::function<void(Status, std::vector<Result<std::string>>)>;
  virtual void Read(std::string database, std::vector<std::string> keys, Done done) = 0;
};

// What a connection knows about itself. Owned by the connection.
struct SessionState {
  uint64_t id = 0;
  std::string name;        // CLIENT SETNAME
  std::string db = "0";    // SELECT
  bool authenticated = false;
  bool close_after_reply = false;  // QUIT
  std::string peer;        // "127.0.0.1:50312"
  int64_t connected_micros = 0;
  // Where point reads go; null: straight to Database::MultiGetAsync.
  PointReader* reader = nullptr;
  // MULTI's queue and the keys under WATCH (transaction.h).
  TransactionState tx;
  // A write ran on the connection's thread and may have left the journal's
  // sync to it: the connection calls Store::SyncOwedJournal() once its
  // replies are sent, then clears this.
  bool journal_sync_owed = false;
};

// Work a command has to wait for. The connection calls start(done) on its
// own thread; start makes sure done() is called exactly once, from any
// thread, when the result is ready (also when it could not even start).
// After done(), the connection calls finish(&out) on its own thread to
// append the replies. Captured state stays valid until finish returns; the
// arguments (views into the connection's input) stay valid until then too.
struct AsyncStep {
  std::function<void(std::function<void()> done)> start;
  std::function<void(std::string* out)> finish;
};

// Reads `keys` of `database` with one Database::MultiGetAsync (normal
// priority); a database that does not exist reads as empty.
void ReadPoint(ServerCore* core, const std::string& database, std::vector<std::string> keys, PointReader::Done done);

class CommandProcessor {
 public:
  explicit CommandProcessor(ServerCore* core) : core_(core) {}

  // Handles commands[*next .. count): appends the replies of commands
  // answered at once to *out and advances *next. Returns true with *step
  // set when the command(s) at *next need to wait (*next is then past
  // them); false when all are handled or the session is to close.
  bool Process(SessionState* session, const std::vector<CommandArgs>& commands, size_t count, size_t* next,
               std::string* out, AsyncStep* step);

 private:
  // Each returns true if it produced an AsyncStep.
  bool Dispatch(SessionState* session, const std::vector<CommandArgs>& commands, size_t count, size_t* next,
                std::string* out, AsyncStep* step);
  void ReadRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count, size_t* next,
               AsyncStep* step);
  // False when the write ran at once (a lone write) and its replies are in *out.
  bool WriteRun(SessionState* session, const std::vector<CommandArgs>& commands, size_t count, size_t* next,
                std::string* out, AsyncStep* step);
  bool Scan(SessionState* session, const CommandArgs& args, std::string* out, AsyncStep* step);
  void Keys(SessionState* session, const CommandArgs& args, AsyncStep* step);
  void RandomKey(SessionState* session, AsyncStep* step);
  void DbSize(SessionState* session, AsyncStep* step);
  bool Config(const CommandArgs& args, std::string* out, AsyncStep* step);
  void Hello(SessionState* session, const CommandArgs& args, std::string* out);
  void Auth(SessionState* session, const CommandArgs& args, std::string* out);
  void Command(const CommandArgs& args, std::string* out);
  void Client(SessionState* session, const CommandArgs& args, std::string* out);
  // Transactions (transaction_commands.cc). Queue: inside MULTI, queues
  // the command or refuses it (failing the transaction); false for the
  // commands that run at once (EXEC, DISCARD, MULTI, WATCH, QUIT).
  bool Queue(SessionState* session, const CommandSpec& spec, const CommandArgs& args, std::string* out);
  void Multi(SessionState* session, std::string* out);
  bool Exec(SessionState* session, std::string* out, AsyncStep* step);
  void Discard(SessionState* session, std::string* out);
  bool Watch(SessionState* session, const CommandArgs& args, std::string* out, AsyncStep* step);
  void Unwatch(SessionState* session, std::string* out);
  // Runs `work` on the admin executor; its return value is the encoded reply.
  void AdminStep(std::function<std::string()> work, AsyncStep* step);

  ServerCore* const core_;
};

}  // namespace ebb

#endif  // EBB_SERVER_COMMAND_PROCESSOR_H_
