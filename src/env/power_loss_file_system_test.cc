#include "env/power_loss_file_system.h"

#include <gtest/gtest.h>

#include <string>

#include "env/fault_injection_file_system.h"

namespace ebb {
namespace {

using Crash = PowerLossFileSystem::CrashOptions;

Crash DropAll() {
  Crash c;
  c.unsynced = Crash::Unsynced::kDropAll;
  return c;
}

Crash KeepAll() {
  Crash c;
  c.unsynced = Crash::Unsynced::kKeepAll;
  return c;
}

std::string Read(FileSystem* fs, const std::string& path) {
  auto data = ReadFileToString(fs, path);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? *data : "";
}

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDir("/d").ok());
    ASSERT_TRUE(fs_.SyncDir("/").ok());
    ASSERT_TRUE(fs_.SyncDir("/d").ok());
  }
  std::unique_ptr<WritableFile> Create(const std::string& path) {
    auto f = fs_.NewWritableFile(path);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }
  PowerLossFileSystem fs_;
};

TEST_F(PowerLossTest, SyncedBytesSurviveUnsyncedOnesDoNot) {
  auto f = Create("/d/log");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(f->Append("durable").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("-lost").ok());
  EXPECT_EQ(Read(&fs_, "/d/log"), "durable-lost") << "reads see the page cache";
  EXPECT_EQ(fs_.UnsyncedBytes(), 5u);
  auto report = fs_.SimulatePowerLoss(DropAll());
  EXPECT_EQ(report.files_cut_to_synced_size, 1u) << report.ToString();
  EXPECT_EQ(Read(&fs_, "/d/log"), "durable");
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
}

TEST_F(PowerLossTest, DirectoryEntriesNeedTheDirectorySynced) {
  auto f = Create("/d/created");
  ASSERT_TRUE(f->Append("x").ok());
  ASSERT_TRUE(f->Sync().ok());  // the data is durable, the name is not
  auto kept = Create("/d/kept");
  ASSERT_TRUE(kept->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.DeleteFile("/d/kept").ok());
  auto report = fs_.SimulatePowerLoss(KeepAll());
  EXPECT_EQ(report.entries_reverted, 1u) << "SyncDir made both entries durable; only the deletion is undone";
  EXPECT_TRUE(fs_.FileExists("/d/created"));
  EXPECT_TRUE(fs_.FileExists("/d/kept")) << "a deletion the directory sync did not cover is undone";

  auto g = Create("/d/new");
  ASSERT_TRUE(g->Sync().ok());
  g.reset();
  fs_.SimulatePowerLoss(KeepAll());
  EXPECT_FALSE(fs_.FileExists("/d/new")) << "created after the directory's last sync";
}

