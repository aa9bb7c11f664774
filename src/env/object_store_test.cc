// Contract tests shared by every ObjectStore, plus tests of what only one
// implementation does (fault injection, S3 error mapping). The S3 variant
// runs against s3rver (tests/s3, installed by `scripts/setup.sh test`),
// started by the test on 127.0.0.1 with a free port and stopped at the end,
// or against the service EBB_TEST_S3_* names (tests/s3/ceph_rgw.sh runs the
// suite against a Ceph RADOS Gateway that way; see s3_test_server.h).

#include "env/object_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "base/random.h"
#include "base/test_util.h"
#include "env/file_system.h"
#include "env/fault_injection_file_system.h"
#include "env/local_object_store.h"
#include "env/mem_file_system.h"
#include "env/mem_object_store.h"
#include "env/s3_object_store.h"
#include "env/s3_test_server.h"

namespace ebb {
namespace {

class ObjectStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& kind = GetParam();
    if (kind == "local-posix") {
      fs_ = DefaultFileSystem();
      auto store = LocalObjectStore::Open(fs_, tmp_.Sub("store"));
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
      file_dir_ = tmp_.path();
    } else if (kind == "local-mem") {
      mem_fs_ = std::make_unique<MemFileSystem>();
      fs_ = mem_fs_.get();
      ASSERT_TRUE(fs_->CreateDir("/files").ok());
      auto store = LocalObjectStore::Open(fs_, "/bucket");
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
      file_dir_ = "/files";
    } else if (kind == "mem") {
      mem_fs_ = std::make_unique<MemFileSystem>();
      fs_ = mem_fs_.get();
      ASSERT_TRUE(fs_->CreateDir("/files").ok());
      store_ = std::make_unique<MemObjectStore>();
      file_dir_ = "/files";
    } else {
      bool unavailable = false;
      std::string error = s3_.Start(tmp_.Sub("s3rver"), testing::SourceDir(), &unavailable);
      if (unavailable) EBB_S3_SKIP_OR_FAIL("S3 contract test: " + error);
      ASSERT_EQ(error, "");
      std::fprintf(stderr, "S3 contract test against %s at %s\n", s3_.kind().c_str(), s3_.endpoint().c_str());
      auto store = S3ObjectStore::Open(s3_.Options("contract"));
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
      fs_ = DefaultFileSystem();
      file_dir_ = tmp_.path();
    }
  }

  testing::TempDir tmp_;
  testing::S3TestServer s3_;
  std::unique_ptr<MemFileSystem> mem_fs_;
  FileSystem* fs_ = nullptr;
  std::string file_dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreContractTest, PutGetHeadOverwriteDelete) {
  ASSERT_TRUE(store_->Put("archives/a.tar", "hello world").ok());
  auto got = store_->Get("archives/a.tar");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "hello world");
  auto head = store_->Head("archives/a.tar");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size_bytes, 11u);
  EXPECT_FALSE(head->etag.empty());

  ASSERT_TRUE(store_->Put("archives/a.tar", "replaced").ok());
  EXPECT_EQ(*store_->Get("archives/a.tar"), "replaced");
  auto head2 = store_->Head("archives/a.tar");
  ASSERT_TRUE(head2.ok());
  EXPECT_NE(head2->etag, head->etag) << "different contents must have different etags";

  ASSERT_TRUE(store_->Delete("archives/a.tar").ok());
  Status missing = store_->Get("archives/a.tar").status();
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_NE(missing.message().find("archives/a.tar"), std::string::npos) << missing.ToString();
  EXPECT_NE(missing.message().find(store_->Describe()), std::string::npos) << missing.ToString();
  EXPECT_TRUE(store_->Head("archives/a.tar").status().IsNotFound());
  EXPECT_TRUE(store_->Delete("archives/a.tar").ok()) << "deleting a missing object is OK";
}

