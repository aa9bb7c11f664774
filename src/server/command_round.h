// How a connection turns received bytes into commands, shared by the RESP
// listener (resp_server.cc) and the session fuzzer: a round parses every
// complete command up to a limit, then the CommandProcessor runs them.
//
// Before AUTH (a password is required and the session has not given it) a
// round parses one command, with Redis's pre-AUTH limits
// (UnauthenticatedLimits), so the commands after an AUTH are parsed with
// the limits that hold once it has run; after AUTH, up to
// kMaxCommandsPerRound with server.max_bulk_bytes.

#ifndef EBB_SERVER_COMMAND_ROUND_H_
#define EBB_SERVER_COMMAND_ROUND_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_processor.h"
#include "server/resp_parser.h"

namespace ebb {

// Commands parsed before they are run (then parsing continues): bounds the
// views held into the input buffer and the replies held before a write.
inline constexpr size_t kMaxCommandsPerRound = 1024;

struct CommandRound {
  size_t limit = 0;     // most commands this round could parse
  size_t count = 0;     // commands parsed, in commands[0, count)
  size_t consumed = 0;  // bytes of input they took (empty commands included)
  // Set when the input after them is malformed: answer it and close.
  std::optional<std::string> protocol_error;
  // Fewer than `limit`: every complete command has been parsed.
  bool exhausted() const { return count < limit; }
};

// Whether `session` is still held to the pre-AUTH limits.
bool RestrictedBeforeAuth(ServerCore* core, const SessionState& session);

// Parses the next round from `input` (bytes not consumed by earlier rounds).
// commands[i] views `input` or, for inline commands, strings appended to
// *inline_args; both must outlive the round's execution.
CommandRound ParseCommandRound(ServerCore* core, const SessionState& session, RespCommandParser* parser,
                               std::string_view input, std::vector<CommandArgs>* commands,
                               std::deque<std::string>* inline_args);

}  // namespace ebb

#endif  // EBB_SERVER_COMMAND_ROUND_H_
