// ebb-stress: a randomized stress test of an Ebb store with an oracle of what
// every key may hold (docs/RELIABILITY.md, "ebb-stress").
//
// Many threads write (puts, deletes, atomic batches), read back, scan with
// iterators, check snapshots, flush, compact, and drop and recreate a
// scratch database, over many databases, while the background runtime
// flushes and compacts on its own. Every read of a key a thread owns is
// checked against the oracle (tools/ebb_stress/expected_state.h).
//
// Modes:
//   (default)          run for --duration, then close, reopen and verify;
//   --crash-loop N     N times: a child process opens the store, verifies it
//                      against the oracle (kept in a shared mapping that
//                      survives), runs the workload and is killed with
//                      SIGKILL at a random moment; then a last verification;
//   --power-loss N     in one process, over the power-loss file system: N
//                      times run, cut the power (a random set of unsynced
//                      pages survives, directories revert to their last
//                      sync), reopen and verify.
//
// What a verification accepts for a key: its last acknowledged value, or the
// value of the write in flight when the process died (its outcome was never
// reported). A batch in flight is all there or all absent. After a power
// loss in journal.sync = batch or none, a write acknowledged after the last
// sync barrier may be lost, but a key never holds a value it did not have
// since that barrier. Anything else is reported as lost or wrong, with the
// database, key and values, and the program exits 1.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "ebb/ebb.h"
#include "engine/engine.h"
#include "env/power_loss_file_system.h"
#include "tools/ebb_stress/expected_state.h"

extern char** environ;