TEST_P(ObjectStoreContractTest, RangedGets) {
  std::string data;
  for (int i = 0; i < 1000; i++) data += static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->Put("r", data).ok());
  EXPECT_EQ(*store_->GetRange("r", 0, 10), data.substr(0, 10));
  EXPECT_EQ(*store_->GetRange("r", 500, 37), data.substr(500, 37));
  auto tail = store_->GetRange("r", 990, 100);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(*tail, data.substr(990)) << "a range past the end is clamped";
  EXPECT_EQ(*store_->GetRange("r", 999, 1), data.substr(999));
  EXPECT_TRUE(store_->GetRange("r", 1000, 10).status().IsInvalidArgument());
  EXPECT_TRUE(store_->GetRange("missing", 0, 10).status().IsNotFound());
}

TEST_P(ObjectStoreContractTest, PutFileStreamsLargeFiles) {
  Random rnd(testing::TestSeed(7));
  std::string data = rnd.RandomString(3 * 1024 * 1024 + 17);
  std::string path = JoinPath(file_dir_, "upload.bin");
  ASSERT_TRUE(WriteStringToFile(fs_, data, path, true).ok());
  Status s = store_->PutFile("big/upload.bin", fs_, path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto head = store_->Head("big/upload.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size_bytes, data.size());
  auto mid = store_->GetRange("big/upload.bin", 2'000'000, 4096);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, data.substr(2'000'000, 4096));
  auto all = store_->Get("big/upload.bin");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == data);

  Status no_file = store_->PutFile("big/none", fs_, JoinPath(file_dir_, "does-not-exist"));
  EXPECT_TRUE(no_file.IsNotFound()) << no_file.ToString();
  EXPECT_TRUE(store_->Head("big/none").status().IsNotFound()) << "a failed upload creates nothing";
}

TEST_P(ObjectStoreContractTest, ListByPrefixSorted) {
  for (const char* key : {"archives/b.tar", "archives/a.tar", "archives2/x", "meta/epoch", "archives/sub/c"}) {
    ASSERT_TRUE(store_->Put(key, key).ok()) << key;
  }
  auto listed = store_->List("archives/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> keys;
  for (const auto& info : *listed) keys.push_back(info.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"archives/a.tar", "archives/b.tar", "archives/sub/c"}));
  EXPECT_EQ((*listed)[0].size_bytes, std::string("archives/a.tar").size());
  auto all = store_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  EXPECT_TRUE(store_->List("nothing/")->empty());
}

TEST_P(ObjectStoreContractTest, RejectsBadKeys) {
  for (const char* key : {"", "/abs", "a/../b", "a//b", "dir/"}) {
    Status s = store_->Put(key, "x");
    EXPECT_TRUE(s.IsInvalidArgument()) << "key '" << key << "': " << s.ToString();
  }
}

