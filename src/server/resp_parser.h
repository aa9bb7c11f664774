// RESP2 parsing (the Redis protocol, https://redis.io/docs/reference/protocol-spec/).
//
// RespCommandParser is the server side: it turns a client's byte stream into
// commands, each a list of arguments. A command is either a multibulk array
// of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline line
// ("GET k\r\n", split like redis-cli's quoting). It is incremental: feed it
// the bytes received so far; it remembers how far into an incomplete command
// it got, so a 16 MiB bulk arriving in 64 KiB pieces is not re-scanned.
//
// RespValueParser is the client side (the `ebb` tool, tests): it parses one
// reply of any RESP2 type, nested up to a limit.
//
// Every length and count is bounded (RespLimits) so hostile input cannot make
// the server allocate without bound: an over-limit or malformed frame is a
// protocol error with Redis's wording ("Protocol error: invalid bulk length"),
// after which the connection must be closed (the stream cannot be resynced).
// The parser allocates nothing in proportion to a declared length: a header
// "$16777216" costs nothing until the bytes arrive, and the caller sizes its
// buffer by the bytes received (bytes_wanted() only caps that growth).
//
// Thread safety: a parser is used by one connection at a time.

#ifndef EBB_SERVER_RESP_PARSER_H_
#define EBB_SERVER_RESP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

struct RespLimits {
  // Largest bulk string ($<len>); Redis's proto-max-bulk-len.
  int64_t max_bulk_bytes = 16 << 20;
  // Most elements in one array (*<len>); Redis allows 1024*1024 per
  // multibulk request from clients.
  int64_t max_array_elements = 1 << 20;
  // Longest inline command, and longest header line (*N or $N) before its
  // CRLF; Redis's PROTO_INLINE_MAX_SIZE.
  size_t max_inline_bytes = 64 << 10;
  // Deepest nesting of arrays in a reply (value parser only).
  int max_nesting = 16;
  // The connection has not authenticated yet: lengths over the limits are
  // reported with Redis's "unauthenticated" wording.
  bool unauthenticated = false;
};

// What a connection may send before it authenticates when a password is
// required (Redis's limits since CVE-2021-32675): at most 10 arguments of at
// most 16 KiB each, lines of at most 16 KiB. HELLO 2 AUTH user pass SETNAME
// name fits; anything larger is a protocol error that closes the connection.
inline constexpr int64_t kUnauthenticatedMaxArrayElements = 10;
inline constexpr int64_t kUnauthenticatedMaxBulkBytes = 16 << 10;
inline constexpr size_t kUnauthenticatedMaxInlineBytes = 16 << 10;
RespLimits UnauthenticatedLimits();

enum class RespParseResult {
  kNeedMore,  // the input ends inside a command: append more bytes and call again
  kDone,      // one command (or value) is complete
  kError,     // protocol error: error() says which; close the connection
};

class RespCommandParser {
 public:
  explicit RespCommandParser(RespLimits limits = RespLimits()) : limits_(limits) {}

  void set_limits(const RespLimits& limits) { limits_ = limits; }
  const RespLimits& limits() const { return limits_; }

  // Parses the command starting at input[0]. `input` must begin with the
  // same bytes as on the previous call until that call returned kDone or
  // kError (the caller may append, and may move the bytes in memory, but not
  // drop or change any). On kDone, *consumed is the command's length and
  // args() its arguments (views into `input` or into the parser, valid until
  // the next Parse); a command with no arguments (an empty line, "*0") is
  // complete and has to be skipped by the caller. On kNeedMore,
  // bytes_wanted() is at least how many more bytes are needed in total.
  RespParseResult Parse(std::string_view input, size_t* consumed);

  const std::vector<std::string_view>& args() const { return args_; }
  // Whether the last command was inline: its args() then point into the
  // parser and are overwritten by the next Parse; copy them to keep them.
  bool last_was_inline() const { return last_was_inline_; }
  // The protocol error, without the "-ERR " prefix, e.g.
  // "Protocol error: invalid bulk length".
  const std::string& error() const { return error_; }
  // Total bytes of input the current command needs before Parse can make
  // progress (a lower bound). A declared length, not bytes received: use it
  // to cap buffer growth, never to size a buffer up front.
  size_t bytes_wanted() const { return bytes_wanted_; }

  // Forgets any partial command (after an error, or to reuse the parser).
  void Reset();

 private:
  enum class State { kStart, kArrayElement, kBulkBody };
  RespParseResult ParseInline(std::string_view input, size_t* consumed);
  RespParseResult Fail(std::string message);
  void ResolveArgs(std::string_view input);

  RespLimits limits_;
  State state_ = State::kStart;
  // Position in the current command of the next unparsed byte.
  size_t pos_ = 0;
  int64_t elements_expected_ = 0;
  int64_t bulk_length_ = 0;
  // Arguments of a multibulk command as (offset, length) into the input.
  std::vector<std::pair<size_t, size_t>> spans_;
  // Arguments of an inline command (unquoted copies).
  std::vector<std::string> inline_args_;
  std::vector<std::string_view> args_;
  bool last_was_inline_ = false;
  std::string error_;
  size_t bytes_wanted_ = 0;
};

// One RESP2 reply.
struct RespValue {
  enum class Type { kSimpleString, kError, kInteger, kBulkString, kNullBulk, kArray, kNullArray };
  Type type = Type::kNullBulk;
  std::string str;  // simple string, error (without '-'), bulk string
  int64_t integer = 0;
  std::vector<RespValue> elements;

  bool is_error() const { return type == Type::kError; }
  // For tests and the tool: redis-cli-like rendering.
  std::string ToString() const;
};

class RespValueParser {
 public:
  explicit RespValueParser(RespLimits limits = RespLimits()) : limits_(limits) {}

  // Parses one complete value from the start of `input` (re-parsing from the
  // start on every call; replies read by a client are small). On kDone,
  // *value and *consumed are set.
  RespParseResult Parse(std::string_view input, RespValue* value, size_t* consumed);
  const std::string& error() const { return error_; }

 private:
  RespParseResult ParseAt(std::string_view input, size_t* pos, int depth, RespValue* value);

  RespLimits limits_;
  std::string error_;
};

// Splits an inline command line like Redis's sdssplitargs: whitespace
// separates arguments; "double quotes" take \n \r \t \b \a \\ \" and \xHH
// escapes; 'single quotes' take \'. False on unbalanced quotes, or a closing
// quote not followed by a space.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args);

}  // namespace ebb

#endif  // EBB_SERVER_RESP_PARSER_H_
