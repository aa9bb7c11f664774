// The string and key commands that read before they write (INCR family,
// APPEND, SETRANGE, GETDEL, SETNX, MSETNX, GETSET, RENAME, RENAMENX, COPY),
// run inside a WriteJob (write_job.h), with Redis's replies and error texts.

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "server/command_util.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/write_job.h"

namespace ebb {
namespace {

constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kNotFloat = "ERR value is not a valid float";

// Longest text INCRBYFLOAT parses or prints (Redis's MAX_LONG_DOUBLE_CHARS):
// %.17Lf of the largest long double fits.
constexpr size_t kMaxLongDoubleChars = 5 * 1024;

// Redis's string2ld: the whole text is a long double (strtold syntax, no
// leading space), neither NaN nor out of range.
bool ParseLongDouble(std::string_view text, long double* out) {
  if (text.empty() || text.size() >= kMaxLongDoubleChars) return false;
  std::string buf(text);
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  long double value = std::strtold(buf.c_str(), &end);
  if (end != buf.data() + buf.size()) return false;
  if (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || std::fpclassify(value) == FP_ZERO)) {
    return false;
  }
  if (std::isnan(value)) return false;
  *out = value;
  return true;
}

// Redis's ld2string in "human" mode: 17 decimals, trailing zeros removed.
std::string FormatLongDouble(long double value) {
  char buf[kMaxLongDoubleChars];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return {};
  std::string out(buf, static_cast<size_t>(n));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::string TooLargeError(const ServerCore& core, uint64_t bytes) {
  return fmt::format("ERR string exceeds maximum allowed size: {} bytes, over store.max_value_bytes ({})", bytes,
                     core.settings().max_value_bytes);
}

// Reads `key` into *value; on a read error writes the reply and returns false.
bool ReadOrReply(WriteJobContext* job, WriteCommand* c, std::string_view key, std::optional<std::string>* value) {
  auto current = job->Read(key);
  if (!current.ok()) {
    c->reply = StatusErrorReply(current.status());
    return false;
  }
  *value = std::move(*current);
  return true;
}

void IncrBy(WriteJobContext* job, WriteCommand* c, int64_t increment) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  int64_t value = 0;
  if (current && !ParseRedisInt64(*current, &value)) {
    c->reply = EncodeError(kNotInteger);
    return;
  }
  int64_t result = 0;
  if (__builtin_add_overflow(value, increment, &result)) {
    c->reply = EncodeError("ERR increment or decrement would overflow");
    return;
  }
  job->Put(c->args[1], job->Keep(std::to_string(result)));
  RespWriter(&c->reply).Integer(result);
}

void IncrByFloat(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  long double value = 0;
  if (current && !ParseLongDouble(*current, &value)) {
    c->reply = EncodeError(kNotFloat);
    return;
  }
  value += c->real;
  if (std::isnan(value) || std::isinf(value)) {
    c->reply = EncodeError("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string text = FormatLongDouble(value);
  if (text.empty()) {
    c->reply = EncodeError(kNotFloat);
    return;
  }
  std::string_view kept = job->Keep(std::move(text));
  job->Put(c->args[1], kept);
  RespWriter(&c->reply).Bulk(kept);
}

void Append(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  std::string value = current ? std::move(*current) : std::string();
  const uint64_t size = value.size() + c->args[2].size();
  if (size > static_cast<uint64_t>(job->core()->settings().max_value_bytes)) {
    c->reply = EncodeError(TooLargeError(*job->core(), size));
    return;
  }
  value.append(c->args[2]);
  job->Put(c->args[1], job->Keep(std::move(value)));
  RespWriter(&c->reply).Integer(static_cast<int64_t>(size));
}

void SetRange(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  std::string_view patch = c->args[3];
  const uint64_t offset = static_cast<uint64_t>(c->integer);
  std::string value = current ? std::move(*current) : std::string();
  // Nothing to write: the length, and no key created.
  if (patch.empty()) {
    RespWriter(&c->reply).Integer(static_cast<int64_t>(value.size()));
    return;
  }
  const uint64_t size = std::max<uint64_t>(value.size(), offset + patch.size());
  if (size > static_cast<uint64_t>(job->core()->settings().max_value_bytes)) {
    c->reply = EncodeError(TooLargeError(*job->core(), size));
    return;
  }
  if (value.size() < size) value.resize(size, '\0');
  value.replace(offset, patch.size(), patch);
  job->Put(c->args[1], job->Keep(std::move(value)));
  RespWriter(&c->reply).Integer(static_cast<int64_t>(size));
}

void GetDel(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  RespWriter w(&c->reply);
  if (!current) {
    w.NullBulk();
    return;
  }
  job->Delete(c->args[1]);
  w.Bulk(*current);
}

void GetSet(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  job->Put(c->args[1], c->args[2]);
  RespWriter w(&c->reply);
  if (current) {
    w.Bulk(*current);
  } else {
    w.NullBulk();
  }
}

void SetNx(WriteJobContext* job, WriteCommand* c) {
  std::optional<std::string> current;
  if (!ReadOrReply(job, c, c->args[1], &current)) return;
  if (!current) job->Put(c->args[1], c->args[2]);
  RespWriter(&c->reply).Integer(current ? 0 : 1);
}

void MSetNx(WriteJobContext* job, WriteCommand* c) {
  for (size_t i = 1; i + 1 < c->args.size(); i += 2) {
    std::optional<std::string> current;
    if (!ReadOrReply(job, c, c->args[i], &current)) return;
    if (current) {  // one exists: none is set
      RespWriter(&c->reply).Integer(0);
      return;
    }
  }
  for (size_t i = 1; i + 1 < c->args.size(); i += 2) job->Put(c->args[i], c->args[i + 1]);
  RespWriter(&c->reply).Integer(1);
}

void Rename(WriteJobContext* job, WriteCommand* c) {
  const bool nx = c->id == CommandId::kRenameNx;
  std::string_view from = c->args[1];
  std::string_view to = c->args[2];
  std::optional<std::string> value;
  if (!ReadOrReply(job, c, from, &value)) return;
  if (!value) {
    c->reply = EncodeError("ERR no such key");
    return;
  }
  RespWriter w(&c->reply);
  if (from == to) {  // Redis: nothing to do; RENAMENX answers 0 (the target exists)
    if (nx) {
      w.Integer(0);
    } else {
      w.SimpleString("OK");
    }
    return;
  }
  if (nx) {
    std::optional<std::string> target;
    if (!ReadOrReply(job, c, to, &target)) return;
    if (target) {
      w.Integer(0);
      return;
    }
  }
  job->Put(to, job->Keep(std::move(*value)));
  job->Delete(from);
  if (nx) {
    w.Integer(1);
  } else {
    w.SimpleString("OK");
  }
}

// COPY source destination [DB db] [REPLACE]. Into another database the copy
// is a write of its own (a WriteBatch holds one database's operations),
// made before this job's batch.
void Copy(WriteJobContext* job, WriteCommand* c) {
  std::string_view from = c->args[1];
  std::string_view to = c->args[2];
  const bool other_db = !c->copy_db.empty() && c->copy_db != job->db()->name();
  if (!other_db && from == to) {
    c->reply = EncodeError("ERR source and destination objects are the same");
    return;
  }
  std::optional<std::string> value;
  if (!ReadOrReply(job, c, from, &value)) return;
  RespWriter w(&c->reply);
  if (!value) {
    w.Integer(0);
    return;
  }
  if (!other_db) {
    std::optional<std::string> target;
    if (!c->replace) {
      if (!ReadOrReply(job, c, to, &target)) return;
      if (target) {
        w.Integer(0);
        return;
      }
    }
    job->Put(to, job->Keep(std::move(*value)));
    w.Integer(1);
    return;
  }
  auto target_db = job->core()->registry().GetOrCreate(c->copy_db);
  if (!target_db.ok()) {
    c->reply = StatusErrorReply(target_db.status());
    return;
  }
  if (!c->replace) {
    std::string existing;
    Status s = (*target_db)->Get(ReadOptions(), to, &existing);
    if (s.ok()) {
      w.Integer(0);
      return;
    }
    if (!s.IsNotFound()) {
      c->reply = StatusErrorReply(s);
      return;
    }
  }
  Status s = (*target_db)->Put(WriteOptions(), to, *value);
  // The job holds `to`'s stripe (by name, whatever the database) until it ends.
  if (!s.IsNotFound()) job->core()->watches().Touch(c->copy_db, {to});
  if (!s.ok()) {
    c->reply = StatusErrorReply(s);
    return;
  }
  w.Integer(1);
}

}  // namespace

void RunStringCommand(WriteJobContext* job, WriteCommand* c) {
  switch (c->id) {
    case CommandId::kIncr:
      return IncrBy(job, c, 1);
    case CommandId::kDecr:
      return IncrBy(job, c, -1);
    case CommandId::kIncrBy:
      return IncrBy(job, c, c->integer);
    case CommandId::kDecrBy:
      return IncrBy(job, c, -c->integer);  // validation refused INT64_MIN
    case CommandId::kIncrByFloat:
      return IncrByFloat(job, c);
    case CommandId::kAppend:
      return Append(job, c);
    case CommandId::kSetRange:
      return SetRange(job, c);
    case CommandId::kGetDel:
      return GetDel(job, c);
    case CommandId::kGetSet:
      return GetSet(job, c);
    case CommandId::kSetNx:
      return SetNx(job, c);
    case CommandId::kMSetNx:
      return MSetNx(job, c);
    case CommandId::kRename:
    case CommandId::kRenameNx:
      return Rename(job, c);
    case CommandId::kCopy:
      return Copy(job, c);
    default:
      c->reply = EncodeError("ERR internal: not a write command");
      return;
  }
}

std::string ValidateWriteCommand(const ServerCore& core, WriteCommand* c) {
  const ServerSettings& s = core.settings();
  const auto& args = c->args;
  c->nx = c->xx = c->get = c->replace = false;
  c->integer = 0;
  c->real = 0;
  c->copy_db = {};
  // Options first (syntax), then sizes: as Redis reports a syntax error
  // before anything else.
  switch (c->id) {
    case CommandId::kSet:
      for (size_t i = 3; i < args.size(); i++) {
        if (EqualsIgnoreCase(args[i], "nx")) {
          c->nx = true;
        } else if (EqualsIgnoreCase(args[i], "xx")) {
          c->xx = true;
        } else if (EqualsIgnoreCase(args[i], "get")) {
          c->get = true;
        } else if (EqualsIgnoreCase(args[i], "keepttl")) {
          // No key expires in Ebb: keeping "the TTL" is what always happens.
        } else if (EqualsIgnoreCase(args[i], "ex") || EqualsIgnoreCase(args[i], "px") ||
                   EqualsIgnoreCase(args[i], "exat") || EqualsIgnoreCase(args[i], "pxat")) {
          return fmt::format("ERR SET {}: Ebb keys do not expire; set without a time to live",
                             Lower(Quote(args[i])));
        } else {
          return "ERR syntax error";
        }
      }
      if (c->nx && c->xx) return "ERR syntax error";
      break;
    case CommandId::kMSet:
    case CommandId::kMSetNx:
      if (args.size() % 2 != 1) return ArityError(args[0]);
      break;
    case CommandId::kIncrBy:
    case CommandId::kDecrBy:
      if (!ParseRedisInt64(args[2], &c->integer)) return std::string(kNotInteger);
      if (c->id == CommandId::kDecrBy && c->integer == std::numeric_limits<int64_t>::min()) {
        return "ERR decrement would overflow";
      }
      break;
    case CommandId::kIncrByFloat:
      if (!ParseLongDouble(args[2], &c->real)) return std::string(kNotFloat);
      break;
    case CommandId::kSetRange:
      if (!ParseRedisInt64(args[2], &c->integer)) return std::string(kNotInteger);
      if (c->integer < 0) return "ERR offset is out of range";
      if (!args[3].empty() && static_cast<uint64_t>(c->integer) + args[3].size() >
                                  static_cast<uint64_t>(s.max_value_bytes)) {
        return TooLargeError(core, static_cast<uint64_t>(c->integer) + args[3].size());
      }
      break;
    case CommandId::kCopy:
      for (size_t i = 3; i < args.size(); i++) {
        if (EqualsIgnoreCase(args[i], "replace")) {
          c->replace = true;
        } else if (EqualsIgnoreCase(args[i], "db") && i + 1 < args.size()) {
          c->copy_db = args[++i];
          if (!IsValidDatabaseName(c->copy_db)) {
            return fmt::format("ERR invalid database name '{}': use 1 to 128 letters, digits, '_', '-' or '.', "
                               "not starting with '.'",
                               Quote(c->copy_db));
          }
        } else {
          return "ERR syntax error";
        }
      }
      break;
    default:
      break;
  }
  for (size_t i : KeyPositions(GetCommandSpec(c->id), args.size())) {
    if (static_cast<int64_t>(args[i].size()) > s.max_key_bytes) {
      return fmt::format("ERR key of {} bytes exceeds store.max_key_bytes ({})", args[i].size(), s.max_key_bytes);
    }
  }
  // The values a command stores as given.
  size_t first_value = 0, value_step = 0;
  switch (c->id) {
    case CommandId::kSet:
    case CommandId::kSetNx:
    case CommandId::kGetSet:
      first_value = 2;
      value_step = args.size();
      break;
    case CommandId::kMSet:
    case CommandId::kMSetNx:
      first_value = 2;
      value_step = 2;
      break;
    default:
      break;
  }
  for (size_t i = first_value; value_step != 0 && i < args.size(); i += value_step) {
    if (static_cast<int64_t>(args[i].size()) > s.max_value_bytes) {
      return fmt::format("ERR value of {} bytes exceeds store.max_value_bytes ({})", args[i].size(),
                         s.max_value_bytes);
    }
  }
  return "";
}

}  // namespace ebb