TEST_P(ObjectStoreContractTest, ConcurrentClients) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<Status> errors(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        std::string key = fmt::format("c/{}/{}", t, i);
        std::string value = fmt::format("value {} {}", t, i);
        Status s = store_->Put(key, value);
        if (s.ok()) {
          auto got = store_->Get(key);
          if (!got.ok()) s = got.status();
          else if (*got != value) s = Status::Corruption(fmt::format("wrong value for {}", key));
        }
        if (!s.ok() && errors[t].ok()) errors[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_TRUE(e.ok()) << e.ToString();
  EXPECT_EQ(store_->List("c/")->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(ObjectStoreContractTest, ConditionalWritesWhereEnforced) {
  auto enforced = store_->ConditionalWrites();
  ASSERT_TRUE(enforced.ok()) << enforced.status().ToString();
  if (!*enforced) {
    // Only s3rver ignores the headers; everything else must enforce them.
    ASSERT_EQ(GetParam(), "s3");
    ASSERT_FALSE(s3_.checks_signatures()) << s3_.kind() << " should enforce conditional writes";
    Status s = store_->PutIf("meta/epoch", "1", WriteCondition::kIfAbsent);
    EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
    EXPECT_TRUE(store_->Head("meta/epoch").status().IsNotFound()) << "nothing written when not enforced";
    return;
  }
  ASSERT_TRUE(store_->PutIf("meta/epoch", "1", WriteCondition::kIfAbsent).ok());
  Status exists = store_->PutIf("meta/epoch", "2", WriteCondition::kIfAbsent);
  EXPECT_TRUE(exists.IsAlreadyExists()) << exists.ToString();
  EXPECT_NE(exists.message().find("meta/epoch"), std::string::npos) << exists.ToString();
  std::string etag;
  auto got = store_->GetWithEtag("meta/epoch", &etag);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "1");
  EXPECT_EQ(etag, store_->Head("meta/epoch")->etag) << "GetWithEtag and Head agree";
  ASSERT_TRUE(store_->PutIf("meta/epoch", "3", WriteCondition::kIfMatch, etag).ok());
  Status stale = store_->PutIf("meta/epoch", "4", WriteCondition::kIfMatch, etag);
  EXPECT_TRUE(stale.IsAlreadyExists()) << "the etag read before the last write is stale: " << stale.ToString();
  EXPECT_EQ(*store_->Get("meta/epoch"), "3");
  Status missing = store_->PutIf("meta/none", "x", WriteCondition::kIfMatch, etag);
  EXPECT_TRUE(missing.IsAlreadyExists()) << missing.ToString();
  EXPECT_TRUE(store_->Head("meta/none").status().IsNotFound());
  // No probe objects are left behind.
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  for (const auto& o : *listed) EXPECT_EQ(o.key.find("probe"), std::string::npos) << o.key;
}

TEST_P(ObjectStoreContractTest, ConcurrentConditionalCreatesHaveOneWinner) {
  if (!*store_->ConditionalWrites()) GTEST_SKIP() << "this service ignores conditional writes";
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] { results[t] = store_->PutIf("meta/owner", fmt::format("{}", t), WriteCondition::kIfAbsent); });
  }
  for (auto& th : threads) th.join();
  int winners = 0;
  for (int t = 0; t < kThreads; t++) {
    if (results[t].ok()) {
      winners++;
      EXPECT_EQ(*store_->Get("meta/owner"), fmt::format("{}", t));
    } else {
      EXPECT_TRUE(results[t].IsAlreadyExists()) << results[t].ToString();
    }
  }
  EXPECT_EQ(winners, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreContractTest, ::testing::Values("local-posix", "local-mem", "mem", "s3"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& c : name) if (c == '-') c = '_';
                           return name;
                         });

TEST(LocalObjectStoreTest, InterruptedWritesAreInvisibleAndCleanedUp) {
  MemFileSystem fs;
  {
    auto store = LocalObjectStore::Open(&fs, "/bucket");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put("k", "v").ok());
  }
  // A crash mid-write leaves a file under .incoming/.
  ASSERT_TRUE(WriteStringToFile(&fs, "partial", "/bucket/.incoming/123-x-0", false).ok());
  auto store = LocalObjectStore::Open(&fs, "/bucket");
  ASSERT_TRUE(store.ok());
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "k");
  EXPECT_FALSE(fs.FileExists("/bucket/.incoming/123-x-0"));
}

