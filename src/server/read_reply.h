// The point reads (GET, MGET, EXISTS, STRLEN, GETRANGE, TYPE, TOUCH: kind
// kRead in command_table.cc): their arguments and their replies, computed
// from the values of their keys. Shared by the ReadPool path
// (command_processor.cc) and transactions (transaction.cc), which read
// through their own writes.

#ifndef EBB_SERVER_READ_REPLY_H_
#define EBB_SERVER_READ_REPLY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"
#include "server/command_table.h"
#include "server/resp_writer.h"

namespace ebb {

// One point read, its arguments parsed.
struct PointRead {
  CommandId id = CommandId::kGet;
  size_t keys = 0;     // how many of the results are its keys'
  int64_t start = 0;   // GETRANGE's
  int64_t end = 0;
};

// Parses a point read (spec of kind kRead, arity checked). Returns why it
// cannot run (GETRANGE's numbers), or "" with *read filled.
std::string ParsePointRead(const CommandSpec& spec, const std::vector<std::string_view>& args, PointRead* read);

// Appends the reply of `read` from the results of its keys, in argument
// order: the value, NotFound when absent. Another error fails the command:
// the caller answers it instead (FirstReadError). Counts hits and misses.
void AppendPointReadReply(RespWriter* w, const PointRead& read, const Result<std::string>* results,
                          uint64_t* hits, uint64_t* misses);

// The first error other than NotFound among `n` results, or OK.
Status FirstReadError(const Result<std::string>* results, size_t n);

}  // namespace ebb

#endif  // EBB_SERVER_READ_REPLY_H_
