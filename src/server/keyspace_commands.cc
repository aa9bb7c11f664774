// SCAN, DBSIZE, KEYS and RANDOMKEY: the commands that walk a database's keys.

#include <algorithm>
#include <memory>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "ebb/store.h"
#include "server/command_processor.h"
#include "server/command_util.h"
#include "server/glob_match.h"
#include "server/resp_writer.h"
#include "server/server_core.h"

namespace ebb {
namespace {

// Entries one SCAN step may examine (its COUNT is clamped to this).
constexpr size_t kMaxScanCount = 100000;
// Key bytes one SCAN step may return (keys are at most store.max_key_bytes
// each, so COUNT alone would allow 100000 x 64 KiB).
constexpr size_t kMaxScanReplyBytes = 16 << 20;
// Entries one DBSIZE or KEYS ReadPool task reads before handing over to the next.
constexpr size_t kDbSizeChunk = 4096;
// Key bytes one KEYS reply may hold (besides server.keys_max keys).
constexpr size_t kMaxKeysReplyBytes = 64 << 20;
// Keys RANDOMKEY reads after its random starting point, to pick one of.
constexpr size_t kRandomKeyWindow = 64;

// The smallest string greater than every string starting with `prefix`;
// empty when there is none (no bound).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace

bool CommandProcessor::Scan(SessionState* session, const CommandArgs& args, std::string* out, AsyncStep* step) {
  uint64_t cursor = 0;
  if (!ParseUint64(args[1], &cursor)) {
    AppendError(core_, out, "ERR invalid cursor");
    return false;
  }
  std::optional<std::string> pattern;
  std::optional<std::string> type;
  size_t limit = 10;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      AppendError(core_, out, "ERR syntax error");
      return false;
    }
    if (EqualsIgnoreCase(args[i], "match")) {
      pattern.emplace(args[i + 1]);
    } else if (EqualsIgnoreCase(args[i], "count")) {
      int64_t n = 0;
      if (!ParseInt64(args[i + 1], &n)) {
        AppendError(core_, out, "ERR value is not an integer or out of range");
        return false;
      }
      if (n < 1) {
        AppendError(core_, out, "ERR syntax error");
        return false;
      }
      limit = static_cast<size_t>(std::min<int64_t>(n, kMaxScanCount));
    } else if (EqualsIgnoreCase(args[i], "type")) {
      type = Lower(args[i + 1]);
    } else {
      AppendError(core_, out, "ERR syntax error");
      return false;
    }
  }
  std::string start;
  if (cursor != 0) {
    // Looked up, not used up: the cursor is consumed only when this SCAN's
    // reply is produced, so a -BUSY (or any error) can be retried with it.
    auto resume = core_->cursors().Find(cursor, session->db);
    if (!resume) {
      AppendError(core_, out,
                  fmt::format("ERR invalid cursor {}: unknown, already used, or expired (Ebb keeps the {} most "
                              "recent SCAN cursors); start again from 0",
                              cursor, ScanCursors::kMaxCursors));
      return false;
    }
    start = std::move(*resume);
  }
  ScanRequest request;
  request.limit = limit;
  request.max_bytes = kMaxScanReplyBytes;
  request.keys_only = true;  // SCAN returns keys: never copy a value
  if (pattern) {
    // Every match starts with the pattern's literal prefix: scan only there.
    std::string prefix = GlobLiteralPrefix(*pattern);
    request.start = std::max(start, prefix);
    request.end = PrefixSuccessor(prefix);
  } else {
    request.start = std::move(start);
  }
  struct ScanState {
    std::string db;
    uint64_t cursor = 0;  // the one presented (0: a new scan)
    ScanRequest request;
    std::optional<std::string> pattern;
    bool type_matches = true;
    Result<ScanBatch> batch = ScanBatch();
  };
  auto st = std::make_shared<ScanState>();
  st->db = session->db;
  st->cursor = cursor;
  st->request = std::move(request);
  st->pattern = std::move(pattern);
  st->type_matches = !type || *type == "string";  // every Ebb value is a string
  step->start = [core = core_, st](std::function<void()> done) {
    auto db = core->registry().Find(st->db);
    if (!db.ok()) {
      st->batch = db.status();
      done();
      return;
    }
    if (!*db) {  // an empty database
      done();
      return;
    }
    Status s = (*db)->ScanAsync(st->request, Priority::kLow, [st, done](Result<ScanBatch> batch) {
      st->batch = std::move(batch);
      done();
    });
    if (!s.ok()) {
      st->batch = s;
      done();
    }
  };
  step->finish = [core = core_, st](std::string* out) {
    if (!st->batch.ok() && !st->batch.status().IsNotFound()) {
      AppendStatusError(core, out, st->batch.status());
      return;
    }
    ScanBatch empty;
    const ScanBatch& batch = st->batch.ok() ? *st->batch : empty;
    std::vector<const std::string*> keys;
    if (st->type_matches) {
      for (const auto& [key, value] : batch.entries) {
        if (!st->pattern || GlobMatch(*st->pattern, key)) keys.push_back(&key);
      }
    }
    // The reply is produced: the cursor presented is used up.
    if (st->cursor != 0) core->cursors().Consume(st->cursor);
    uint64_t next_cursor = batch.next_start.empty() ? 0 : core->cursors().Issue(st->db, batch.next_start);
    RespWriter w(out);
    w.ArrayHeader(2);
    w.Bulk(std::to_string(next_cursor));
    w.ArrayHeader(keys.size());
    for (const std::string* k : keys) w.Bulk(*k);
  };
  return true;
}