TEST(LocalObjectStoreTest, FailedConditionalWritesLeaveTheObjectAsItWas) {
  MemFileSystem base;
  FaultInjectionFileSystem fs(&base);
  auto store = LocalObjectStore::Open(&fs, "/bucket");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->PutIf("meta/epoch", "1", WriteCondition::kIfAbsent).ok());
  std::string etag;
  ASSERT_TRUE((*store)->GetWithEtag("meta/epoch", &etag).ok());
  // Each file-system call of a conditional replace fails once, in turn.
  for (FaultOp op : {FaultOp::kCreate, FaultOp::kAppend, FaultOp::kSync, FaultOp::kRename, FaultOp::kSyncDir,
                     FaultOp::kRead}) {
    SCOPED_TRACE(std::string(FaultOpName(op)));
    fs.FailNth(op, 1, Status::IOError("injected"));
    Status s = (*store)->PutIf("meta/epoch", "2", WriteCondition::kIfMatch, etag);
    fs.ClearFaults();
    if (op == FaultOp::kSyncDir) {
      // The rename happened; only its durability is in doubt.
      EXPECT_TRUE(s.IsIOError()) << s.ToString();
      ASSERT_TRUE((*store)->Put("meta/epoch", "1").ok());
      continue;
    }
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(s.message().find("meta/epoch"), std::string::npos) << s.ToString();
    EXPECT_EQ(*(*store)->Get("meta/epoch"), "1");
  }
  // A lock held elsewhere (another process on the same root) makes it wait, then give up.
  auto held = fs.LockFile("/bucket/.cas.lock");
  ASSERT_TRUE(held.ok());
  Status locked = (*store)->PutIf("meta/epoch", "3", WriteCondition::kIfMatch, etag);
  EXPECT_TRUE(locked.IsLocked()) << locked.ToString();
  held->reset();
  EXPECT_TRUE((*store)->PutIf("meta/epoch", "3", WriteCondition::kIfMatch, etag).ok());
  EXPECT_EQ((*store)->List("")->size(), 1u) << "the lock file is not an object";
}

TEST(MemObjectStoreTest, ConditionalWritesCanBeIgnoredLikeS3rver) {
  MemObjectStore store;
  store.SetConditionalWrites(false);
  EXPECT_FALSE(*store.ConditionalWrites());
  EXPECT_TRUE(store.PutIf("k", "v", WriteCondition::kIfAbsent).IsNotSupported());
  store.SetConditionalWrites(true);
  EXPECT_TRUE(store.PutIf("k", "v", WriteCondition::kIfAbsent).ok());
}

TEST(MemObjectStoreTest, FaultInjection) {
  MemObjectStore store;
  store.FailNth(ObjectOp::kPut, 2, Status::Unavailable("injected"));
  EXPECT_TRUE(store.Put("a", "1").ok());
  EXPECT_TRUE(store.Put("b", "2").IsUnavailable());
  EXPECT_TRUE(store.Put("c", "3").ok()) << "not sticky";
  EXPECT_TRUE(store.Head("b").status().IsNotFound());

  store.FailUploadMidway(1);
  Status s = store.Put("a", "new value");
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(*store.Get("a"), "1") << "a failed upload leaves the old object";

  ASSERT_TRUE(store.CorruptObject("c", 0, 1).ok());
  EXPECT_NE(*store.Get("c"), "3");
  ASSERT_TRUE(store.DropObject("c").ok());
  EXPECT_TRUE(store.Get("c").status().IsNotFound());

  store.FailNth(ObjectOp::kGet, 1, Status::TimedOut("injected"), /*sticky=*/true);
  EXPECT_TRUE(store.Get("a").status().IsTimedOut());
  EXPECT_TRUE(store.GetRange("a", 0, 1).status().IsTimedOut());
  store.ClearFaults();
  EXPECT_TRUE(store.Get("a").ok());
  EXPECT_EQ(store.calls(ObjectOp::kPut), 4u);
  EXPECT_EQ(store.calls(ObjectOp::kGet), 4u + 2u);  // includes the checks above
}

// A TCP listener that completes handshakes but never answers: requests to it
// time out.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 16);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

// A port on 127.0.0.1 nobody listens on.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

S3Options LoopbackOptions(int port) {
  S3Options o;
  o.endpoint = fmt::format("http://127.0.0.1:{}", port);
  o.bucket = "bucket";
  o.access_key = "test-access-key";
  o.secret_key = "test-secret-key";
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 300;
  o.max_retries = 2;
  o.retry_base_delay_ms = 1;
  o.retry_max_delay_ms = 2;
  return o;
}

