#include "server/command_table.h"

#include <algorithm>

namespace ebb {
namespace {

std::vector<CommandSpec> BuildTable() {
  using K = CommandKind;
  // clang-format off
  return {
      {CommandId::kPing, "ping", -1, {"fast", "stale"}, 0, 0, 0, K::kInline, false},
      {CommandId::kEcho, "echo", 2, {"fast"}, 0, 0, 0, K::kInline, false},
      {CommandId::kQuit, "quit", -1, {"fast", "noauth"}, 0, 0, 0, K::kInline, true},
      {CommandId::kHello, "hello", -1, {"fast", "noauth"}, 0, 0, 0, K::kInline, true},
      {CommandId::kAuth, "auth", -2, {"fast", "noauth"}, 0, 0, 0, K::kInline, true},
      {CommandId::kSelect, "select", 2, {"fast", "loading", "stale"}, 0, 0, 0, K::kInline, false},
      {CommandId::kGet, "get", 2, {"readonly", "fast"}, 1, 1, 1, K::kRead, false},
      {CommandId::kSet, "set", -3, {"write", "denyoom"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kDel, "del", -2, {"write"}, 1, -1, 1, K::kWrite, false},
      {CommandId::kExists, "exists", -2, {"readonly", "fast"}, 1, -1, 1, K::kRead, false},
      {CommandId::kMGet, "mget", -2, {"readonly", "fast"}, 1, -1, 1, K::kRead, false},
      {CommandId::kMSet, "mset", -3, {"write", "denyoom"}, 1, -1, 2, K::kWrite, false},
      {CommandId::kScan, "scan", -2, {"readonly"}, 0, 0, 0, K::kOther, false},
      {CommandId::kDbSize, "dbsize", 1, {"readonly"}, 0, 0, 0, K::kOther, false},
      {CommandId::kFlushDb, "flushdb", -1, {"write"}, 0, 0, 0, K::kOther, false},
      {CommandId::kInfo, "info", -1, {"loading", "stale"}, 0, 0, 0, K::kOther, false},
      {CommandId::kConfig, "config", -2, {"admin", "loading", "stale"}, 0, 0, 0, K::kOther, false},
      {CommandId::kCommand, "command", -1, {"loading", "stale"}, 0, 0, 0, K::kInline, false},
      {CommandId::kClient, "client", -2, {"admin", "loading", "stale"}, 0, 0, 0, K::kInline, false},
      {CommandId::kEbbStatus, "ebb.status", 1, {"admin", "loading", "stale"}, 0, 0, 0, K::kOther, false},
      {CommandId::kEbbCompact, "ebb.compact", 2, {"admin"}, 0, 0, 0, K::kOther, false},
      {CommandId::kEbbEnqueueAll, "ebb.enqueueall", 1, {"admin"}, 0, 0, 0, K::kOther, false},
      {CommandId::kEbbSuspend, "ebb.suspend", 2, {"admin"}, 0, 0, 0, K::kOther, false},
      {CommandId::kEbbResume, "ebb.resume", 2, {"admin"}, 0, 0, 0, K::kOther, false},
      {CommandId::kIncr, "incr", 2, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kDecr, "decr", 2, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kIncrBy, "incrby", 3, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kDecrBy, "decrby", 3, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kIncrByFloat, "incrbyfloat", 3, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kAppend, "append", 3, {"write", "denyoom"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kStrLen, "strlen", 2, {"readonly", "fast"}, 1, 1, 1, K::kRead, false},
      {CommandId::kGetRange, "getrange", 4, {"readonly"}, 1, 1, 1, K::kRead, false},
      {CommandId::kSetRange, "setrange", 4, {"write", "denyoom"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kGetDel, "getdel", 2, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kSetNx, "setnx", 3, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kMSetNx, "msetnx", -3, {"write", "denyoom"}, 1, -1, 2, K::kWrite, false},
      {CommandId::kGetSet, "getset", 3, {"write", "denyoom", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kType, "type", 2, {"readonly", "fast"}, 1, 1, 1, K::kRead, false},
      {CommandId::kRename, "rename", 3, {"write"}, 1, 2, 1, K::kWrite, false},
      {CommandId::kRenameNx, "renamenx", 3, {"write", "fast"}, 1, 2, 1, K::kWrite, false},
      {CommandId::kCopy, "copy", -3, {"write", "denyoom"}, 1, 2, 1, K::kWrite, false},
      {CommandId::kUnlink, "unlink", -2, {"write", "fast"}, 1, -1, 1, K::kWrite, false},
      {CommandId::kTouch, "touch", -2, {"readonly", "fast"}, 1, -1, 1, K::kRead, false},
      {CommandId::kRandomKey, "randomkey", 1, {"readonly"}, 0, 0, 0, K::kOther, false},
      {CommandId::kKeys, "keys", 2, {"readonly"}, 0, 0, 0, K::kOther, false},
      // The expiry commands run on the write executor, the TTL family too:
      // they need a key's expiry, which the ReadPool's point reads do not
      // return.
      {CommandId::kSetEx, "setex", 4, {"write", "denyoom"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPSetEx, "psetex", 4, {"write", "denyoom"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kExpire, "expire", -3, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPExpire, "pexpire", -3, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kExpireAt, "expireat", -3, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPExpireAt, "pexpireat", -3, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kTtl, "ttl", 2, {"readonly", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPTtl, "pttl", 2, {"readonly", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kExpireTime, "expiretime", 2, {"readonly", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPExpireTime, "pexpiretime", 2, {"readonly", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kPersist, "persist", 2, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kGetEx, "getex", -2, {"write", "fast"}, 1, 1, 1, K::kWrite, false},
      {CommandId::kMulti, "multi", 1, {"noscript", "loading", "stale", "fast"}, 0, 0, 0, K::kInline, false},
      {CommandId::kExec, "exec", 1, {"noscript", "loading", "stale", "skip_slowlog"}, 0, 0, 0, K::kOther, false},
      {CommandId::kDiscard, "discard", 1, {"noscript", "loading", "stale", "fast"}, 0, 0, 0, K::kInline, false},
      {CommandId::kWatch, "watch", -2, {"noscript", "loading", "stale", "fast"}, 1, -1, 1, K::kOther, false},
      {CommandId::kUnwatch, "unwatch", 1, {"noscript", "loading", "stale", "fast"}, 0, 0, 0, K::kInline, false},
  };
  // clang-format on
}

struct Index {
  std::vector<CommandSpec> table = BuildTable();
};

const Index& GetIndex() {
  static const Index index;
  return index;
}

}  // namespace

const CommandSpec* FindCommand(std::string_view name) {
  // A linear scan of four dozen names, comparing lengths first, is cheaper
  // than hashing a lower-cased copy on every command.
  // Command names are ASCII: lower-case without std::tolower's locale call
  // (it ran for every byte of every candidate, three times per command).
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
  for (const auto& spec : GetIndex().table) {
    if (spec.name.size() != name.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < name.size() && equal; i++) equal = lower(name[i]) == spec.name[i];
    if (equal) return &spec;
  }
  return nullptr;
}

const CommandSpec& GetCommandSpec(CommandId id) { return GetIndex().table[static_cast<size_t>(id)]; }

const std::vector<CommandSpec>& AllCommands() { return GetIndex().table; }

bool ArityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity > 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

std::vector<size_t> KeyPositions(const CommandSpec& spec, size_t argc) {
  std::vector<size_t> positions;
  if (spec.first_key <= 0 || argc < 2) return positions;
  const size_t last = spec.last_key < 0 ? argc + spec.last_key : static_cast<size_t>(spec.last_key);
  const size_t step = static_cast<size_t>(std::max(1, spec.key_step));
  for (size_t i = static_cast<size_t>(spec.first_key); i <= last && i < argc; i += step) positions.push_back(i);
  return positions;
}

}  // namespace ebb
