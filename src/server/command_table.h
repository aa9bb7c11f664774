// The commands `ebb serve` understands: name, arity and flags as Redis's
// COMMAND reports them, plus how the server runs each one. docs/server.md
// describes every command and where it differs from Redis.

#ifndef EBB_SERVER_COMMAND_TABLE_H_
#define EBB_SERVER_COMMAND_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

enum class CommandId : uint8_t {
  kPing, kEcho, kQuit, kHello, kAuth, kSelect,
  kGet, kSet, kDel, kExists, kMGet, kMSet,
  kScan, kDbSize, kFlushDb, kInfo, kConfig, kCommand, kClient,
  kEbbStatus, kEbbCompact, kEbbEnqueueAll, kEbbSuspend, kEbbResume,
  // Strings and keys (string_commands.cc, keyspace_commands.cc).
  kIncr, kDecr, kIncrBy, kDecrBy, kIncrByFloat, kAppend, kStrLen, kGetRange, kSetRange,
  kGetDel, kSetNx, kMSetNx, kGetSet, kType, kRename, kRenameNx, kCopy, kUnlink, kTouch,
  kRandomKey, kKeys,
  kSetEx, kPSetEx, kExpire, kPExpire, kExpireAt, kPExpireAt, kTtl, kPTtl, kExpireTime, kPExpireTime, kPersist,
  kGetEx,
  // Transactions (transaction_commands.cc).
  kMulti, kExec, kDiscard, kWatch, kUnwatch,
  kCount  // number of commands; also "unknown"
};
constexpr size_t kNumCommands = static_cast<size_t>(CommandId::kCount);

// How a command runs (command_processor.cc).
enum class CommandKind : uint8_t {
  kInline,  // answered on the I/O thread from connection or server state
  kRead,    // a point read on the ReadPool (normal priority), batched with neighbours
  kWrite,   // on the write executor, batched with neighbours into one WriteBatch
  kOther,   // its own asynchronous step (scan, admin work)
};

struct CommandSpec {
  CommandId id;
  std::string_view name;  // lower case, as COMMAND reports it
  // Redis arity: n > 0 exactly n arguments including the name; n < 0 at
  // least -n.
  int arity;
  std::vector<std::string_view> flags;  // COMMAND flags
  int first_key, last_key, key_step;
  CommandKind kind;
  bool allowed_before_auth;  // usable before AUTH when requirepass is set
};

// The spec of a command name (any case), or nullptr if unknown.
const CommandSpec* FindCommand(std::string_view name);
const CommandSpec& GetCommandSpec(CommandId id);
// Every command, in table order.
const std::vector<CommandSpec>& AllCommands();

// Whether `argc` arguments (name included) satisfy the spec's arity.
bool ArityOk(const CommandSpec& spec, size_t argc);

// The positions of the keys among `argc` arguments (name included), from
// the spec's first_key, last_key and key_step; empty for commands without
// keys. Call after ArityOk.
std::vector<size_t> KeyPositions(const CommandSpec& spec, size_t argc);

}  // namespace ebb

#endif  // EBB_SERVER_COMMAND_TABLE_H_
