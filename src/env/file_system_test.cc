#include "env/file_system.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

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

TEST_P(FileSystemContractTest, MappedLogFileHoldsExactlyWhatWasAppended) {
  // Appends that end inside a chunk, exactly at a chunk boundary, and span
  // several chunks at once.
  std::string path = JoinPath(root_, "log");
  auto f = fs_->NewMappedLogFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::string expected;
  for (const std::string& piece : {std::string("header"), std::string(kMappedLogChunkBytes - 6, 'a'),
                                   std::string(1000, 'b'), std::string(2 * kMappedLogChunkBytes + 17, 'c'),
                                   std::string("tail")}) {
    ASSERT_TRUE((*f)->Append(piece).ok());
    expected += piece;
    EXPECT_EQ((*f)->Size(), expected.size());
  }
  ASSERT_TRUE((*f)->Flush().ok());
  // While open, another reader sees every appended byte, then at most the
  // reserved zeros.
  std::string open_contents = *ReadFileToString(fs_, path);
  ASSERT_GE(open_contents.size(), expected.size());
  EXPECT_TRUE(open_contents.compare(0, expected.size(), expected) == 0);
  if (open_contents.size() > expected.size()) EXPECT_TRUE(IsMappedLogZeroTail(open_contents, expected.size()));
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*fs_->GetFileSize(path), expected.size());
  EXPECT_TRUE(*ReadFileToString(fs_, path) == expected);  // not printed: 3 MiB
}

INSTANTIATE_TEST_SUITE_P(All, FileSystemContractTest, ::testing::Values("posix", "mem"));

// A mapped log file at `path` in a fresh directory (the POSIX file system).
class MappedLogFileTest : public ::testing::Test {
 protected:
  // Opens the file and appends `first`.
  std::unique_ptr<WritableFile> OpenWith(std::string_view first) {
    auto f = DefaultFileSystem()->NewMappedLogFile(path_);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return nullptr;
    EXPECT_TRUE((*f)->Append(first).ok());
    return std::move(*f);
  }

  testing::TempDir tmp_;
  const std::string path_ = JoinPath(tmp_.path(), "log");
};

TEST_F(MappedLogFileTest, ProcessCrashKeepsFlushedBytesThenReservedZeros) {
  const std::string data = "records" + std::string(kMappedLogChunkBytes + 100, 'r');
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child appends and dies without closing: what a crash leaves.
    auto f = DefaultFileSystem()->NewMappedLogFile(path_);
    bool ok = f.ok() && (*f)->Append(data).ok() && (*f)->Flush().ok();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::string contents = *ReadFileToString(DefaultFileSystem(), path_);
  EXPECT_EQ(contents.size(), 2 * kMappedLogChunkBytes);
  EXPECT_TRUE(contents.compare(0, data.size(), data) == 0);
  EXPECT_TRUE(IsMappedLogZeroTail(contents, data.size()));
}

TEST_F(MappedLogFileTest, FinishTrimsTheReservationAndEndsAppends) {
  auto f = OpenWith("all of it");
  ASSERT_TRUE(f);
  EXPECT_EQ(*DefaultFileSystem()->GetFileSize(path_), kMappedLogChunkBytes);  // reserved while open
  ASSERT_TRUE(f->Finish().ok());
  EXPECT_EQ(*DefaultFileSystem()->GetFileSize(path_), 9u);
  EXPECT_FALSE(f->Append("more").ok());
  EXPECT_TRUE(f->SyncFlushed().ok());  // a background syncer may still hold it
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(*ReadFileToString(DefaultFileSystem(), path_), "all of it");
}

TEST_F(MappedLogFileTest, FullDiskFailsTheAppendBeforeWritingAnyOfIt) {
  // RLIMIT_FSIZE stands in for a full disk: reserving past it fails (EFBIG)
  // the way reserving past the free space fails (ENOSPC).
  auto f = OpenWith("kept");
  ASSERT_TRUE(f);
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore = {}, old_action;
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 2 * kMappedLogChunkBytes;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status s = f->Append(std::string(3 * kMappedLogChunkBytes, 'x'));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(sigaction(SIGXFSZ, &old_action, nullptr), 0);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("reserve space in " + path_), std::string::npos) << s.ToString();
  EXPECT_EQ(f->Size(), 4u);
  ASSERT_TRUE(f->Append(" too").ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(*ReadFileToString(DefaultFileSystem(), path_), "kept too");
}