namespace ebb::stress {
namespace {

struct Config {
  std::string data;
  std::string expected;  // default: <data>.expected
  uint32_t threads = 4;
  uint32_t dbs = 4;
  uint32_t keys = 2000;
  double duration_s = 10;
  std::string sync = "batch";
  std::string journal = "mmap";
  int crash_loop = 0;
  int power_loss = 0;
  uint64_t seed = 1;
  double kill_min_s = 0.1;
  double kill_max_s = 1.0;
  bool child = false;
  bool verify_only = false;
  bool json = false;
  std::vector<std::string> set;
};

// Databases s0 .. s<dbs-1>, and the scratch database (index dbs).
std::string DbName(const Config& cfg, uint32_t db) { return db == cfg.dbs ? "scratch" : fmt::format("s{}", db); }

// What the last verification and run did.
struct Report {
  uint64_t keys_verified = 0;
  uint64_t lost = 0;
  uint64_t wrong = 0;
  uint64_t batches_half_applied = 0;
  std::vector<std::string> failures;  // the first few, in full
  void Fail(std::string what, bool lost_write) {
    (lost_write ? lost : wrong)++;
    if (failures.size() < 10) failures.push_back(std::move(what));
  }
  bool ok() const { return lost == 0 && wrong == 0 && batches_half_applied == 0; }
};

// Values a key held since the last sync barrier (power-loss mode with
// journal.sync = batch or none), per thread (threads own disjoint keys).
using History = std::vector<std::map<size_t, std::vector<uint32_t>>>;

Options StoreOptions(const Config& cfg, const std::string& data_dir) {
  Options o;
  o.data_dir = data_dir;
  o.Set("journal.sync", cfg.sync);
  o.Set("journal.mmap_writes", cfg.journal == "mmap" ? "true" : "false");
  // Small memtables and segments: flushes, compactions and journal
  // rotations happen all the time.
  o.Set("store.memtable_bytes", "256KiB");
  o.Set("journal.segment_bytes", "1MiB");
  for (const auto& kv : cfg.set) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) o.Set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return o;
}

// Parses a value read back: the generation it was written with, if the
// bytes are exactly what that generation's are.
std::optional<uint32_t> GenerationOf(uint32_t db, uint32_t key, const std::string& value) {
  size_t a = value.find('|'), b = value.find('|', a + 1), c = value.find('|', b + 1);
  if (a == std::string::npos || b == std::string::npos || c == std::string::npos) return std::nullopt;
  uint32_t gen = static_cast<uint32_t>(std::strtoul(value.substr(b + 1, c - b - 1).c_str(), nullptr, 10));
  if (gen == 0 || ExpectedState::ValueOf(db, key, gen) != value) return std::nullopt;
  return gen;
}

std::string Describe(uint32_t gen) { return gen == 0 ? "absent" : fmt::format("generation {}", gen); }

// Checks every key against the oracle, then records what recovery decided
// (the outcome of the writes in flight) as acknowledged.
Report Verify(Store* store, ExpectedState* st, const Config& cfg, const History* history) {
  Report r;
  const uint32_t scratch = cfg.dbs;
  for (uint32_t db = 0; db <= scratch; db++) {
    auto handle = store->OpenDatabase(DbName(cfg, db), /*create_if_missing=*/false);
    const bool gone = handle.status().IsNotFound();
    if (!handle.ok() && !gone) {
      r.Fail(fmt::format("database {}: open: {}", DbName(cfg, db), handle.status().ToString()), false);
      continue;
    }
    const bool drop_in_flight = db == scratch && st->header().scratch_drop_pending.load() != 0;
    // Per in-flight batch: how many of its keys show the new value, and how many do not.
    struct BatchOutcome {
      int first = 0, second = 0;
      std::string keys;  // per key: what was acknowledged, written and read back
    };
    std::map<uint32_t, BatchOutcome> batches;
    for (uint32_t key = 0; key < st->keys(); key++) {
      Slot& s = st->slot(db, key);
      uint32_t got = 0;
      if (!gone) {
        auto v = (*handle)->Get(ExpectedState::KeyName(key));
        if (v.ok()) {
          auto gen = GenerationOf(db, key, *v);
          if (!gen) {
            r.Fail(fmt::format("{}/{}: holds bytes no write wrote ({} bytes)", DbName(cfg, db),
                               ExpectedState::KeyName(key), v->size()),
                   false);
            continue;
          }
          got = *gen;
        } else if (!v.status().IsNotFound()) {
          r.Fail(fmt::format("{}/{}: read failed: {}", DbName(cfg, db), ExpectedState::KeyName(key),
                             v.status().ToString()),
                 false);
          continue;
        }
      }
      r.keys_verified++;
      const uint32_t acked = s.value.load();
      const uint32_t pending = s.pending.load();
      const uint32_t in_flight = pending & ~kPending;
      std::set<uint32_t> allowed = {acked};
      if (pending & kPending) allowed.insert(in_flight);
      if (drop_in_flight) allowed.insert(0);
      // How often each value was written since the last barrier (the
      // in-flight write is the last of them).
      std::map<uint32_t, int> written;
      if (history != nullptr) {
        allowed.insert(s.durable.load());
        for (const auto& per_thread : *history) {
          auto it = per_thread.find(static_cast<size_t>(db) * st->keys() + key);
          if (it == per_thread.end()) continue;
          allowed.insert(it->second.begin(), it->second.end());
          for (uint32_t v : it->second) written[v]++;
        }
      }
      if (!allowed.count(got)) {
        std::string expected;
        for (uint32_t a : allowed) expected += (expected.empty() ? "" : " or ") + Describe(a);
        r.Fail(fmt::format("{}/{}: reads back {}, expected {}", DbName(cfg, db), ExpectedState::KeyName(key),
                           Describe(got), expected),
               got == 0);
      }
      // A key of an in-flight batch tells which way the batch went only if
      // what it reads is not also an older state recovery may return: a
      // delete in flight reads "absent" both when it landed and when the
      // recovered point in time is before the key was first written.
      const bool ambiguous =
          got == in_flight && history != nullptr && (got == s.durable.load() || written[got] > 1);
      if ((pending & kPending) && s.batch.load() != 0 && acked != in_flight && !ambiguous) {
        auto& b = batches[s.batch.load()];
        (got == in_flight ? b.first : b.second)++;
        b.keys += fmt::format("{}{}: acknowledged {}, in flight {}, durable {}, read {}", b.keys.empty() ? "" : "; ",
                              ExpectedState::KeyName(key), Describe(acked), Describe(in_flight),
                              Describe(s.durable.load()), Describe(got));
      }
      // Recovery decided: this is the key's state from now on.
      s.value.store(got);
      s.pending.store(0);
      s.batch.store(0);
      s.durable.store(got);
    }
    for (const auto& [batch, counts] : batches) {
      if (counts.first > 0 && counts.second > 0) {
        r.batches_half_applied++;
        if (r.failures.size() < 10) {
          r.failures.push_back(fmt::format("{}: batch {} recovered half: {} keys new, {} old ({})", DbName(cfg, db),
                                           batch, counts.first, counts.second, counts.keys));
        }
      }
    }
  }
  st->header().scratch_drop_pending.store(0);
  st->header().keys_verified.fetch_add(r.keys_verified);
  st->header().recoveries.fetch_add(1);
  return r;
}

// The workload's threads.
class Workload {
 public:
  Workload(Store* store, ExpectedState* st, const Config& cfg, History* history)
      : store_(store), st_(st), cfg_(cfg), history_(history) {}

