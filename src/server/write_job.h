// WriteJob: a run of pipelined write commands (SET, MSET, DEL) from one
// connection, executed on the write executor as ONE WriteBatch, with one
// reply per command exactly as if each ran alone and in order:
//   - the keys' KeyLocks stripes are held for the whole job (exclusive for
//     commands that read before writing: SET NX/XX/GET and DEL, which counts
//     what it removes), so those reads and the batch are atomic against
//     every other write the server makes;
//   - a read sees the job's own earlier writes (SET k v then SET k w NX in
//     one pipeline answers nil to the second);
//   - arguments are validated before the job (key and value sizes), so the
//     batch can fail only as a whole, for a reason that would have failed
//     every command (I/O error, read-only store); then every command gets
//     that error.
// The reads a job makes run on the write executor, not the ReadPool: they
// belong to the write (docs/ARCHITECTURE.md: writes never run on the ReadPool).

#ifndef EBB_SERVER_WRITE_JOB_H_
#define EBB_SERVER_WRITE_JOB_H_

#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
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
  // Filled by RunWriteJob: the encoded reply.
  std::string reply;
};

// Runs `commands` against database `database` (created if missing). Every
// command gets its reply. Blocks for the write (and its sync, per
// journal.sync); call it from the write executor.
void RunWriteJob(ServerCore* core, std::string_view database, std::vector<WriteCommand>* commands);

// The RESP error reply for a failed Status: "-BUSY ..." for Busy, else
// "-ERR <Code>: <message>".
std::string StatusErrorReply(const Status& status);

}  // namespace ebb

#endif  // EBB_SERVER_WRITE_JOB_H_