TEST_F(MappedLogFileTest, ZeroTailNeedsZerosUpToAChunkMultiple) {
  std::string log = "data" + std::string(kMappedLogChunkBytes - 4, '\0');
  EXPECT_TRUE(IsMappedLogZeroTail(log, 4));
  EXPECT_FALSE(IsMappedLogZeroTail(log, 3));  // data at pos
  EXPECT_TRUE(IsMappedLogZeroTail(std::string(kMappedLogChunkBytes, '\0'), 0));
  EXPECT_FALSE(IsMappedLogZeroTail(log, log.size()));  // nothing after pos
  EXPECT_FALSE(IsMappedLogZeroTail(log.substr(0, log.size() - 1), 4));  // not a chunk multiple
  log[kMappedLogChunkBytes / 2] = 1;
  EXPECT_FALSE(IsMappedLogZeroTail(log, 4));  // data among the zeros
  EXPECT_TRUE(IsMappedLogZeroTail(log, kMappedLogChunkBytes / 2 + 1));
}

// The data directory lock belongs to the open file, not to a path string or
// to the process: other spellings of the path, a second open in the same
// process, a closed stray descriptor of LOCK and another process all see it.
TEST(PosixFileLockTest, NoSpellingDescriptorOrProcessBypassesTheLock) {
  testing::TempDir tmp;
  FileSystem* fs = DefaultFileSystem();
  const std::string dir = tmp.Sub("d");
  ASSERT_TRUE(fs->CreateDir(dir).ok());
  auto lock = fs->LockFile(dir + "/LOCK");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  ASSERT_EQ(::symlink(dir.c_str(), tmp.Sub("link").c_str()), 0);
  for (const std::string& spelling : {dir + "/LOCK", dir + "/./LOCK", tmp.Sub("link") + "/LOCK", dir + "//LOCK"}) {
    auto again = fs->LockFile(spelling);
    EXPECT_TRUE(again.status().IsLocked()) << spelling << ": " << again.status().ToString();
  }
  // Opening and closing another descriptor of LOCK (any library might)
  // does not release it.
  int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::close(fd);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto other = DefaultFileSystem()->LockFile(tmp.Sub("link") + "/LOCK");
    ::_exit(other.status().IsLocked() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process took the lock";
  lock->reset();
  EXPECT_TRUE(fs->LockFile(tmp.Sub("link") + "/LOCK").ok()) << "released with its holder";
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

TEST(FaultInjectionTest, FailAfterTakesEffectAndPathFilterNarrows) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  ASSERT_TRUE(WriteStringToFile(&fs, "x", "/d/a", false).ok());
  ASSERT_TRUE(WriteStringToFile(&fs, "y", "/d/b", false).ok());
  FaultSpec spec;
  spec.op = FaultOp::kRename;
  spec.timing = FaultTiming::kAfter;
  spec.path_contains = "/d/b";
  fs.Fail(spec);
  EXPECT_TRUE(fs.RenameFile("/d/a", "/d/a2").ok()) << "another path: not counted";
  EXPECT_TRUE(fs.RenameFile("/d/b", "/d/b2").IsIOError());
  EXPECT_TRUE(fs.FileExists("/d/b2")) << "the rename happened; only its reply failed";
  EXPECT_FALSE(fs.FileExists("/d/b"));
  EXPECT_EQ(fs.calls(FaultOp::kRename), 2u);
  fs.FailNth(FaultOp::kDelete, 1, Status::IOError("delete fails"));
  EXPECT_TRUE(fs.DeleteFile("/d/a2").IsIOError());
  EXPECT_TRUE(fs.FileExists("/d/a2")) << "a fault before the call leaves the file";
  fs.FailNth(FaultOp::kSyncDir, 1, Status::IOError("fsync of the directory fails"));
  EXPECT_TRUE(fs.SyncDir("/d").IsIOError());
  fs.FailNth(FaultOp::kTruncate, 1, Status::IOError("truncate fails"));
  EXPECT_TRUE(fs.TruncateFile("/d/a2", 0).IsIOError());
  EXPECT_EQ(*ReadFileToString(&fs, "/d/a2"), "x");
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

// A started sync (StartSyncFlushed) on the POSIX file system: the kernel
// runs the fdatasync (native AIO) and the ticket reports it; one at a time
// per file.
TEST(StartedSyncTest, PosixFilesStartASyncAndReportItOnTheTicket) {
  testing::TempDir tmp;
  for (bool mapped : {false, true}) {
    SCOPED_TRACE(mapped ? "mapped log file" : "writable file");
    const std::string path = JoinPath(tmp.path(), mapped ? "log" : "file");
    auto f = mapped ? DefaultFileSystem()->NewMappedLogFile(path) : DefaultFileSystem()->NewWritableFile(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append("a record").ok());
    ASSERT_TRUE((*f)->Flush().ok());
    std::unique_ptr<SyncTicket> ticket = (*f)->StartSyncFlushed();
    ASSERT_NE(ticket, nullptr) << "no native AIO on this kernel (io_setup failed): the journal syncs on its own thread";
    EXPECT_EQ((*f)->StartSyncFlushed(), nullptr) << "a second sync while the first is unsettled";
    EXPECT_TRUE(ticket->Wait().ok());
    std::optional<Status> polled = ticket->Poll();
    ASSERT_TRUE(polled.has_value()) << "a finished ticket keeps its outcome";
    EXPECT_TRUE(polled->ok());
    ticket.reset();
    // Settled: the next one starts, and polling finds it done.
    ASSERT_TRUE((*f)->Append(" and another").ok());
    ASSERT_TRUE((*f)->Flush().ok());
    ticket = (*f)->StartSyncFlushed();
    ASSERT_NE(ticket, nullptr);
    std::optional<Status> done;
    while (!(done = ticket->Poll())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(done->ok());
    // A ticket still running when dropped waits for its sync.
    ASSERT_TRUE((*f)->Append(" and a third").ok());
    ASSERT_TRUE((*f)->Flush().ok());
    ticket = (*f)->StartSyncFlushed();
    ASSERT_NE(ticket, nullptr);
    ticket.reset();
    EXPECT_NE((*f)->StartSyncFlushed(), nullptr);
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ((*f)->StartSyncFlushed(), nullptr) << "a closed file starts nothing; SyncFlushed says why";
    EXPECT_TRUE((*f)->SyncFlushed().IsIOError());
  }
}

// A file the kernel cannot sync asynchronously (a character device has no
// fsync): nothing starts, and SyncFlushed gives the error.
TEST(StartedSyncTest, AFileWithoutAsynchronousSyncStartsNothing) {
  auto f = DefaultFileSystem()->NewAppendableFile("/dev/null");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->StartSyncFlushed(), nullptr);
  Status s = (*f)->SyncFlushed();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sync /dev/null"), std::string::npos) << s.ToString();
}

TEST(StartedSyncTest, FaultInjectionHoldsStartedSyncsAndFailsThemAtRelease) {
  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/d").ok());
  FaultInjectionFileSystem fs(&mem);
  auto f = fs.NewWritableFile("/d/log");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->StartSyncFlushed(), nullptr) << "not held: the caller syncs itself";
  fs.HoldStartedSyncs();
  std::unique_ptr<SyncTicket> ticket = (*f)->StartSyncFlushed();
  ASSERT_NE(ticket, nullptr);
  EXPECT_EQ(fs.started_syncs(), 2u);
  EXPECT_FALSE(ticket->Poll().has_value()) << "held";
  EXPECT_EQ(fs.syncs(), 0u);
  fs.FailNth(FaultOp::kSync, 1, Status::IOError("fdatasync /d/log: Input/output error (injected)"));
  fs.ReleaseStartedSyncs();
  std::optional<Status> s = ticket->Poll();
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->IsIOError()) << s->ToString();
  EXPECT_TRUE(ticket->Wait().IsIOError()) << "the outcome stays";
}

}  // namespace
}  // namespace ebb
