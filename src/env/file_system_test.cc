#include "env/file_system.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/test_util.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

// The same contract tests run against the POSIX and in-memory file systems.
class FileSystemContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "posix") {
      fs_ = DefaultFileSystem();
      root_ = tmp_.path();
    } else {
      mem_ = std::make_unique<MemFileSystem>();
      fs_ = mem_.get();
      root_ = "/root";
      ASSERT_TRUE(fs_->CreateDir(root_).ok());
    }
  }
  testing::TempDir tmp_;
  std::unique_ptr<MemFileSystem> mem_;
  FileSystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FileSystemContractTest, WriteReadAppend) {
  std::string path = JoinPath(root_, "a.txt");
  ASSERT_TRUE(WriteStringToFile(fs_, "hello ", path, true).ok());
  {
    auto f = fs_->NewAppendableFile(path);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Size(), 6u);
    ASSERT_TRUE((*f)->Append("world").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  EXPECT_EQ(*ReadFileToString(fs_, path), "hello world");
  auto r = fs_->NewRandomAccessFile(path);
  ASSERT_TRUE(r.ok());
  char scratch[16];
  EXPECT_EQ(*(*r)->Read(6, 5, scratch), "world");
  EXPECT_EQ(*(*r)->Read(9, 100, scratch), "ld");
  EXPECT_EQ(*(*r)->Read(100, 5, scratch), "");
  EXPECT_EQ(*fs_->GetFileSize(path), 11u);
}

TEST_P(FileSystemContractTest, LargeAppendsBypassBuffer) {
  std::string path = JoinPath(root_, "big");
  std::string big(300 * 1024, 'x');
  auto f = fs_->NewWritableFile(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("head").ok());
  ASSERT_TRUE((*f)->Append(big).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*fs_->GetFileSize(path), big.size() + 4);
}

TEST_P(FileSystemContractTest, DirectoriesRenameDelete) {
  std::string dir = JoinPath(root_, "x/y/z");
  ASSERT_TRUE(fs_->CreateDir(dir).ok());
  ASSERT_TRUE(fs_->CreateDir(dir).ok());  // idempotent
  ASSERT_TRUE(WriteStringToFile(fs_, "1", JoinPath(dir, "f1"), false).ok());
  ASSERT_TRUE(fs_->RenameFile(JoinPath(dir, "f1"), JoinPath(dir, "f2")).ok());
  auto children = fs_->GetChildren(dir);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"f2"});
  EXPECT_TRUE(fs_->DeleteFile(JoinPath(dir, "f1")).IsNotFound());
  ASSERT_TRUE(DeleteRecursively(fs_, JoinPath(root_, "x")).ok());
  EXPECT_FALSE(fs_->FileExists(dir));
}

TEST_P(FileSystemContractTest, AtomicWriteReplaces) {
  std::string path = JoinPath(root_, "CURRENT");
  ASSERT_TRUE(WriteFileAtomically(fs_, "one", path).ok());
  ASSERT_TRUE(WriteFileAtomically(fs_, "two", path).ok());
  EXPECT_EQ(*ReadFileToString(fs_, path), "two");
  EXPECT_FALSE(fs_->FileExists(path + ".tmp"));
}

TEST_P(FileSystemContractTest, LockIsExclusive) {
  std::string path = JoinPath(root_, "LOCK");
  auto first = fs_->LockFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = fs_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsLocked());
  EXPECT_NE(second.status().message().find("locked by"), std::string::npos);
  first->reset();
  EXPECT_TRUE(fs_->LockFile(path).ok());
}

TEST_P(FileSystemContractTest, MissingFilesAreNotFound) {
  EXPECT_TRUE(fs_->NewRandomAccessFile(JoinPath(root_, "nope")).status().IsNotFound());
  EXPECT_TRUE(fs_->GetFileSize(JoinPath(root_, "nope")).status().IsNotFound());
}

INSTANTIATE_TEST_SUITE_P(All, FileSystemContractTest, ::testing::Values("posix", "mem"));

TEST(FaultInjectionTest, DropUnsyncedDataKeepsOnlySyncedBytes) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  auto f = fs.NewWritableFile("/d/log");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("durable").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("-lost").ok());
  auto g = fs.NewWritableFile("/d/never-synced");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("x").ok());
  fs.Deactivate();
  EXPECT_TRUE((*f)->Append("more").IsIOError());
  f->reset();
  g->reset();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_EQ(*ReadFileToString(&fs, "/d/log"), "durable");
  EXPECT_FALSE(fs.FileExists("/d/never-synced"));
}

TEST(FaultInjectionTest, TornTailKeepsAPrefix) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  auto f = fs.NewWritableFile("/d/log");
  ASSERT_TRUE((*f)->Append("synced|").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("0123456789").ok());
  f->reset();
  ASSERT_TRUE(fs.DropUnsyncedData(/*torn_seed=*/7).ok());
  std::string data = *ReadFileToString(&fs, "/d/log");
  EXPECT_EQ(data.substr(0, 7), "synced|");
  EXPECT_LE(data.size(), 17u);
  EXPECT_EQ(std::string("synced|0123456789").substr(0, data.size()), data);
}

TEST(FaultInjectionTest, FailNthAndSpaceBudget) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  auto f = fs.NewWritableFile("/d/f");
  fs.FailNth(FaultOp::kSync, 2, Status::IOError("injected sync failure"));
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_TRUE((*f)->Sync().IsIOError());
  EXPECT_TRUE((*f)->Sync().ok());  // not sticky
  fs.FailNth(FaultOp::kAppend, 1, Status::IOError("boom"), /*sticky=*/true);
  EXPECT_FALSE((*f)->Append("a").ok());
  EXPECT_FALSE((*f)->Append("b").ok());
  fs.ClearFaults();
  fs.SetSpaceBudget(5);
  EXPECT_TRUE((*f)->Append("1234").ok());
  Status s = (*f)->Append("56");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  fs.FailNth(FaultOp::kRename, 1, Status::IOError("rename fails"));
  EXPECT_TRUE(fs.RenameFile("/d/f", "/d/g").IsIOError());
  EXPECT_TRUE(fs.FileExists("/d/f"));
}

TEST(FaultInjectionTest, CorruptBytesFlipsInPlace) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  ASSERT_TRUE(WriteStringToFile(&fs, "abcdef", "/d/f", true).ok());
  ASSERT_TRUE(fs.CorruptBytes("/d/f", 2, 2).ok());
  std::string data = *ReadFileToString(&fs, "/d/f");
  EXPECT_EQ(data[0], 'a');
  EXPECT_EQ(data[2], static_cast<char>('c' ^ 0xff));
  EXPECT_EQ(data[4], 'e');
  EXPECT_TRUE(fs.CorruptBytes("/d/f", 5, 5).IsInvalidArgument());
}

}  // namespace
}  // namespace ebb