  // Runs `cfg.threads` threads until Stop(); returns the in-run report.
  void Start(uint64_t seed) {
    for (uint32_t t = 0; t < cfg_.threads; t++) threads_.emplace_back([this, t, seed] { Run(t, seed * 1000 + t); });
  }
  void Stop() {
    stop_.store(true);
    for (auto& th : threads_) th.join();
    threads_.clear();
  }
  // Writes will fail from now on (the power is about to go): not findings.
  void ExpectErrors() { expect_errors_.store(true); }
  // Sync barrier (power-loss mode, journal.sync = batch or none): pauses the
  // writers, makes everything acknowledged durable with one synced write,
  // and forgets the history before it.
  Status Barrier() {
    paused_.store(true);
    while (parked_.load() < cfg_.threads - finished_.load()) std::this_thread::yield();
    auto db = store_->OpenDatabase("s0");
    Status s = db.ok() ? (*db)->Put(WriteOptions{true}, "barrier", "sync") : db.status();
    if (s.ok()) {
      for (uint32_t d = 0; d <= cfg_.dbs; d++) {
        for (uint32_t k = 0; k < st_->keys(); k++) st_->slot(d, k).durable.store(st_->slot(d, k).value.load());
      }
      for (auto& h : *history_) h.clear();
    }
    paused_.store(false);
    return s;
  }
  const Report& report() const { return report_; }
  uint64_t errors() const { return errors_.load(); }

 private:
  void Run(uint32_t t, uint64_t seed) {
    Random rnd(seed);
    std::vector<std::shared_ptr<Database>> dbs(cfg_.dbs + 1);
    while (!stop_.load()) {
      if (paused_.load()) {
        parked_.fetch_add(1);
        while (paused_.load() && !stop_.load()) std::this_thread::yield();
        parked_.fetch_sub(1);
        continue;
      }
      // Thread 0 alone writes the scratch database, which it drops now and then.
      const uint32_t db = t == 0 && rnd.OneIn(8) ? cfg_.dbs : static_cast<uint32_t>(rnd.Uniform(cfg_.dbs));
      if (!dbs[db]) {
        auto h = store_->OpenDatabase(DbName(cfg_, db));
        if (!h.ok()) {
          if (!Failed(fmt::format("open {}: {}", DbName(cfg_, db), h.status().ToString()))) break;
          continue;
        }
        dbs[db] = *h;
      }
      if (!Step(t, db, dbs, &rnd)) break;
    }
    finished_.fetch_add(1);
  }

  // A key this thread owns, in database `db`.
  uint32_t OwnKey(uint32_t t, Random* rnd) const {
    const uint32_t per_thread = (st_->keys() - t + cfg_.threads - 1) / cfg_.threads;
    return t + cfg_.threads * static_cast<uint32_t>(rnd->Uniform(per_thread));
  }
  uint32_t OwnerOf(uint32_t key) const { return key % cfg_.threads; }

