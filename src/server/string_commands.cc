// The string and key commands that read before they write (INCR family,
// APPEND, SETRANGE, GETDEL, SETNX, MSETNX, GETSET, RENAME, RENAMENX, COPY)
// and the expiry commands (EXPIRE family, TTL family, PERSIST, GETEX; SET's
// and SETEX's options are parsed here too), run inside a WriteJob
// (write_job.h), with Redis's replies and error texts. Commands that
// rewrite a value keep its expiry (INCR, APPEND, SETRANGE; RENAME and COPY
// carry it), as in Redis; SET without KEEPTTL and GETSET clear it.

#include <algorithm>
#include <cctype>
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

// How an expiry argument counts: milliseconds per unit, and whether it is a
// Unix time (EXAT, PXAT, EXPIREAT, PEXPIREAT) or a time to live.
struct ExpiryKind {
  int64_t unit_ms;
  bool absolute;
};
constexpr ExpiryKind kEx{1000, false}, kPx{1, false}, kExAt{1000, true}, kPxAt{1, true};

// SET's and GETEX's EX, PX, EXAT and PXAT; nullptr for anything else.
const ExpiryKind* ExpiryOption(std::string_view option) {
  if (EqualsIgnoreCase(option, "ex")) return &kEx;
  if (EqualsIgnoreCase(option, "px")) return &kPx;
  if (EqualsIgnoreCase(option, "exat")) return &kExAt;
  if (EqualsIgnoreCase(option, "pxat")) return &kPxAt;
  return nullptr;
}

int64_t NowUnixMs(const ServerCore& core) { return core.clock()->WallMicros() / 1000; }

// Turns *value (in the kind's unit) into a Unix time in milliseconds; false
// when that overflows.
bool ExpiryDeadline(const ServerCore& core, const ExpiryKind& kind, int64_t* value) {
  int64_t ms = 0;
  if (__builtin_mul_overflow(*value, kind.unit_ms, &ms)) return false;
  if (!kind.absolute && __builtin_add_overflow(ms, NowUnixMs(core), &ms)) return false;
  *value = ms;
  return true;
}

// The expiry of SET, SETEX, PSETEX and GETEX: a positive number of the
// kind's unit, as a Unix time in *expire_at_ms; "" or Redis's error.
std::string ParseExpiry(const ServerCore& core, const ExpiryKind& kind, std::string_view text,
                        std::string_view command, int64_t* expire_at_ms) {
  int64_t value = 0;
  if (!ParseRedisInt64(text, &value)) return std::string(kNotInteger);
  if (value <= 0 || !ExpiryDeadline(core, kind, &value)) {
    return fmt::format("ERR invalid expire time in '{}' command", command);
  }
  *expire_at_ms = value;
  return "";
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

// ReadOrReply with the key's expiry.
bool ReadEntryOrReply(WriteJobContext* job, WriteCommand* c, std::string_view key,
                      std::optional<WriteJobContext::Entry>* entry) {
  auto current = job->ReadEntry(key);
  if (!current.ok()) {
    c->reply = StatusErrorReply(current.status());
    return false;
  }
  *entry = std::move(*current);
  return true;
}

void IncrBy(WriteJobContext* job, WriteCommand* c, int64_t increment) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  int64_t value = 0;
  if (current && !ParseRedisInt64(current->value, &value)) {
    c->reply = EncodeError(kNotInteger);
    return;
  }
  int64_t result = 0;
  if (__builtin_add_overflow(value, increment, &result)) {
    c->reply = EncodeError("ERR increment or decrement would overflow");
    return;
  }
  job->Put(c->args[1], job->Keep(std::to_string(result)), current ? current->expire_at_ms : 0);
  RespWriter(&c->reply).Integer(result);
}

