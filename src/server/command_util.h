// Helpers shared by the command families of the CommandProcessor
// (command_processor.cc and the *_commands.cc files beside it): argument
// parsing, quoting arguments back in errors, and error replies that count
// in the server's statistics.

#ifndef EBB_SERVER_COMMAND_UTIL_H_
#define EBB_SERVER_COMMAND_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ebb/status.h"

namespace ebb {

class ServerCore;

// Characters of an argument quoted back in an error message.
constexpr size_t kMaxQuotedArgBytes = 128;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Lower(std::string_view s);
bool ParseInt64(std::string_view text, int64_t* out);
bool ParseUint64(std::string_view text, uint64_t* out);
// Redis's string2ll: an optional '-', then digits without leading zeros
// ("0" alone is fine; "+1", "01", "-0", " 1" are not), within int64.
bool ParseRedisInt64(std::string_view text, int64_t* out);
// An argument quoted in an error message: printable, bounded.
std::string Quote(std::string_view arg);
// Appends an error reply and counts it (error_replies).
void AppendError(ServerCore* core, std::string* out, std::string_view text);
// Appends the reply for a store error (-BUSY, -ERR <Code>: ...) and counts it.
void AppendStatusError(ServerCore* core, std::string* out, const Status& s);
std::string ArityError(std::string_view name);

}  // namespace ebb

#endif  // EBB_SERVER_COMMAND_UTIL_H_