  // One operation; false once the thread should stop.
  bool Step(uint32_t t, uint32_t db, std::vector<std::shared_ptr<Database>>& dbs, Random* rnd) {
    Database* d = dbs[db].get();
    const uint64_t dice = rnd->Uniform(100);
    if (dice < 60) {
      // A single write, or an atomic batch of two to four keys.
      std::vector<uint32_t> keys;
      const int n = dice < 45 ? 1 : 2 + static_cast<int>(rnd->Uniform(3));
      for (int i = 0; i < n; i++) keys.push_back(OwnKey(t, rnd));
      return WriteOp(t, db, d, rnd, keys);
    }
    if (dice < 80) return ReadOp(t, db, d, rnd);
    if (dice < 90) return ScanOp(t, db, d, rnd);
    if (dice < 96) return SnapshotOp(t, db, d, rnd);
    if (dice < 98) return Check(d->Flush(), "flush");
    if (db == cfg_.dbs && dice == 98) return DropOp(dbs);
    return Check(d->Compact(), "compact");
  }

  // Writes `keys` (own keys of this thread) in one batch: puts, and a
  // delete now and then.
  bool WriteOp(uint32_t t, uint32_t db, Database* d, Random* rnd, const std::vector<uint32_t>& keys) {
    WriteBatch batch;
    std::vector<std::pair<uint32_t, uint32_t>> writes;  // key, new value (0: delete)
    std::set<uint32_t> used;
    const uint32_t batch_id = keys.size() > 1 ? st_->header().next_batch.fetch_add(1) : 0;
    for (uint32_t key : keys) {
      if (!used.insert(key).second) continue;
      const bool del = rnd->OneIn(5);
      const uint32_t gen = del ? 0 : st_->header().next_generation.fetch_add(1);
      writes.push_back({key, gen});
      Slot& s = st_->slot(db, key);
      s.batch.store(batch_id);
      s.pending.store(kPending | gen);  // in flight from here on
      if (history_ != nullptr) (*history_)[t][static_cast<size_t>(db) * st_->keys() + key].push_back(gen);
      if (del) {
        batch.Delete(ExpectedState::KeyName(key));
      } else {
        batch.Put(ExpectedState::KeyName(key), ExpectedState::ValueOf(db, key, gen));
      }
    }
    Status s = d->Write(WriteOptions(), batch);
    if (!s.ok()) return Check(s, "write");  // the writes stay in flight: unknown
    for (const auto& [key, gen] : writes) {
      Slot& slot = st_->slot(db, key);
      slot.value.store(gen);
      slot.pending.store(0);
      slot.batch.store(0);
    }
    st_->header().writes_acknowledged.fetch_add(writes.size());
    return true;
  }

  // Reads an own key: nothing else writes it, so it must be exactly the
  // last acknowledged value.
  bool ReadOp(uint32_t t, uint32_t db, Database* d, Random* rnd) {
    const uint32_t key = OwnKey(t, rnd);
    auto v = d->Get(ExpectedState::KeyName(key));
    if (!v.ok() && !v.status().IsNotFound()) return Check(v.status(), "read");
    const uint32_t got = v.ok() ? GenerationOf(db, key, *v).value_or(UINT32_MAX) : 0;
    st_->header().reads_checked.fetch_add(1);
    const uint32_t expected = st_->slot(db, key).value.load();
    if (got != expected) {
      return Mismatch(fmt::format("{}/{}: read {} while running, expected {}", DbName(cfg_, db),
                                  ExpectedState::KeyName(key), Describe(got), Describe(expected)));
    }
    return true;
  }

