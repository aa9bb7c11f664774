// Redis-style glob patterns (SCAN MATCH, CONFIG GET, KEYS-like filters):
//   *  any run of bytes     ?  one byte     \x  the byte x literally
//   [abc] [^abc] [a-z]  one byte in / not in the set ("[" without a closing
//   "]" matches itself).
// Matching is linear in the text for each star (the classic backtrack to
// the last star), so hostile patterns such as "a*a*a*a*b" cannot make it
// exponential the way a naive recursive matcher is.

#ifndef EBB_SERVER_GLOB_MATCH_H_
#define EBB_SERVER_GLOB_MATCH_H_

#include <string>
#include <string_view>

namespace ebb {

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

// The literal bytes every match must start with ("user:*" -> "user:"), so a
// sorted scan can seek to them and stop after them.
std::string GlobLiteralPrefix(std::string_view pattern);

}  // namespace ebb

#endif  // EBB_SERVER_GLOB_MATCH_H_