void IncrByFloat(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  long double value = 0;
  if (current && !ParseLongDouble(current->value, &value)) {
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
  job->Put(c->args[1], kept, current ? current->expire_at_ms : 0);
  RespWriter(&c->reply).Bulk(kept);
}

void Append(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  std::string value = current ? std::move(current->value) : std::string();
  const uint64_t size = value.size() + c->args[2].size();
  if (size > static_cast<uint64_t>(job->core()->settings().max_value_bytes)) {
    c->reply = EncodeError(TooLargeError(*job->core(), size));
    return;
  }
  value.append(c->args[2]);
  job->Put(c->args[1], job->Keep(std::move(value)), current ? current->expire_at_ms : 0);
  RespWriter(&c->reply).Integer(static_cast<int64_t>(size));
}

void SetRange(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  std::string_view patch = c->args[3];
  const uint64_t offset = static_cast<uint64_t>(c->integer);
  const int64_t expire_at_ms = current ? current->expire_at_ms : 0;
  std::string value = current ? std::move(current->value) : std::string();
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
  job->Put(c->args[1], job->Keep(std::move(value)), expire_at_ms);
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
  std::optional<WriteJobContext::Entry> value;
  if (!ReadEntryOrReply(job, c, from, &value)) return;
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
  job->Put(to, job->Keep(std::move(value->value)), value->expire_at_ms);  // the expiry moves with the value
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
  std::optional<WriteJobContext::Entry> value;
  if (!ReadEntryOrReply(job, c, from, &value)) return;
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
    job->Put(to, job->Keep(std::move(value->value)), value->expire_at_ms);  // the copy keeps the expiry
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
  WriteBatch copy;
  if (value->expire_at_ms != 0) {
    copy.PutWithExpiry(to, value->value, value->expire_at_ms);
  } else {
    copy.Put(to, value->value);
  }
  Status s = (*target_db)->Write(WriteOptions(), copy);
  // The job holds `to`'s stripe (by name, whatever the database) until it ends.
  if (!s.IsNotFound()) job->core()->watches().Touch(c->copy_db, {to});
  if (!s.ok()) {
    c->reply = StatusErrorReply(s);
    return;
  }
  w.Integer(1);
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: 1 when the expiry was set (or the
// key deleted, for a time already past), 0 when the key is absent or the
// condition (NX, XX, GT, LT; no expiry counts as forever) says no.
void Expire(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  RespWriter w(&c->reply);
  if (!current) {
    w.Integer(0);
    return;
  }
  const int64_t now = current->expire_at_ms;  // 0: none
  const int64_t wanted = c->expire_at_ms;
  bool apply = true;
  switch (c->expire_condition) {
    case 'N':
      apply = now == 0;
      break;
    case 'X':
      apply = now != 0;
      break;
    case 'G':
      apply = now != 0 && wanted > now;
      break;
    case 'L':
      apply = now == 0 || wanted < now;
      break;
    default:
      break;
  }
  if (!apply) {
    w.Integer(0);
    return;
  }
  if (wanted <= NowUnixMs(*job->core())) {
    job->Delete(c->args[1]);  // a time already past deletes the key, as in Redis
  } else {
    job->Put(c->args[1], job->Keep(std::move(current->value)), wanted);
  }
  w.Integer(1);
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for an absent key, -1 for one
// without an expiry.
void Ttl(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  RespWriter w(&c->reply);
  if (!current) {
    w.Integer(-2);
    return;
  }
  const int64_t at = current->expire_at_ms;
  if (at == 0) {
    w.Integer(-1);
    return;
  }
  const int64_t left = std::max<int64_t>(0, at - NowUnixMs(*job->core()));
  switch (c->id) {
    case CommandId::kTtl:
      w.Integer((left + 500) / 1000);
      break;
    case CommandId::kPTtl:
      w.Integer(left);
      break;
    case CommandId::kExpireTime:
      w.Integer(at / 1000);
      break;
    default:
      w.Integer(at);
      break;
  }
}

// PERSIST: 1 when an expiry was removed.
void Persist(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  if (!current || current->expire_at_ms == 0) {
    RespWriter(&c->reply).Integer(0);
    return;
  }
  job->Put(c->args[1], job->Keep(std::move(current->value)));
  RespWriter(&c->reply).Integer(1);
}

// GETEX key [EX|PX|EXAT|PXAT time | PERSIST]: the value, its expiry changed.
void GetEx(WriteJobContext* job, WriteCommand* c) {
  std::optional<WriteJobContext::Entry> current;
  if (!ReadEntryOrReply(job, c, c->args[1], &current)) return;
  RespWriter w(&c->reply);
  if (!current) {
    w.NullBulk();
    return;
  }
  w.Bulk(current->value);
  if (c->expire_at_ms != 0) {
    job->Put(c->args[1], job->Keep(std::move(current->value)), c->expire_at_ms);
  } else if (c->persist && current->expire_at_ms != 0) {
    job->Put(c->args[1], job->Keep(std::move(current->value)));
  }
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
    case CommandId::kExpire:
    case CommandId::kPExpire:
    case CommandId::kExpireAt:
    case CommandId::kPExpireAt:
      return Expire(job, c);
    case CommandId::kTtl:
    case CommandId::kPTtl:
    case CommandId::kExpireTime:
    case CommandId::kPExpireTime:
      return Ttl(job, c);
    case CommandId::kPersist:
      return Persist(job, c);
    case CommandId::kGetEx:
      return GetEx(job, c);
    default:
      c->reply = EncodeError("ERR internal: not a write command");
      return;
  }
}

std::string ValidateWriteCommand(const ServerCore& core, WriteCommand* c) {
  const ServerSettings& s = core.settings();
  const auto& args = c->args;
  c->nx = c->xx = c->get = c->replace = c->keep_ttl = c->persist = false;
  c->expire_at_ms = 0;
  c->expire_condition = 0;
  c->integer = 0;
  c->real = 0;
  c->copy_db = {};
  // Options first (syntax), then sizes: as Redis reports a syntax error
  // before anything else.
  bool expiry_given = false;
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
          if (expiry_given) return "ERR syntax error";
          c->keep_ttl = true;
        } else if (ExpiryOption(args[i]) != nullptr && i + 1 < args.size()) {
          if (expiry_given || c->keep_ttl) return "ERR syntax error";
          expiry_given = true;
          std::string error = ParseExpiry(core, *ExpiryOption(args[i]), args[i + 1], "set", &c->expire_at_ms);
          if (!error.empty()) return error;
          i++;
        } else {
          return "ERR syntax error";
        }
      }
      if (c->nx && c->xx) return "ERR syntax error";
      break;
    case CommandId::kSetEx:
    case CommandId::kPSetEx: {
      const bool seconds = c->id == CommandId::kSetEx;
      std::string error = ParseExpiry(core, seconds ? kEx : kPx, args[2], seconds ? "setex" : "psetex",
                                      &c->expire_at_ms);
      if (!error.empty()) return error;
      break;
    }
    case CommandId::kGetEx:
      for (size_t i = 2; i < args.size(); i++) {
        if (EqualsIgnoreCase(args[i], "persist") && !expiry_given) {
          expiry_given = c->persist = true;
        } else if (ExpiryOption(args[i]) != nullptr && i + 1 < args.size() && !expiry_given) {
          expiry_given = true;
          std::string error = ParseExpiry(core, *ExpiryOption(args[i]), args[i + 1], "getex", &c->expire_at_ms);
          if (!error.empty()) return error;
          i++;
        } else {
          return "ERR syntax error";
        }
      }
      break;
    case CommandId::kExpire:
    case CommandId::kPExpire:
    case CommandId::kExpireAt:
    case CommandId::kPExpireAt: {
      const ExpiryKind& kind = c->id == CommandId::kExpire    ? kEx
                               : c->id == CommandId::kPExpire  ? kPx
                               : c->id == CommandId::kExpireAt ? kExAt
                                                               : kPxAt;
      if (!ParseRedisInt64(args[2], &c->expire_at_ms)) return std::string(kNotInteger);
      if (!ExpiryDeadline(core, kind, &c->expire_at_ms)) {
        return fmt::format("ERR invalid expire time in '{}' command", Lower(args[0]));
      }
      for (size_t i = 3; i < args.size(); i++) {
        char condition = 0;
        for (const char* name : {"nx", "xx", "gt", "lt"}) {
          if (EqualsIgnoreCase(args[i], name)) condition = static_cast<char>(std::toupper(name[0]));
        }
        if (condition == 0) return fmt::format("ERR Unsupported option {}", args[i]);
        const char before = c->expire_condition;
        if (before != 0 && before != condition) {
          if ((before == 'G' && condition == 'L') || (before == 'L' && condition == 'G')) {
            return "ERR GT and LT options at the same time are not compatible";
          }
          return "ERR NX and XX, GT or LT options at the same time are not compatible";
        }
        c->expire_condition = condition;
      }
      break;
    }
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
    case CommandId::kSetEx:
    case CommandId::kPSetEx:
      first_value = 3;
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