  // Scans a range: this thread's keys in it are exactly those it wrote.
  bool ScanOp(uint32_t t, uint32_t db, Database* d, Random* rnd) {
    const uint32_t from = static_cast<uint32_t>(rnd->Uniform(st_->keys()));
    const uint32_t to = std::min(st_->keys(), from + 64);
    ReadOptions ro;
    ro.upper_bound = ExpectedState::KeyName(to);
    auto it = d->NewIterator(ro);
    std::map<uint32_t, uint32_t> seen;
    for (it->Seek(ExpectedState::KeyName(from)); it->Valid(); it->Next()) {
      uint32_t key = static_cast<uint32_t>(std::strtoul(std::string(it->key().substr(1)).c_str(), nullptr, 10));
      if (OwnerOf(key) == t) seen[key] = GenerationOf(db, key, std::string(it->value())).value_or(UINT32_MAX);
    }
    if (!it->status().ok()) return Check(it->status(), "scan");
    for (uint32_t key = from; key < to; key++) {
      if (OwnerOf(key) != t) continue;
      const uint32_t expected = st_->slot(db, key).value.load();
      const uint32_t got = seen.count(key) ? seen[key] : 0;
      st_->header().reads_checked.fetch_add(1);
      if (got != expected) {
        return Mismatch(fmt::format("{}/{}: scan found {}, expected {}", DbName(cfg_, db),
                                    ExpectedState::KeyName(key), Describe(got), Describe(expected)));
      }
    }
    return true;
  }

  // A snapshot keeps seeing a key's value after it is overwritten.
  bool SnapshotOp(uint32_t t, uint32_t db, Database* d, Random* rnd) {
    const uint32_t key = OwnKey(t, rnd);
    auto snap = d->GetSnapshot();
    const uint32_t before = st_->slot(db, key).value.load();
    if (!WriteOp(t, db, d, rnd, {key})) return false;
    ReadOptions ro;
    ro.snapshot = snap;
    std::string value;
    Status s = d->Get(ro, ExpectedState::KeyName(key), &value);
    if (!s.ok() && !s.IsNotFound()) return Check(s, "snapshot read");
    const uint32_t got = s.ok() ? GenerationOf(db, key, value).value_or(UINT32_MAX) : 0;
    if (got != before) {
      return Mismatch(fmt::format("{}/{}: a snapshot read {}, expected {} (the value when it was taken)",
                                  DbName(cfg_, db), ExpectedState::KeyName(key), Describe(got), Describe(before)));
    }
    return true;
  }

  bool DropOp(std::vector<std::shared_ptr<Database>>& dbs) {
    Header& h = st_->header();
    h.scratch_drop_pending.store(1);
    Status s = store_->DropDatabase(DbName(cfg_, cfg_.dbs));
    dbs[cfg_.dbs].reset();
    if (!s.ok()) return Check(s, "drop");
    for (uint32_t key = 0; key < st_->keys(); key++) {
      Slot& slot = st_->slot(cfg_.dbs, key);
      slot.value.store(0);
      slot.pending.store(0);
      slot.batch.store(0);
      // Absent is a value the key had since the last barrier.
      if (history_ != nullptr) (*history_)[0][static_cast<size_t>(cfg_.dbs) * st_->keys() + key].push_back(0);
    }
    h.scratch_drop_pending.store(0);
    return true;
  }

  bool Check(const Status& s, std::string_view what) {
    if (s.ok() || s.IsBusy()) return true;
    return Failed(fmt::format("{}: {}", what, s.ToString()));
  }
  bool Failed(std::string what) {
    errors_.fetch_add(1);
    if (expect_errors_.load()) return false;  // the power went: stop quietly
    std::lock_guard<std::mutex> lock(mu_);
    report_.Fail("error while running: " + what, false);
    stop_.store(true);
    return false;
  }
  bool Mismatch(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.Fail(std::move(what), false);
    stop_.store(true);
    return false;
  }

  Store* const store_;
  ExpectedState* const st_;
  const Config& cfg_;
  History* const history_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<uint32_t> parked_{0};
  std::atomic<uint32_t> finished_{0};
  std::atomic<bool> expect_errors_{false};
  std::atomic<uint64_t> errors_{0};
  std::mutex mu_;
  Report report_;
};

void PrintFailures(const Report& r) {
  for (const auto& f : r.failures) std::fprintf(stderr, "ebb-stress: FAILED: %s\n", f.c_str());
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(s * 1e6))); }

