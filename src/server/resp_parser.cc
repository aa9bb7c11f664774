#include "server/resp_parser.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace ebb {
namespace {

// Finds the CRLF ending the line that starts at `from`. Returns the index of
// the '\r', npos if the line is not complete yet, or npos - 1 if a '\r' is
// followed by something other than '\n'.
constexpr size_t kBadLine = std::string_view::npos - 1;

size_t FindLineEnd(std::string_view input, size_t from) {
  const char* begin = input.data() + from;
  const void* cr = std::memchr(begin, '\r', input.size() - from);
  if (cr == nullptr) return std::string_view::npos;
  size_t at = static_cast<const char*>(cr) - input.data();
  if (at + 1 >= input.size()) return std::string_view::npos;  // '\n' not here yet
  return input[at + 1] == '\n' ? at : kBadLine;
}

// Strict integer parse like Redis's string2ll: optional '-', digits, no
// spaces or '+'.
bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  if (text[0] == '+') return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string Printable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", u);
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RespLimits UnauthenticatedLimits() {
  RespLimits limits;
  limits.max_array_elements = kUnauthenticatedMaxArrayElements;
  limits.max_bulk_bytes = kUnauthenticatedMaxBulkBytes;
  limits.max_inline_bytes = kUnauthenticatedMaxInlineBytes;
  limits.unauthenticated = true;
  return limits;
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* args) {
  args->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsSpace(line[i])) i++;
    if (i >= n) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) return false;  // unterminated quotes
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && HexValue(line[i + 2]) >= 0 &&
            HexValue(line[i + 3]) >= 0) {
          current.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          i++;
          char c = line[i];
          switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'a': c = '\a'; break;
            default: break;
          }
          current.push_back(c);
        } else if (line[i] == '"') {
          // A closing quote must be followed by a space or the end.
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          i++;
          current.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        switch (line[i]) {
          case ' ': case '\n': case '\r': case '\t': case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[i]);
            break;
        }
      }
      if (i < n) i++;
    }
    args->push_back(std::move(current));
  }
}

void RespCommandParser::Reset() {
  state_ = State::kStart;
  pos_ = 0;
  elements_expected_ = 0;
  bulk_length_ = 0;
  spans_.clear();
  args_.clear();
  bytes_wanted_ = 0;
}

RespParseResult RespCommandParser::Fail(std::string message) {
  error_ = std::move(message);
  Reset();
  return RespParseResult::kError;
}

void RespCommandParser::ResolveArgs(std::string_view input) {
  args_.clear();
  args_.reserve(spans_.size());
  for (const auto& [offset, length] : spans_) args_.push_back(input.substr(offset, length));
}

RespParseResult RespCommandParser::ParseInline(std::string_view input, size_t* consumed) {
  const void* nl = std::memchr(input.data(), '\n', input.size());
  if (nl == nullptr) {
    if (input.size() > limits_.max_inline_bytes) return Fail("Protocol error: too big inline request");
    bytes_wanted_ = input.size() + 1;
    return RespParseResult::kNeedMore;
  }
  size_t line_end = static_cast<const char*>(nl) - input.data();
  if (line_end > limits_.max_inline_bytes) return Fail("Protocol error: too big inline request");
  std::string_view line = input.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!SplitInlineArgs(line, &inline_args_)) return Fail("Protocol error: unbalanced quotes in request");
  *consumed = line_end + 1;
  Reset();
  args_.clear();
  for (const auto& a : inline_args_) args_.emplace_back(a);
  last_was_inline_ = true;
  return RespParseResult::kDone;
}

RespParseResult RespCommandParser::Parse(std::string_view input, size_t* consumed) {
  *consumed = 0;
  last_was_inline_ = false;
  if (state_ == State::kStart) {
    if (input.empty()) {
      bytes_wanted_ = 1;
      return RespParseResult::kNeedMore;
    }
    if (input[0] != '*') return ParseInline(input, consumed);
    size_t cr = FindLineEnd(input, 0);
    if (cr == kBadLine) return Fail("Protocol error: invalid multibulk length");
    if (cr == std::string_view::npos) {
      if (input.size() > limits_.max_inline_bytes) return Fail("Protocol error: too big mbulk count string");
      bytes_wanted_ = input.size() + 1;
      return RespParseResult::kNeedMore;
    }
    int64_t count = 0;
    if (!ParseInt(input.substr(1, cr - 1), &count)) return Fail("Protocol error: invalid multibulk length");
    if (count > limits_.max_array_elements) {
      return Fail(limits_.unauthenticated ? "Protocol error: unauthenticated multibulk length"
                                          : "Protocol error: invalid multibulk length");
    }
    pos_ = cr + 2;
    if (count <= 0) {  // "*0" and "*-1": an empty command, skipped like Redis
      *consumed = pos_;
      Reset();
      return RespParseResult::kDone;
    }
    elements_expected_ = count;
    spans_.clear();
    // Reserve for what the bytes at hand can hold, not what the header claims.
    spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
    state_ = State::kArrayElement;
  }
  while (true) {
    if (state_ == State::kArrayElement) {
      if (pos_ >= input.size()) {
        bytes_wanted_ = pos_ + 1;
        return RespParseResult::kNeedMore;
      }
      if (input[pos_] != '$') {
        return Fail(fmt::format("Protocol error: expected '$', got '{}'", Printable(input[pos_])));
      }
      size_t cr = FindLineEnd(input, pos_);
      if (cr == kBadLine) return Fail("Protocol error: invalid bulk length");
      if (cr == std::string_view::npos) {
        if (input.size() - pos_ > limits_.max_inline_bytes) return Fail("Protocol error: too big bulk count string");
        bytes_wanted_ = input.size() + 1;
        return RespParseResult::kNeedMore;
      }
      int64_t length = 0;
      if (!ParseInt(input.substr(pos_ + 1, cr - pos_ - 1), &length) || length < 0) {
        return Fail("Protocol error: invalid bulk length");
      }
      if (length > limits_.max_bulk_bytes) {
        return Fail(limits_.unauthenticated ? "Protocol error: unauthenticated bulk length"
                                            : "Protocol error: invalid bulk length");
      }
      bulk_length_ = length;
      pos_ = cr + 2;
      state_ = State::kBulkBody;
    }
    // kBulkBody
    size_t end = pos_ + static_cast<size_t>(bulk_length_);
    if (input.size() < end + 2) {
      bytes_wanted_ = end + 2;
      return RespParseResult::kNeedMore;
    }
    if (input[end] != '\r' || input[end + 1] != '\n') {
      return Fail("Protocol error: expected CRLF after bulk string");
    }
    spans_.emplace_back(pos_, static_cast<size_t>(bulk_length_));
    pos_ = end + 2;
    state_ = State::kArrayElement;
    if (static_cast<int64_t>(spans_.size()) == elements_expected_) {
      *consumed = pos_;
      ResolveArgs(input);
      state_ = State::kStart;
      pos_ = 0;
      elements_expected_ = 0;
      bytes_wanted_ = 0;
      return RespParseResult::kDone;
    }
  }
}