TEST_F(PowerLossTest, RenameIsUndoneWithoutDirectorySync) {
  ASSERT_TRUE(WriteStringToFile(&fs_, "old", "/d/CURRENT", true).ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(WriteStringToFile(&fs_, "new", "/d/CURRENT.tmp", true).ok());
  ASSERT_TRUE(fs_.RenameFile("/d/CURRENT.tmp", "/d/CURRENT").ok());
  EXPECT_EQ(Read(&fs_, "/d/CURRENT"), "new");
  fs_.SimulatePowerLoss(KeepAll());
  EXPECT_EQ(Read(&fs_, "/d/CURRENT"), "old");
  EXPECT_FALSE(fs_.FileExists("/d/CURRENT.tmp")) << "the temporary file was never made durable by name";

  // WriteFileAtomically syncs the directory: the new contents stay.
  ASSERT_TRUE(WriteFileAtomically(&fs_, "newer", "/d/CURRENT").ok());
  fs_.SimulatePowerLoss(DropAll());
  EXPECT_EQ(Read(&fs_, "/d/CURRENT"), "newer");
}

TEST_F(PowerLossTest, NewDirectoryNeedsItsParentSynced) {
  ASSERT_TRUE(fs_.CreateDir("/d/sub/deeper").ok());
  ASSERT_TRUE(WriteStringToFile(&fs_, "x", "/d/sub/deeper/f", true).ok());
  ASSERT_TRUE(fs_.SyncDir("/d/sub/deeper").ok());
  ASSERT_TRUE(fs_.SyncDir("/d/sub").ok());
  fs_.SimulatePowerLoss(KeepAll());
  EXPECT_FALSE(fs_.FileExists("/d/sub")) << "its entry in /d was never synced";
  EXPECT_FALSE(fs_.FileExists("/d/sub/deeper/f"));
}

// Pages written since the last sync reach the disk independently: a file
// can come back with a hole (zeros where a page did not land) followed by
// pages that did.
TEST_F(PowerLossTest, RandomPagesCanLeaveHolesBeforeSurvivingPages) {
  const uint64_t page = PowerLossFileSystem::kPageBytes;
  std::string written;
  for (int p = 0; p < 4; p++) written += std::string(page, static_cast<char>('a' + p));
  bool saw_hole_before_data = false;
  for (uint64_t seed = 1; seed <= 64 && !saw_hole_before_data; seed++) {
    PowerLossFileSystem fs;
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    ASSERT_TRUE(fs.SyncDir("/").ok());
    auto f = fs.NewWritableFile("/d/f");
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    ASSERT_TRUE((*f)->Append("synced").ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append(written).ok());
    Crash c;
    c.seed = seed;
    fs.SimulatePowerLoss(c);
    std::string data = Read(&fs, "/d/f");
    ASSERT_GE(data.size(), 6u);
    ASSERT_EQ(data.substr(0, 6), "synced") << "seed " << seed << ": synced bytes are never lost";
    std::string full = "synced" + written;
    ASSERT_TRUE(data.size() == 6 || data.size() == full.size()) << "seed " << seed << ": size is old or new";
    // Every byte is what was written or a zero of a page that did not land.
    bool zero_seen = false;
    for (size_t i = 6; i < data.size(); i++) {
      ASSERT_TRUE(data[i] == full[i] || data[i] == 0) << "seed " << seed << " offset " << i;
      if (data[i] == 0) zero_seen = true;
      if (zero_seen && data[i] != 0) saw_hole_before_data = true;
    }
  }
  EXPECT_TRUE(saw_hole_before_data) << "some seed in 1..64 leaves a hole followed by data";
}

TEST_F(PowerLossTest, LostPageKeepsWhatTheDiskHadBefore) {
  const uint64_t page = PowerLossFileSystem::kPageBytes;
  auto f = fs_.NewMappedLogFile("/d/log");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append(std::string(page / 2, 'a')).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(std::string(page / 2, 'b')).ok());  // same page, after the sync
  fs_.SimulatePowerLoss(DropAll());
  std::string data = Read(&fs_, "/d/log");
  ASSERT_EQ(data.size(), kMappedLogChunkBytes) << "the synced reservation stays";
  EXPECT_EQ(data.substr(0, page / 2), std::string(page / 2, 'a'));
  EXPECT_EQ(data.substr(page / 2, page / 2), std::string(page / 2, '\0')) << "the page as it was on disk";
  EXPECT_TRUE(IsMappedLogZeroTail(data, page / 2));
}

TEST_F(PowerLossTest, MappedLogReservesChunksAndFinishTrims) {
  auto f = fs_.NewMappedLogFile("/d/log");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello").ok());
  EXPECT_EQ((*f)->Size(), 5u);
  EXPECT_EQ(*fs_.GetFileSize("/d/log"), kMappedLogChunkBytes) << "a whole chunk is reserved";
  ASSERT_TRUE((*f)->Finish().ok());
  EXPECT_EQ(*fs_.GetFileSize("/d/log"), 5u);
  EXPECT_FALSE((*f)->Append("x").ok());
  ASSERT_TRUE((*f)->Close().ok());
}

TEST_F(PowerLossTest, HandlesAndLocksDieWithThePowerLoss) {
  auto f = Create("/d/f");
  auto lock = fs_.LockFile("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(fs_.LockFile("/d/LOCK").status().IsLocked());
  fs_.Freeze();
  EXPECT_TRUE(f->Append("x").IsIOError()) << "frozen: the machine is down";
  EXPECT_TRUE(fs_.DeleteFile("/d/f").IsIOError());
  fs_.SimulatePowerLoss(DropAll());
  EXPECT_TRUE(f->Append("x").IsIOError()) << "a handle from before the power loss";
  auto relock = fs_.LockFile("/d/LOCK");
  EXPECT_TRUE(relock.ok()) << "the old process's lock is gone";
  lock->reset();  // the dead lock's release must not drop the new one
  EXPECT_TRUE(fs_.LockFile("/d/LOCK").status().IsLocked());
}

// FaultInjectionFileSystem over this one: a sync that fails after its bytes
// landed leaves them durable, though the caller saw an error.
TEST_F(PowerLossTest, SyncFailingAfterItLandedLeavesTheBytesDurable) {
  FaultInjectionFileSystem faulty(&fs_);
  auto f = faulty.NewWritableFile("/d/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(faulty.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("data").ok());
  FaultSpec spec;
  spec.op = FaultOp::kSync;
  spec.timing = FaultTiming::kAfter;
  spec.error = Status::IOError("sync: Input/output error (injected after the data landed)");
  faulty.Fail(spec);
  EXPECT_TRUE((*f)->Sync().IsIOError());
  EXPECT_TRUE(faulty.fired(FaultOp::kSync));
  fs_.SimulatePowerLoss(DropAll());
  EXPECT_EQ(Read(&fs_, "/d/f"), "data");
}

}  // namespace
}  // namespace ebb