// Opens, verifies, runs until killed (or --duration). Exit codes: 0 done, 3
// verification failed, 4 the store did not open.
int Child(const Config& cfg) {
  auto st = ExpectedState::OpenFile(cfg.expected, cfg.dbs + 1, cfg.keys);
  if (!st.ok()) {
    std::fprintf(stderr, "ebb-stress: %s\n", st.status().ToString().c_str());
    return 2;
  }
  auto store = Store::Open(StoreOptions(cfg, cfg.data));
  if (!store.ok()) {
    std::fprintf(stderr, "ebb-stress: the store did not reopen: %s\n", store.status().ToString().c_str());
    return 4;
  }
  Report r = Verify(store->get(), st->get(), cfg, nullptr);
  if (!r.ok()) {
    PrintFailures(r);
    return 3;
  }
  std::printf("ready verified=%llu\n", static_cast<unsigned long long>(r.keys_verified));
  std::fflush(stdout);
  if (cfg.verify_only) return 0;
  Workload w(store->get(), st->get(), cfg, nullptr);
  w.Start(cfg.seed);
  SleepSeconds(cfg.duration_s);
  w.Stop();
  PrintFailures(w.report());
  return w.report().ok() ? 0 : 3;
}

struct LoopResult {
  int cycles = 0;
  int reopen_failures = 0;
  int verify_failures = 0;
};