RespParseResult RespValueParser::Parse(std::string_view input, RespValue* value, size_t* consumed) {
  size_t pos = 0;
  *value = RespValue();
  RespParseResult r = ParseAt(input, &pos, 0, value);
  if (r == RespParseResult::kDone) *consumed = pos;
  return r;
}

RespParseResult RespValueParser::ParseAt(std::string_view input, size_t* pos, int depth, RespValue* value) {
  if (*pos >= input.size()) return RespParseResult::kNeedMore;
  size_t cr = FindLineEnd(input, *pos);
  if (cr == kBadLine) {
    error_ = "Protocol error: expected CRLF";
    return RespParseResult::kError;
  }
  if (cr == std::string_view::npos) {
    if (input.size() - *pos > std::max<size_t>(limits_.max_inline_bytes, limits_.max_bulk_bytes)) {
      error_ = "Protocol error: line too long";
      return RespParseResult::kError;
    }
    return RespParseResult::kNeedMore;
  }
  const char type = input[*pos];
  std::string_view line = input.substr(*pos + 1, cr - *pos - 1);
  size_t next = cr + 2;
  switch (type) {
    case '+':
      value->type = RespValue::Type::kSimpleString;
      value->str.assign(line);
      *pos = next;
      return RespParseResult::kDone;
    case '-':
      value->type = RespValue::Type::kError;
      value->str.assign(line);
      *pos = next;
      return RespParseResult::kDone;
    case ':':
      value->type = RespValue::Type::kInteger;
      if (!ParseInt(line, &value->integer)) {
        error_ = "Protocol error: invalid integer";
        return RespParseResult::kError;
      }
      *pos = next;
      return RespParseResult::kDone;
    case '$': {
      int64_t length = 0;
      if (!ParseInt(line, &length) || length < -1 || length > limits_.max_bulk_bytes) {
        error_ = "Protocol error: invalid bulk length";
        return RespParseResult::kError;
      }
      if (length == -1) {
        value->type = RespValue::Type::kNullBulk;
        *pos = next;
        return RespParseResult::kDone;
      }
      size_t end = next + static_cast<size_t>(length);
      if (input.size() < end + 2) return RespParseResult::kNeedMore;
      if (input[end] != '\r' || input[end + 1] != '\n') {
        error_ = "Protocol error: expected CRLF after bulk string";
        return RespParseResult::kError;
      }
      value->type = RespValue::Type::kBulkString;
      value->str.assign(input.substr(next, static_cast<size_t>(length)));
      *pos = end + 2;
      return RespParseResult::kDone;
    }
    case '*': {
      int64_t count = 0;
      if (!ParseInt(line, &count) || count < -1 || count > limits_.max_array_elements) {
        error_ = "Protocol error: invalid multibulk length";
        return RespParseResult::kError;
      }
      if (count == -1) {
        value->type = RespValue::Type::kNullArray;
        *pos = next;
        return RespParseResult::kDone;
      }
      if (depth + 1 > limits_.max_nesting) {
        error_ = "Protocol error: arrays nested too deeply";
        return RespParseResult::kError;
      }
      value->type = RespValue::Type::kArray;
      value->elements.clear();
      *pos = next;
      for (int64_t i = 0; i < count; i++) {
        RespValue element;
        RespParseResult r = ParseAt(input, pos, depth + 1, &element);
        if (r != RespParseResult::kDone) return r;
        value->elements.push_back(std::move(element));
      }
      return RespParseResult::kDone;
    }
    default:
      error_ = fmt::format("Protocol error: unknown reply type '{}'", Printable(type));
      return RespParseResult::kError;
  }
}

std::string RespValue::ToString() const {
  switch (type) {
    case Type::kSimpleString:
      return str;
    case Type::kError:
      return "(error) " + str;
    case Type::kInteger:
      return fmt::format("(integer) {}", integer);
    case Type::kBulkString:
      return str;
    case Type::kNullBulk:
    case Type::kNullArray:
      return "(nil)";
    case Type::kArray: {
      if (elements.empty()) return "(empty array)";
      std::string out;
      for (size_t i = 0; i < elements.size(); i++) {
        if (i) out += "\n";
        out += fmt::format("{}) {}", i + 1, elements[i].ToString());
      }
      return out;
    }
  }
  return "";
}

}  // namespace ebb
