// The fault matrix: every kind of file-system operation the store performs
// (create, append, sync, directory sync, rename, delete, truncate, map,
// read), on every kind of file it performs it on (journal files, segment
// files, filter files, manifests, CURRENT, the directories), fails once, at
// each call in turn (all of them when few, evenly spaced ones when many),
// before taking effect and after (an fsync that fails once its bytes
// landed), during a scenario of writes, flushes, compaction, journal
// rotation and reclaim and a database drop. Then the power goes out and the
// store is reopened.
//
// Each case checks what a user would: every error at the time says what
// failed and where; the store reopens (no file it needs is missing); every
// acknowledged write and delete is there, and no write reads back wrong;
// a database whose drop was acknowledged stays dropped.
//
// A failing case prints its parameters: op, file kind, call number, timing,
// journal mode.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "env/fault_injection_file_system.h"
#include "env/power_loss_file_system.h"
#include "storage/storage.h"

namespace ebb {
namespace {

// The kinds of file a call can be on, by a piece of their path. Directory
// syncs are on directories only, so for them any piece of "/store" will do.
struct FileKind {
  const char* name;
  const char* path_contains;
  bool directories_only;
};
constexpr FileKind kFileKinds[] = {
    {"journal", "/journal/", false},   {"segment", ".seg", false},     {"filter", ".filter", false},
    {"manifest", "/MANIFEST-", false}, {"current", "/CURRENT", false}, {"directory", "/store", true},
};
// At most this many calls of one (operation, file kind) are failed, spread
// evenly from the first to the last.
constexpr uint64_t kCallsPerKind = 16;

struct Expected {
  // Per database and key: the last acknowledged value (nullopt: deleted),
  // and the values written since, acknowledged or not, that may show.
  struct Key {
    std::optional<std::string> acked;
    bool ever_acked = false;
    std::vector<std::optional<std::string>> maybe;
  };
  std::map<std::string, std::map<std::string, Key>> dbs;
  bool b_dropped = false;       // the drop of "b" was acknowledged
  bool b_drop_unknown = false;  // it failed with an unknown outcome
  std::vector<std::string> errors;  // every error a call returned
};

class Scenario {
 public:
  Scenario(PowerLossFileSystem* disk, FaultInjectionFileSystem* fs, bool mmap) : disk_(disk), fs_(fs), mmap_(mmap) {}

  StorageOptions Options() const {
    StorageOptions o;
    o.data_dir = "/store";
    o.journal.sync = SyncMode::kAlways;
    o.journal.mmap_writes = mmap_;
    o.journal.segment_bytes = 64 << 10;
    o.memtable_bytes = 16 << 10;
    o.segment.block_bytes = 1024;
    return o;
  }

  // Runs the scenario; records what was acknowledged and every error.
  void Run(Expected* e) {
    // A first process writes and is killed (its page cache survives); a
    // torn record is left at the end of its journal, so the next open
    // recovers: trims a torn tail or a mapped file's reservation.
    {
      auto first = Storage::Open(fs_, SystemClock(), Options(), nullptr);
      if (first.ok()) {
        auto db = (*first)->OpenDatabase("a", true);
        for (int i = 0; db.ok() && i < 20; i++) Write(db->get(), "a", 1000 + i, false, e);
        db = Status::Aborted("");
        disk_->Freeze();  // killed: it writes nothing more
        first->reset();
      } else {
        e->errors.push_back(first.status().ToString());
      }
      PowerLossFileSystem::CrashOptions keep;
      keep.unsynced = PowerLossFileSystem::CrashOptions::Unsynced::kKeepAll;
      disk_->SimulatePowerLoss(keep);  // the kernel still had it all
      auto journal = disk_->GetChildren("/store/journal");
      if (journal.ok() && !journal->empty()) {
        std::sort(journal->begin(), journal->end());
        auto f = disk_->NewAppendableFile("/store/journal/" + journal->back());
        if (f.ok()) {
          (void)(*f)->Append(std::string("\x05torn", 5));
          (void)(*f)->Sync();
        }
      }
    }
    auto opened = Storage::Open(fs_, SystemClock(), Options(), nullptr);
    if (!opened.ok()) {
      e->errors.push_back(opened.status().ToString());
      return;
    }
    std::unique_ptr<Storage> storage = std::move(*opened);
    std::map<std::string, std::shared_ptr<DatabaseCore>> dbs;
    for (const char* name : {"a", "b"}) {
      auto db = storage->OpenDatabase(name, true);
      if (!db.ok()) {
        e->errors.push_back(db.status().ToString());
        continue;
      }
      dbs[name] = *db;
    }
    auto write = [&](const std::string& db, int i, bool del) {
      if (dbs.count(db)) Write(dbs[db].get(), db, i, del, e);
    };
    auto note = [&](const Status& s) {
      if (!s.ok()) e->errors.push_back(s.ToString());
    };
    int i = 0;
    for (; i < 300; i++) write(i % 3 ? "a" : "b", i, i % 11 == 0);
    if (dbs.count("a")) note(dbs["a"]->Flush());
    for (; i < 500; i++) write(i % 3 ? "a" : "b", i, i % 13 == 0);
    if (dbs.count("b")) note(dbs["b"]->Flush());
    if (dbs.count("a")) {
      note(dbs["a"]->Flush());
      note(dbs["a"]->Compact(CompactionOptions()).status());
    }
    note(storage->ReclaimJournal().status());  // rotation and deletion
    Status dropped = storage->DropDatabase("b");
    note(dropped);
    e->b_dropped = dropped.ok();
    e->b_drop_unknown = dropped.message().find("may or may not have reached the disk") != std::string::npos;
    for (; i < 700; i++) write("a", i, i % 7 == 0);
    if (dbs.count("a")) note(dbs["a"]->Flush());
    note(storage->ReclaimJournal().status());
    dbs.clear();
    note(storage->Close());
  }