// Runs this program as a child; returns its pid, with its stdout in *out.
pid_t Spawn(const Config& cfg, uint64_t seed, bool verify_only, FILE** out) {
  std::vector<std::string> args = {"/proc/self/exe", "--child", "--data", cfg.data, "--expected", cfg.expected,
                                   "--threads", std::to_string(cfg.threads), "--dbs", std::to_string(cfg.dbs),
                                   "--keys", std::to_string(cfg.keys), "--sync", cfg.sync, "--journal", cfg.journal,
                                   "--seed", std::to_string(seed), "--duration", "3600"};
  if (verify_only) args.push_back("--verify-only");
  for (const auto& s : cfg.set) {
    args.push_back("--set");
    args.push_back(s);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  pid_t pid = -1;
  if (posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  *out = fdopen(pipe_fds[0], "r");
  return pid;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

LoopResult CrashLoop(const Config& cfg) {
  LoopResult res;
  Random rnd(cfg.seed);
  for (int c = 0; c < cfg.crash_loop; c++) {
    FILE* out = nullptr;
    pid_t pid = Spawn(cfg, cfg.seed + static_cast<uint64_t>(c) + 1, false, &out);
    if (pid < 0) {
      res.reopen_failures++;
      break;
    }
    char line[256];
    const bool ready = std::fgets(line, sizeof(line), out) != nullptr && std::string(line).rfind("ready", 0) == 0;
    if (ready) {
      SleepSeconds(cfg.kill_min_s + rnd.NextDouble() * (cfg.kill_max_s - cfg.kill_min_s));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::fclose(out);
    res.cycles++;
    if (!ready) {
      (ExitCode(status) == 4 ? res.reopen_failures : res.verify_failures)++;
      std::fprintf(stderr, "ebb-stress: cycle %d: the child exited with %d before it was ready\n", c + 1,
                   ExitCode(status));
      break;
    }
  }
  if (res.reopen_failures == 0 && res.verify_failures == 0) {
    FILE* out = nullptr;
    pid_t pid = Spawn(cfg, cfg.seed, true, &out);
    int status = 0;
    char line[256];
    while (out != nullptr && std::fgets(line, sizeof(line), out) != nullptr) {
    }
    ::waitpid(pid, &status, 0);
    if (out != nullptr) std::fclose(out);
    if (ExitCode(status) == 4) res.reopen_failures++;
    if (ExitCode(status) == 3) res.verify_failures++;
  }
  return res;
}

struct PowerLossResult {
  int cycles = 0;
  uint64_t pages_lost = 0;
  uint64_t files_cut = 0;
  uint64_t entries_reverted = 0;
  Report report;
  bool reopen_failed = false;
};

PowerLossResult PowerLoss(const Config& cfg, ExpectedState* st) {
  PowerLossResult res;
  PowerLossFileSystem disk;
  Random rnd(cfg.seed);
  const bool strict = cfg.sync == "always";
  History history(cfg.threads);
  for (int c = 0; c <= cfg.power_loss; c++) {
    auto store = OpenStore(StoreOptions(cfg, "/stress"), EngineEnv{&disk, nullptr});
    if (!store.ok()) {
      std::fprintf(stderr, "ebb-stress: power loss %d: the store did not reopen: %s\n", c,
                   store.status().ToString().c_str());
      res.reopen_failed = true;
      return res;
    }
    Report r = Verify(store->get(), st, cfg, strict ? nullptr : &history);
    res.report.keys_verified += r.keys_verified;
    if (!r.ok()) {
      res.report = r;
      return res;
    }
    for (auto& h : history) h.clear();
    if (c == cfg.power_loss) break;
    Workload w(store->get(), st, cfg, strict ? nullptr : &history);
    w.Start(cfg.seed * 7919 + static_cast<uint64_t>(c));
    const double run_s = 0.05 + rnd.NextDouble() * 0.4;
    if (!strict) {
      SleepSeconds(run_s / 2);
      Status b = w.Barrier();
      if (!b.ok()) std::fprintf(stderr, "ebb-stress: barrier: %s\n", b.ToString().c_str());
      SleepSeconds(run_s / 2);
    } else {
      SleepSeconds(run_s);
    }
    w.ExpectErrors();
    disk.Freeze();  // the power goes
    w.Stop();
    if (!w.report().ok()) {
      res.report = w.report();
      return res;
    }
    store->reset();
    PowerLossFileSystem::CrashOptions crash;
    crash.seed = rnd.Next();
    crash.page_survival = rnd.NextDouble();
    auto report = disk.SimulatePowerLoss(crash);
    res.pages_lost += report.pages_lost;
    res.files_cut += report.files_cut_to_synced_size;
    res.entries_reverted += report.entries_reverted;
    res.cycles++;
  }
  return res;
}

int Main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"ebb-stress: randomized stress test of an Ebb store with an oracle of every key (docs/RELIABILITY.md)"};
  app.add_option("--data", cfg.data, "data directory (not needed with --power-loss, which runs in memory)");
  app.add_option("--expected", cfg.expected, "the oracle's file (default: DATA.expected)");
  app.add_option("--threads", cfg.threads, "writer threads (default 4)")->check(CLI::Range(1, 64));
  app.add_option("--dbs", cfg.dbs, "databases, plus one scratch database that is dropped now and then (default 4)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--keys", cfg.keys, "keys per database (default 2000)")->check(CLI::Range(1, 10000000));
  app.add_option("--duration", cfg.duration_s, "seconds to run (default mode; default 10)");
  app.add_option("--sync", cfg.sync, "journal.sync: always, batch or none (default batch)")
      ->check(CLI::IsMember({"always", "batch", "none"}));
  app.add_option("--journal", cfg.journal, "journal writes: mmap or write (default mmap)")
      ->check(CLI::IsMember({"mmap", "write"}));
  app.add_option("--crash-loop", cfg.crash_loop, "kill a child process with SIGKILL N times, verifying each reopen");
  app.add_option("--power-loss", cfg.power_loss, "cut the power N times over the in-memory power-loss file system");
  app.add_option("--kill-after-min", cfg.kill_min_s, "crash loop: shortest run before the kill, s (default 0.1)");
  app.add_option("--kill-after-max", cfg.kill_max_s, "crash loop: longest run before the kill, s (default 1.0)");
  app.add_option("--seed", cfg.seed, "random seed (default 1; printed in the report)");
  app.add_option("--set", cfg.set, "a store setting, section.key=value (repeatable)");
  app.add_flag("--json", cfg.json, "print only a JSON report");
  app.add_flag("--child", cfg.child, "(internal) a crash-loop child");
  app.add_flag("--verify-only", cfg.verify_only, "(internal) verify and exit");
  CLI11_PARSE(app, argc, argv);
  if (cfg.power_loss == 0 && cfg.data.empty()) {
    std::fprintf(stderr, "ebb-stress: --data DIR is required (except with --power-loss)\n");
    return 2;
  }
  if (cfg.expected.empty()) cfg.expected = cfg.data + ".expected";
  if (cfg.child) return Child(cfg);

  nlohmann::json report = {{"seed", cfg.seed}, {"threads", cfg.threads}, {"dbs", cfg.dbs}, {"keys", cfg.keys},
                           {"sync", cfg.sync}, {"journal", cfg.journal}};
  int code = 0;
  if (cfg.power_loss > 0) {
    auto st = ExpectedState::InMemory(cfg.dbs + 1, cfg.keys);
    PowerLossResult r = PowerLoss(cfg, st.get());
    report["mode"] = "power-loss";
    report["power_loss_cycles"] = r.cycles;
    report["pages_lost"] = r.pages_lost;
    report["files_cut_to_synced_size"] = r.files_cut;
    report["directory_entries_reverted"] = r.entries_reverted;
    report["writes_acknowledged"] = st->header().writes_acknowledged.load();
    report["reads_checked"] = st->header().reads_checked.load();
    report["keys_verified"] = r.report.keys_verified;
    report["lost"] = r.report.lost;
    report["wrong"] = r.report.wrong + r.report.batches_half_applied;
    report["reopen_failures"] = r.reopen_failed ? 1 : 0;
    PrintFailures(r.report);
    code = r.report.ok() && !r.reopen_failed ? 0 : 1;
  } else if (cfg.crash_loop > 0) {
    auto st = ExpectedState::OpenFile(cfg.expected, cfg.dbs + 1, cfg.keys);
    if (!st.ok()) {
      std::fprintf(stderr, "ebb-stress: %s\n", st.status().ToString().c_str());
      return 2;
    }
    LoopResult r = CrashLoop(cfg);
    report["mode"] = "crash-loop";
    report["kill_cycles"] = r.cycles;
    report["writes_acknowledged"] = (*st)->header().writes_acknowledged.load();
    report["reads_checked"] = (*st)->header().reads_checked.load();
    report["keys_verified"] = (*st)->header().keys_verified.load();
    report["verification_failures"] = r.verify_failures;
    report["reopen_failures"] = r.reopen_failures;
    code = r.verify_failures == 0 && r.reopen_failures == 0 ? 0 : 1;
  } else {
    auto st = ExpectedState::OpenFile(cfg.expected, cfg.dbs + 1, cfg.keys);
    if (!st.ok()) {
      std::fprintf(stderr, "ebb-stress: %s\n", st.status().ToString().c_str());
      return 2;
    }
    Report r;
    {
      auto store = Store::Open(StoreOptions(cfg, cfg.data));
      if (!store.ok()) {
        std::fprintf(stderr, "ebb-stress: open: %s\n", store.status().ToString().c_str());
        return 1;
      }
      r = Verify(store->get(), st->get(), cfg, nullptr);
      if (r.ok()) {
        Workload w(store->get(), st->get(), cfg, nullptr);
        w.Start(cfg.seed);
        SleepSeconds(cfg.duration_s);
        w.Stop();
        r = w.report();
      }
    }
    if (r.ok()) {  // closed and reopened: everything acknowledged is there
      auto store = Store::Open(StoreOptions(cfg, cfg.data));
      if (!store.ok()) {
        std::fprintf(stderr, "ebb-stress: reopen: %s\n", store.status().ToString().c_str());
        return 1;
      }
      r = Verify(store->get(), st->get(), cfg, nullptr);
    }
    report["mode"] = "run";
    report["writes_acknowledged"] = (*st)->header().writes_acknowledged.load();
    report["reads_checked"] = (*st)->header().reads_checked.load();
    report["keys_verified"] = (*st)->header().keys_verified.load();
    report["lost"] = r.lost;
    report["wrong"] = r.wrong + r.batches_half_applied;
    PrintFailures(r);
    code = r.ok() ? 0 : 1;
  }
  report["result"] = code == 0 ? "ok" : "FAILED";
  if (cfg.json) {
    std::printf("%s\n", report.dump().c_str());
  } else {
    for (const auto& [k, v] : report.items()) std::printf("%-28s %s\n", k.c_str(), v.dump().c_str());
  }
  return code;
}

}  // namespace
}  // namespace ebb::stress

int main(int argc, char** argv) { return ebb::stress::Main(argc, argv); }
