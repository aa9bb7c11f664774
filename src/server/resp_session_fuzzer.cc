// libFuzzer target for a whole RESP session (docs/server.md, "Fuzzing"):
// arbitrary bytes go through the RESP parser and the CommandProcessor of a
// server over an in-memory store (MemFileSystem), as a connection's do —
// with the limits before and after AUTH, one command at a time before it —
// and every AsyncStep is awaited. Checks, besides the sanitizers:
//   - the server's output is a sequence of complete, well-formed RESP
//     values, exactly one per command, plus one for a protocol error;
//   - nothing the session did outlives it: databases are dropped and every
//     setting changed is put back (through CONFIG SET's all-or-none path,
//     which must accept the original values).
//
// The first input byte chooses the session: bit 0 set, a password is
// required (the session starts unauthenticated; "fuzz" is the password).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "base/config.h"
#include "engine/admin.h"
#include "engine/engine.h"
#include "env/mem_file_system.h"
#include "server/admin_ops.h"
#include "server/command_processor.h"
#include "server/command_round.h"
#include "server/resp_parser.h"
#include "server/server_core.h"
#include "server/server_settings.h"

namespace ebb {
namespace {

constexpr char kPassword[] = "fuzz";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "resp_session_fuzzer: %s\n", what.c_str());
  std::abort();
}

struct World {
  MemFileSystem fs;
  std::unique_ptr<Store> store;
  std::unique_ptr<ServerCore> core;
  std::vector<ConfigValue> initial_config;

  World() {
    Options o;
    o.data_dir = "/fuzz";
    // Few threads: each input is small, and threads cost start-up time.
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"readpool.threads_high", "1"},
             {"readpool.threads_normal", "1"},
             {"readpool.threads_low", "1"},
             {"work.threads", "1"},
             {"server.write_threads", "1"},
             {"smoosh.persist", "false"},
             {"journal.sync", "none"},
             {"store.memtable_bytes", "65536"},
             {"store.max_databases", "64"}}) {
      o.Set(key, value);
    }
    auto opened = OpenStore(o, EngineEnv{&fs, nullptr});
    if (!opened.ok()) Fail("cannot open the store: " + opened.status().ToString());
    store = std::move(*opened);
    auto settings = ServerSettings::FromStore(store.get());
    if (!settings.ok()) Fail(settings.status().ToString());
    auto created = ServerCore::Create(store.get(), *settings, NewEngineAdminOps(store.get()), SystemClock());
    if (!created.ok()) Fail(created.status().ToString());
    core = std::move(*created);
    initial_config = store->ListConfig();
  }

  // Puts back everything a session may have changed.
  void Reset() {
    std::vector<Store::ConfigChange> restore;
    std::vector<ConfigValue> now = store->ListConfig();
    for (const ConfigValue& before : initial_config) {
      for (const ConfigValue& after : now) {
        if (after.section != before.section || after.key != before.key || after.value == before.value) continue;
        // Secrets read "(set)"; every one starts unset.
        restore.push_back({before.section, before.key, before.value});
      }
    }
    if (!restore.empty()) {
      Status s = store->SetConfig(restore);
      if (!s.ok()) Fail("restoring the configuration failed: " + s.ToString());
      s = core->RefreshSettings();
      if (!s.ok()) Fail("refreshing the server settings failed: " + s.ToString());
    }
    (void)core->admin_ops()->ResumeChannel("all");
    for (const std::string& name : store->ListDatabases()) {
      Status s = store->DropDatabase(name);
      if (!s.ok() && !s.IsNotFound()) Fail("dropping " + name + ": " + s.ToString());
    }
  }
};

World& TheWorld() {
  static World* world = new World();  // lives until exit: the store's threads run meanwhile
  return *world;
}

// Runs one step and waits for it, as a connection's coroutine does.
void Await(AsyncStep* step, std::string* out) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  step->start([&] {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  lock.unlock();
  step->finish(out);
}

// How many complete RESP values `out` holds; aborts if it holds anything else.
size_t CountReplies(const std::string& out) {
  RespLimits limits;
  limits.max_bulk_bytes = int64_t{1} << 40;
  limits.max_array_elements = int64_t{1} << 40;
  limits.max_nesting = 64;
  RespValueParser parser(limits);
  size_t at = 0;
  size_t count = 0;
  while (at < out.size()) {
    RespValue value;
    size_t consumed = 0;
    RespParseResult r = parser.Parse(std::string_view(out).substr(at), &value, &consumed);
    if (r != RespParseResult::kDone || consumed == 0) {
      Fail("the server wrote an incomplete or malformed reply at byte " + std::to_string(at) + ": " +
           parser.error());
    }
    at += consumed;
    count++;
  }
  return count;
}

void RunSession(World& world, bool password, std::string_view input) {
  if (password) {
    if (!world.store->SetConfig("server", "requirepass", kPassword).ok()) Fail("cannot set a password");
    if (!world.core->RefreshSettings().ok()) Fail("cannot refresh the settings");
  }
  ServerCore* core = world.core.get();
  CommandProcessor processor(core);
  SessionState state;
  state.id = core->NextClientId();
  state.authenticated = !core->live().password_required();
  RespCommandParser parser;
  std::vector<CommandArgs> commands;
  std::deque<std::string> inline_args;
  std::string out;
  size_t expected_replies = 0;
  size_t begin = 0;
  while (true) {
    CommandRound round = ParseCommandRound(core, state, &parser, input.substr(begin), &commands, &inline_args);
    if (round.consumed > input.size() - begin) Fail("the parser consumed more than it was given");
    size_t next = 0;
    while (next < round.count && !state.close_after_reply) {
      const size_t before = next;
      AsyncStep step;
      if (processor.Process(&state, commands, round.count, &next, &out, &step)) Await(&step, &out);
      expected_replies += next - before;
    }
    begin += round.consumed;
    inline_args.clear();
    if (state.journal_sync_owed) {  // as the connection does once its replies are out
      state.journal_sync_owed = false;
      if (Status s = core->store()->SyncOwedJournal(); !s.ok()) Fail("the journal sync a write left failed");
    }
    if (state.close_after_reply) break;
    if (round.protocol_error) {
      out += "-ERR " + *round.protocol_error + "\r\n";
      expected_replies++;
      break;
    }
    if (round.exhausted()) break;
  }
  const size_t replies = CountReplies(out);
  if (replies != expected_replies) {
    Fail("the server wrote " + std::to_string(replies) + " replies for " + std::to_string(expected_replies) +
         " commands");
  }
}

}  // namespace
}  // namespace ebb

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ebb::World& world = ebb::TheWorld();
  const bool password = (data[0] & 1) != 0;
  ebb::RunSession(world, password, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  world.Reset();
  return 0;
}