  // Reopens after a power loss and checks what the user would.
  void Verify(const Expected& e) {
    auto opened = Storage::Open(fs_, SystemClock(), Options(), nullptr);
    ASSERT_TRUE(opened.ok()) << "the store does not reopen: " << opened.status().ToString();
    std::unique_ptr<Storage> storage = std::move(*opened);
    for (const auto& [name, keys] : e.dbs) {
      auto db = storage->OpenDatabase(name, /*create_if_missing=*/false);
      if (name == "b" && e.b_dropped) {
        ASSERT_TRUE(db.status().IsNotFound()) << "an acknowledged drop came back";
        continue;
      }
      // A drop whose outcome the caller was told is unknown: either state.
      if (name == "b" && e.b_drop_unknown && db.status().IsNotFound()) continue;
      if (db.status().IsNotFound()) {
        // Never created durably: then nothing in it was acknowledged.
        for (const auto& [key, k] : keys) ASSERT_FALSE(k.ever_acked) << name << "/" << key;
        continue;
      }
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      for (const auto& [key, k] : keys) {
        std::string value;
        Status s = (*db)->Get(ReadOptions(), key, &value);
        ASSERT_TRUE(s.ok() || s.IsNotFound()) << name << "/" << key << ": " << s.ToString();
        std::optional<std::string> got = s.ok() ? std::optional<std::string>(value) : std::nullopt;
        bool allowed = (k.ever_acked ? got == k.acked : !got.has_value());
        for (const auto& m : k.maybe) allowed = allowed || got == m;
        ASSERT_TRUE(allowed) << name << "/" << key << " reads back " << got.value_or("(absent)")
                             << "; last acknowledged " << (k.ever_acked ? k.acked.value_or("(deleted)") : "nothing");
      }
    }
  }

 private:
  static void Write(DatabaseCore* db, const std::string& name, int i, bool del, Expected* e) {
    const std::string key = fmt::format("k{:04}", i % 97);
    const std::string value = fmt::format("{}-{}-{}", name, i, std::string(40 + i % 50, 'v'));
    WriteBatch batch;
    if (del) {
      batch.Delete(key);
    } else {
      batch.Put(key, value);
    }
    Expected::Key& k = e->dbs[name][key];
    k.maybe.push_back(del ? std::nullopt : std::optional<std::string>(value));
    Status s = db->Write(WriteOptions(), batch);
    if (s.ok()) {
      k.acked = k.maybe.back();
      k.ever_acked = true;
      k.maybe.clear();
    } else {
      e->errors.push_back(s.ToString());
    }
  }