TEST(S3ObjectStoreTest, UnreachableIsUnavailableAfterRetries) {
  auto store = S3ObjectStore::Open(LoopbackOptions(ClosedPort()));
  ASSERT_TRUE(store.ok());
  Status s = (*store)->Put("k", "v");
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("s3://bucket/"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("put k"), std::string::npos) << s.ToString();
  EXPECT_EQ((*store)->requests_sent(), 3u) << "one attempt plus max_retries";
}

TEST(S3ObjectStoreTest, SilentServerTimesOut) {
  SilentServer server;
  auto store = S3ObjectStore::Open(LoopbackOptions(server.port()));
  ASSERT_TRUE(store.ok());
  Status s = (*store)->Head("k").status();
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_EQ((*store)->requests_sent(), 3u);
}

TEST(S3ObjectStoreTest, OpenExplainsMissingSettings) {
  S3Options o;
  o.bucket = "b";
  EXPECT_NE(S3ObjectStore::Open(o).status().message().find("endpoint"), std::string::npos);
  o.endpoint = "ftp://x";
  EXPECT_TRUE(S3ObjectStore::Open(o).status().IsInvalidArgument());
  o.endpoint = "http://127.0.0.1:1";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  Status s = S3ObjectStore::Open(o).status();
  EXPECT_NE(s.message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << s.ToString();
  ::setenv("AWS_ACCESS_KEY_ID", "from-env", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  EXPECT_TRUE(S3ObjectStore::Open(o).ok());
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

// Starts the test's S3 service (see s3_test_server.h) or skips loudly.
#define EBB_START_S3(server, tmp)                                                      \
  do {                                                                                 \
    bool unavailable_ = false;                                                         \
    std::string error_ = (server).Start((tmp).Sub("s3rver"), testing::SourceDir(), &unavailable_); \
    if (unavailable_) EBB_S3_SKIP_OR_FAIL(error_);                                     \
    ASSERT_EQ(error_, "");                                                             \
  } while (0)

TEST(S3ObjectStoreTest, CredentialsFromTheSharedCredentialsFile) {
  testing::TempDir tmp;
  const std::string path = tmp.Sub("credentials");
  {
    std::ofstream f(path);
    f << "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n"
         "; another\n[backup]\naws_access_key_id=AKIABACKUP\n  aws_secret_access_key =  backup-secret  \n"
         "aws_session_token = token-1\n[half]\naws_access_key_id = AKIAHALF\n";
  }
  S3Options o;
  ASSERT_TRUE(ReadSharedCredentials(path, "backup", &o).ok());
  EXPECT_EQ(o.access_key, "AKIABACKUP");
  EXPECT_EQ(o.secret_key, "backup-secret");
  EXPECT_EQ(o.session_token, "token-1");
  ASSERT_TRUE(ReadSharedCredentials(path, "default", &o).ok());
  EXPECT_EQ(o.access_key, "AKIADEFAULT");
  EXPECT_EQ(o.session_token, "");
  // Errors name the file and profile, and never a key.
  Status missing = ReadSharedCredentials(path, "nosuch", &o);
  EXPECT_TRUE(missing.IsNotFound());
  EXPECT_NE(missing.message().find("[nosuch]"), std::string::npos) << missing.ToString();
  Status half = ReadSharedCredentials(path, "half", &o);
  EXPECT_TRUE(half.IsInvalidArgument());
  EXPECT_EQ(half.ToString().find("AKIAHALF"), std::string::npos) << half.ToString();
  Status absent = ReadSharedCredentials(tmp.Sub("nofile"), "default", &o);
  EXPECT_TRUE(absent.IsNotFound());
  EXPECT_NE(absent.message().find("nofile"), std::string::npos) << absent.ToString();

  // Open falls back to the file (named, or by AWS_SHARED_CREDENTIALS_FILE)
  // when neither the options nor the environment give keys.
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  S3Options open;
  open.endpoint = "http://127.0.0.1:1";
  open.bucket = "b";
  open.credentials_file = path;
  open.profile = "backup";
  EXPECT_TRUE(S3ObjectStore::Open(open).ok());
  open.profile = "nosuch";
  Status s = S3ObjectStore::Open(open).status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("s3://b"), std::string::npos) << s.ToString();
  open.credentials_file = "";
  open.profile = "";
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", path.c_str(), 1);
  EXPECT_TRUE(S3ObjectStore::Open(open).ok());
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", tmp.Sub("nofile").c_str(), 1);
  EXPECT_TRUE(S3ObjectStore::Open(open).status().IsNotFound());
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

TEST(S3ObjectStoreTest, AgainstS3CredentialsFromTheFile) {
  testing::TempDir tmp;
  testing::S3TestServer s3;
  EBB_START_S3(s3, tmp);
  S3Options o = s3.Options("p");
  const std::string path = tmp.Sub("credentials");
  {
    std::ofstream f(path);
    f << "[ebb]\naws_access_key_id = " << o.access_key << "\naws_secret_access_key = " << o.secret_key << "\n";
  }
  o.access_key.clear();
  o.secret_key.clear();
  o.credentials_file = path;
  o.profile = "ebb";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  auto store = S3ObjectStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("k", "v").ok());
  EXPECT_EQ(*(*store)->Get("k"), "v");
}

TEST(S3ObjectStoreTest, AgainstS3WrongAccessKeyIsPermissionDenied) {
  testing::TempDir tmp;
  testing::S3TestServer s3;
  EBB_START_S3(s3, tmp);
  S3Options o = s3.Options("p");
  o.access_key = "NOT-A-KEY";
  auto store = S3ObjectStore::Open(o);
  ASSERT_TRUE(store.ok());
  Status s = (*store)->Put("k", "v");
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("access key"), std::string::npos) << s.ToString();
  EXPECT_EQ((*store)->requests_sent(), 1u) << "credential errors are not retried";
}

TEST(S3ObjectStoreTest, AgainstS3WrongSecretKeyIsPermissionDenied) {
  testing::TempDir tmp;
  testing::S3TestServer s3;
  EBB_START_S3(s3, tmp);
  if (!s3.checks_signatures()) GTEST_SKIP() << s3.kind() << " accepts any secret key; nothing to check";
  S3Options o = s3.Options("p");
  o.secret_key = "not-the-secret";
  auto store = S3ObjectStore::Open(o);
  ASSERT_TRUE(store.ok());
  Status s = (*store)->Put("k", "v");
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s.ToString();
  Status got = (*store)->Get("k").status();
  EXPECT_TRUE(got.IsPermissionDenied()) << got.ToString();
}

TEST(S3ObjectStoreTest, AgainstS3ListPagesPastOneThousand) {
  testing::TempDir tmp;
  testing::S3TestServer s3;
  EBB_START_S3(s3, tmp);
  auto store = S3ObjectStore::Open(s3.Options("paged"));
  ASSERT_TRUE(store.ok());
  constexpr int kObjects = 1'003;
  // In parallel: a real gateway takes tens of milliseconds per put.
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<Status> errors(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kObjects && errors[t].ok(); i += kThreads) errors[t] = (*store)->Put(fmt::format("many/{:05d}", i), "x");
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) ASSERT_TRUE(e.ok()) << e.ToString();
  uint64_t before = (*store)->requests_sent();
  auto listed = (*store)->List("many/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kObjects));
  EXPECT_EQ(listed->front().key, "many/00000");
  EXPECT_EQ(listed->back().key, fmt::format("many/{:05d}", kObjects - 1));
  EXPECT_EQ((*store)->requests_sent() - before, 2u) << "two pages of at most 1,000 keys";
}

TEST(ObjectKeyTest, Validation) {
  EXPECT_TRUE(ValidateObjectKey("s", "archives/01H.tar").ok());
  EXPECT_TRUE(ValidateObjectKey("s", "a/./b").IsInvalidArgument());
  EXPECT_EQ(AwsUriEncode("a b/c+d~", true), "a%20b/c%2Bd~");
  EXPECT_EQ(AwsUriEncode("a/b", false), "a%2Fb");
}

}  // namespace
}  // namespace ebb
