// Kill -9 under load: a writer process is killed at random moments; every
// write it saw acknowledged must be there after reopen (a process crash
// loses nothing the OS was given, in every sync mode), and no batch is half
// applied.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/random.h"
#include "env/file_system.h"
#include "base/test_util.h"
#include "ebb/ebb.h"

extern char** environ;

namespace ebb {
namespace {

// Runs crash_writer until it acknowledged `acks` batches, then SIGKILLs it.
// Returns the last acknowledged batch number.
uint64_t RunAndKill(const std::string& dir, const std::string& sync, const std::string& journal_writes,
                    uint64_t acks) {
  std::string binary = std::string(EBB_TEST_BIN_DIR) + "/crash_writer";
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const char* argv[] = {binary.c_str(), dir.c_str(), sync.c_str(), journal_writes.c_str(), nullptr};
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, const_cast<char**>(argv), environ), 0) << binary;
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  FILE* in = fdopen(out[0], "r");
  uint64_t last = 0;
  char line[64];
  while (last < acks && std::fgets(line, sizeof(line), in)) {
    unsigned long long n;
    if (std::sscanf(line, "ack %llu", &n) == 1) last = n;
  }
  kill(pid, SIGKILL);
  // Acks printed before the kill landed are acknowledged too.
  while (std::fgets(line, sizeof(line), in)) {
    unsigned long long n;
    if (std::sscanf(line, "ack %llu", &n) == 1) last = n;
  }
  fclose(in);
  int status;
  waitpid(pid, &status, 0);
  return last;
}

TEST(KillTest, AcknowledgedWritesSurviveSigkillInEverySyncMode) {
  uint64_t seed = testing::TestSeed(99);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Random rnd(seed);
  // Every sync mode with the journal written through a mapping (the
  // default; a kill leaves reserved zeros at its end) and with write(2).
  for (auto [sync, journal_writes] : std::vector<std::pair<std::string, std::string>>{
           {"none", "mmap"}, {"batch", "mmap"}, {"always", "mmap"}, {"none", "write"}, {"batch", "write"}}) {
    SCOPED_TRACE(sync + " " + journal_writes);
    testing::TempDir tmp;
    std::string dir = tmp.Sub("data");
    uint64_t total = 0;
    int reservations_left = 0;
    for (int round = 0; round < 3; round++) {
      uint64_t acked = RunAndKill(dir, sync, journal_writes, 200 + rnd.Uniform(5000));
      ASSERT_GT(acked, 0u) << sync;
      // The newest journal file as the kill left it: with a mapped journal,
      // reserved up to a whole number of chunks (unless its last record
      // happened to end exactly at a chunk boundary).
      auto names = DefaultFileSystem()->GetChildren(dir + "/journal");
      ASSERT_TRUE(names.ok()) << names.status().ToString();
      uint64_t newest = 0;
      for (const auto& name : *names) newest = std::max<uint64_t>(newest, std::strtoull(name.c_str(), nullptr, 10));
      uint64_t size = *DefaultFileSystem()->GetFileSize(fmt::format("{}/journal/{:06}.log", dir, newest));
      if (size % kMappedLogChunkBytes == 0) reservations_left++;
      Options o;
      o.data_dir = dir;
      auto store = Store::Open(o);
      ASSERT_TRUE(store.ok()) << sync << ": " << store.status().ToString();
      auto db = (*store)->OpenDatabase("kill");
      ASSERT_TRUE(db.ok());
      // Each run restarts numbering at 1 and overwrites; check this run's.
      for (uint64_t n = 1; n <= acked; n++) {
        auto a = (*db)->Get(fmt::format("a{:08}", n));
        ASSERT_TRUE(a.ok()) << sync << " lost acknowledged batch " << n << " of " << acked;
        ASSERT_EQ(*a, fmt::format("v{:<300}", n));
      }
      // Atomicity: a and b agree for every batch present.
      auto it = (*db)->NewIterator(ReadOptions());
      uint64_t a_count = 0, b_count = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) (it->key()[0] == 'a' ? a_count : b_count)++;
      ASSERT_TRUE(it->status().ok());
      EXPECT_EQ(a_count, b_count) << sync << ": a batch was half applied";
      total += acked;
    }
    EXPECT_GT(total, 0u);
    if (journal_writes == "mmap") {
      EXPECT_GT(reservations_left, 0) << "a mapped journal left no reservation to recover from";
    } else {
      EXPECT_EQ(reservations_left, 0);
    }
  }
}

}  // namespace
}  // namespace ebb