  PowerLossFileSystem* const disk_;
  FaultInjectionFileSystem* const fs_;
  const bool mmap_;
};

struct Case {
  FaultOp op;
  const FileKind* kind;
  uint64_t nth;
  FaultTiming timing;
  bool mmap;
  Status error;
  std::string Name() const {
    return fmt::format("{} on {} #{} ({}), {} journal, {}", FaultOpName(op), kind->name, nth,
                       timing == FaultTiming::kBefore ? "fails before" : "fails after taking effect",
                       mmap ? "mapped" : "write(2)", error.ToString());
  }
};

void RunCase(const Case& c, uint64_t seed, uint64_t* cases_with_errors) {
  SCOPED_TRACE(c.Name() + fmt::format(", power loss seed {}", seed));
  PowerLossFileSystem disk;
  FaultInjectionFileSystem fs(&disk);
  FaultSpec spec;
  spec.op = c.op;
  spec.nth = static_cast<int>(c.nth);
  spec.timing = c.timing;
  spec.path_contains = c.kind->path_contains;
  spec.error = c.error;
  fs.Fail(spec);
  Scenario scenario(&disk, &fs, c.mmap);
  Expected e;
  scenario.Run(&e);
  if (!e.errors.empty()) ++*cases_with_errors;
  for (const std::string& error : e.errors) {
    // What failed, and where: a path, the database, or why the store
    // refuses writes.
    ASSERT_TRUE(error.find("/store") != std::string::npos || error.find("read-only") != std::string::npos ||
                error.find("database ") != std::string::npos)
        << "unclear error: " << error;
  }
  disk.Freeze();
  // Half the cases lose everything unsynced, half a random set of pages.
  PowerLossFileSystem::CrashOptions crash;
  crash.seed = seed;
  if (seed % 2 == 0) crash.unsynced = PowerLossFileSystem::CrashOptions::Unsynced::kDropAll;
  disk.SimulatePowerLoss(crash);
  fs.ClearFaults();
  scenario.Verify(e);
}

class FaultMatrixTest : public ::testing::TestWithParam<bool> {};

TEST_P(FaultMatrixTest, EveryOperationFailsOnceAtEachCallAndNothingAcknowledgedIsLost) {
  const bool mmap = GetParam();
  // A clean run counts the calls of each operation on each kind of file.
  std::map<std::pair<FaultOp, const FileKind*>, uint64_t> counts;
  {
    PowerLossFileSystem disk;
    FaultInjectionFileSystem fs(&disk);
    Scenario scenario(&disk, &fs, mmap);
    Expected e;
    scenario.Run(&e);
    ASSERT_TRUE(e.errors.empty()) << e.errors.front();
    for (FaultOp op : kAllFaultOps) {
      for (const FileKind& kind : kFileKinds) {
        if (kind.directories_only != (op == FaultOp::kSyncDir)) continue;
        uint64_t n = fs.calls(op, kind.path_contains);
        if (n > 0) counts[{op, &kind}] = n;
      }
    }
  }
  // The scenario reaches every operation the matrix is about.
  for (FaultOp op : {FaultOp::kCreate, FaultOp::kAppend, FaultOp::kSync, FaultOp::kSyncDir, FaultOp::kRename,
                     FaultOp::kDelete, FaultOp::kTruncate, FaultOp::kRead}) {
    bool seen = false;
    for (const auto& [key, n] : counts) seen = seen || key.first == op;
    EXPECT_TRUE(seen) << FaultOpName(op) << " is never called by the scenario";
  }
  if (mmap) EXPECT_TRUE(counts.count({FaultOp::kMap, &kFileKinds[0]})) << "the mapped journal is never created";

  uint64_t cases = 0, cases_with_errors = 0;
  for (const auto& [key, n] : counts) {
    const auto [op, kind] = key;
    std::vector<uint64_t> calls;
    for (uint64_t j = 0; j < std::min(n, kCallsPerKind); j++) {
      uint64_t nth = n <= kCallsPerKind ? j + 1 : 1 + j * (n - 1) / (kCallsPerKind - 1);
      if (calls.empty() || calls.back() != nth) calls.push_back(nth);
    }
    for (uint64_t nth : calls) {
      for (FaultTiming timing : {FaultTiming::kBefore, FaultTiming::kAfter}) {
        std::vector<Status> errors = {Status::IOError(fmt::format("{}: Input/output error (injected)", FaultOpName(op)))};
        if (op == FaultOp::kAppend && timing == FaultTiming::kBefore) {
          errors.push_back(Status::NoSpace("append: No space left on device (injected)"));
        }
        for (const Status& error : errors) {
          RunCase(Case{op, kind, nth, timing, mmap, error}, cases, &cases_with_errors);
          cases++;
          if (HasFatalFailure()) return;
        }
      }
    }
  }
  // Most cases surface an error to the caller (some faults hit calls whose
  // failure only logs, like deleting an obsolete file).
  EXPECT_GT(cases_with_errors, cases / 2) << cases << " cases";
  RecordProperty("cases", static_cast<int>(cases));
  std::printf("fault matrix (%s journal): %llu cases, %llu with an error returned to the caller\n",
              mmap ? "mapped" : "write(2)", static_cast<unsigned long long>(cases),
              static_cast<unsigned long long>(cases_with_errors));
}

INSTANTIATE_TEST_SUITE_P(Journal, FaultMatrixTest, ::testing::Values(true, false),
                         [](const auto& info) { return std::string(info.param ? "mapped" : "write"); });

}  // namespace
}  // namespace ebb