namespace {

struct CountState {
  std::shared_ptr<Database> db;
  std::shared_ptr<const Snapshot> snapshot;
  uint64_t count = 0;
  Status error;
  std::function<void()> done;
};

// Counts one chunk on the ReadPool, then queues the next from the callback,
// so a big database never holds a ReadPool thread for long.
void CountFrom(std::shared_ptr<CountState> st, std::string start) {
  ScanRequest request;
  request.start = std::move(start);
  request.limit = kDbSizeChunk;
  request.keys_only = true;  // counts keys: never copy a value
  request.snapshot = st->snapshot;
  Status s = st->db->ScanAsync(std::move(request), Priority::kHigh, [st](Result<ScanBatch> batch) {
    if (!batch.ok()) {
      st->error = batch.status();
      st->done();
      return;
    }
    st->count += batch->entries.size();
    if (batch->next_start.empty()) {
      st->done();
    } else {
      CountFrom(st, std::move(batch->next_start));
    }
  });
  if (!s.ok()) {
    st->error = s;
    st->done();
  }
}

}  // namespace

void CommandProcessor::DbSize(SessionState* session, AsyncStep* step) {
  auto st = std::make_shared<CountState>();
  step->start = [core = core_, st, name = session->db](std::function<void()> done) {
    st->done = std::move(done);
    auto db = core->registry().Find(name);
    if (!db.ok()) {
      st->error = db.status();
      st->done();
      return;
    }
    if (!*db) {
      st->done();
      return;
    }
    st->db = *db;
    st->snapshot = st->db->GetSnapshot();
    CountFrom(st, "");
  };
  step->finish = [core = core_, st](std::string* out) {
    // The chain is over: drop what it held (and the cycle through done).
    st->done = nullptr;
    st->snapshot.reset();
    if (!st->error.ok() && !st->error.IsNotFound()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    RespWriter(out).Integer(st->error.ok() ? static_cast<int64_t>(st->count) : 0);
  };
}

namespace {

struct KeysState {
  std::shared_ptr<Database> db;
  std::shared_ptr<const Snapshot> snapshot;
  std::string pattern;
  std::string end;  // the pattern's literal prefix's successor; empty: no bound
  int64_t keys_max = 0;
  std::vector<std::string> keys;
  size_t key_bytes = 0;
  bool too_many = false;
  Status error;
  std::function<void()> done;
};

// Reads one chunk of keys on the ReadPool (low priority, like SCAN), keeps
// the matches, and queues the next chunk until the range ends or the reply
// would pass server.keys_max keys or kMaxKeysReplyBytes.
void KeysFrom(std::shared_ptr<KeysState> st, std::string start) {
  ScanRequest request;
  request.start = std::move(start);
  request.end = st->end;
  request.limit = kDbSizeChunk;
  request.keys_only = true;
  request.snapshot = st->snapshot;
  Status s = st->db->ScanAsync(std::move(request), Priority::kLow, [st](Result<ScanBatch> batch) {
    if (!batch.ok()) {
      st->error = batch.status();
      st->done();
      return;
    }
    for (auto& [key, value] : batch->entries) {
      if (!GlobMatch(st->pattern, key)) continue;
      st->key_bytes += key.size();
      if (static_cast<int64_t>(st->keys.size()) >= st->keys_max || st->key_bytes > kMaxKeysReplyBytes) {
        st->too_many = true;
        st->done();
        return;
      }
      st->keys.push_back(std::move(key));
    }
    if (batch->next_start.empty()) {
      st->done();
    } else {
      KeysFrom(st, std::move(batch->next_start));
    }
  });
  if (!s.ok()) {
    st->error = s;
    st->done();
  }
}

}  // namespace

void CommandProcessor::Keys(SessionState* session, const CommandArgs& args, AsyncStep* step) {
  auto st = std::make_shared<KeysState>();
  st->pattern = std::string(args[1]);
  st->keys_max = core_->live().keys_max();
  step->start = [core = core_, st, name = session->db](std::function<void()> done) {
    st->done = std::move(done);
    auto db = core->registry().Find(name);
    if (!db.ok()) {
      st->error = db.status();
      st->done();
      return;
    }
    if (!*db) {
      st->done();
      return;
    }
    st->db = *db;
    st->snapshot = st->db->GetSnapshot();
    // Every match starts with the pattern's literal prefix: read only there.
    std::string prefix = GlobLiteralPrefix(st->pattern);
    st->end = PrefixSuccessor(prefix);
    KeysFrom(st, std::move(prefix));
  };
  step->finish = [core = core_, st](std::string* out) {
    st->done = nullptr;
    st->snapshot.reset();
    if (!st->error.ok() && !st->error.IsNotFound()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    if (st->too_many) {
      AppendError(core, out,
                  fmt::format("ERR KEYS '{}' matches more than {} keys (server.keys_max) or {} MiB of keys; use "
                              "SCAN 0 MATCH '{}' COUNT 1000 to walk them in steps",
                              Quote(st->pattern), st->keys_max, kMaxKeysReplyBytes >> 20, Quote(st->pattern)));
      return;
    }
    RespWriter w(out);
    w.ArrayHeader(st->keys.size());
    for (const std::string& k : st->keys) w.Bulk(k);
  };
}

namespace {

struct RandomKeyState {
  std::shared_ptr<Database> db;
  std::shared_ptr<const Snapshot> snapshot;
  std::string start;
  bool wrapped = false;
  std::optional<std::string> key;
  uint64_t pick = 0;
  Status error;
  std::function<void()> done;
};

// Reads up to kRandomKeyWindow keys from st->start and picks one; from the
// first key when nothing follows the starting point.
void RandomKeyFrom(std::shared_ptr<RandomKeyState> st) {
  ScanRequest request;
  request.start = st->wrapped ? std::string() : st->start;
  request.limit = kRandomKeyWindow;
  request.keys_only = true;
  request.snapshot = st->snapshot;
  Status s = st->db->ScanAsync(std::move(request), Priority::kLow, [st](Result<ScanBatch> batch) {
    if (!batch.ok()) {
      st->error = batch.status();
    } else if (!batch->entries.empty()) {
      st->key = std::move(batch->entries[st->pick % batch->entries.size()].first);
    } else if (!st->wrapped && !st->start.empty()) {
      st->wrapped = true;
      RandomKeyFrom(st);
      return;
    }
    st->done();
  });
  if (!s.ok()) {
    st->error = s;
    st->done();
  }
}

}  // namespace

void CommandProcessor::RandomKey(SessionState* session, AsyncStep* step) {
  auto st = std::make_shared<RandomKeyState>();
  // A random starting point: eight random bytes, the first a printable
  // character, where most keys start.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  st->start.push_back(static_cast<char>(0x20 + rng() % 0x5f));
  for (int i = 0; i < 7; i++) st->start.push_back(static_cast<char>(rng() & 0xff));
  st->pick = rng();
  step->start = [core = core_, st, name = session->db](std::function<void()> done) {
    st->done = std::move(done);
    auto db = core->registry().Find(name);
    if (!db.ok()) {
      st->error = db.status();
      st->done();
      return;
    }
    if (!*db) {
      st->done();
      return;
    }
    st->db = *db;
    st->snapshot = st->db->GetSnapshot();
    RandomKeyFrom(st);
  };
  step->finish = [core = core_, st](std::string* out) {
    st->done = nullptr;
    st->snapshot.reset();
    if (!st->error.ok() && !st->error.IsNotFound()) {
      AppendStatusError(core, out, st->error);
      return;
    }
    RespWriter w(out);
    if (st->key) {
      w.Bulk(*st->key);
    } else {
      w.NullBulk();
    }
  };
}

}  // namespace ebb
