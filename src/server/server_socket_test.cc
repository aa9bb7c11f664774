// The server over real loopback sockets: commands, pipelining, and hostile
// input that must get an error and a closed connection while the server
// keeps serving everyone else.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "base/test_util.h"
#include "ebb/store.h"
#include "server/resp_client.h"
#include "server/server.h"

namespace ebb {
namespace {

class ServerSocketTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    Options o;
    o.data_dir = dir_.Sub("data");
    o.Set("server.port", "0");
    o.Set("server.admin_port", "0");
    o.Set("server.max_bulk_bytes", "65536");
    o.Set("server.max_query_buffer_bytes", "131072");
    for (auto& kv : overrides) o.Set(kv.first, kv.second);
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto server = Server::Start(store_.get());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (store_) EXPECT_TRUE(store_->Close().ok());
  }

  std::unique_ptr<RespClient> Connect() {
    auto c = RespClient::Connect("127.0.0.1", server_->port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  RespValue Call(RespClient* c, const std::vector<std::string>& args) {
    auto r = c->Command(args);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RespValue();
  }

  // The server answered `bad` with an error starting with `error` and
  // closed the connection, and still serves a new client.
  void ExpectRejected(const std::string& bad, const std::string& error) {
    auto c = Connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->SendRaw(bad).ok());
    auto reply = c->ReadReply();
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_TRUE(reply->is_error());
    EXPECT_EQ(reply->str.substr(0, error.size()), error) << reply->str;
    EXPECT_TRUE(c->WaitForClose());
    auto other = Connect();
    EXPECT_EQ(Call(other.get(), {"PING"}).str, "PONG");
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerSocketTest, CommandsAnswerLikeRedis) {
  Start();
  auto c = Connect();
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}).str, "v");
  EXPECT_EQ(Call(c.get(), {"GET", "missing"}).type, RespValue::Type::kNullBulk);
  EXPECT_EQ(Call(c.get(), {"SET", "k", "w", "NX"}).type, RespValue::Type::kNullBulk);
  EXPECT_EQ(Call(c.get(), {"SET", "k", "w", "XX", "GET"}).str, "v");
  EXPECT_EQ(Call(c.get(), {"DEL", "k", "k", "nope"}).integer, 1);
  EXPECT_EQ(Call(c.get(), {"EXISTS", "k"}).integer, 0);
  EXPECT_EQ(Call(c.get(), {"NOSUCH", "a"}).str, "ERR unknown command 'NOSUCH', with args beginning with: 'a' ");
  EXPECT_EQ(Call(c.get(), {"GET"}).str, "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "EX", "10"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"TTL", "k"}).integer, 10);
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v", "EX", "0"}).str, "ERR invalid expire time in 'set' command");
}

TEST_F(ServerSocketTest, PipelinedCommandsReplyInOrderAndSeeEarlierWrites) {
  Start();
  auto c = Connect();
  std::string pipeline;
  const int n = 500;
  for (int i = 0; i < n; i++) {
    pipeline += EncodeCommand({"SET", fmt::format("k{}", i), fmt::format("v{}", i)});
    pipeline += EncodeCommand({"GET", fmt::format("k{}", i)});
    pipeline += EncodeCommand({"SET", fmt::format("k{}", i), "again", "NX"});
  }
  pipeline += EncodeCommand({"DBSIZE"});
  ASSERT_TRUE(c->SendRaw(pipeline).ok());
  for (int i = 0; i < n; i++) {
    auto set = c->ReadReply();
    auto get = c->ReadReply();
    auto nx = c->ReadReply();
    ASSERT_TRUE(set.ok() && get.ok() && nx.ok());
    EXPECT_EQ(set->str, "OK");
    EXPECT_EQ(get->str, fmt::format("v{}", i));
    EXPECT_EQ(nx->type, RespValue::Type::kNullBulk);
  }
  auto size = c->ReadReply();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->integer, n);
}

TEST_F(ServerSocketTest, ReadsOfManyConnectionsEachGetTheirOwnValues) {
  Start();
  auto writer = Connect();
  constexpr int kClients = 12, kKeys = 100;
  for (int c = 0; c < kClients; c++) {
    for (int k = 0; k < kKeys; k++) {
      ASSERT_EQ(Call(writer.get(), {"SET", fmt::format("c{}k{}", c, k), fmt::format("value-{}-{}", c, k)}).str, "OK");
    }
  }
  // Everything is sent before anything is read, so the server sees the
  // clients' reads together (and merges them into shared ReadPool tasks).
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int c = 0; c < kClients; c++) {
    clients.push_back(Connect());
    std::string pipeline;
    for (int k = 0; k < kKeys; k++) {
      pipeline += EncodeCommand({"GET", fmt::format("c{}k{}", c, k)});
      if (k % 10 == 0) pipeline += EncodeCommand({"MGET", fmt::format("c{}k{}", c, k), "absent", fmt::format("c{}k0", c)});
      if (k % 25 == 0) pipeline += EncodeCommand({"EXISTS", fmt::format("c{}k{}", c, k), "absent"});
    }
    ASSERT_TRUE(clients.back()->SendRaw(pipeline).ok());
  }
  for (int c = 0; c < kClients; c++) {
    for (int k = 0; k < kKeys; k++) {
      auto get = clients[c]->ReadReply();
      ASSERT_TRUE(get.ok());
      EXPECT_EQ(get->str, fmt::format("value-{}-{}", c, k));
      if (k % 10 == 0) {
        auto mget = clients[c]->ReadReply();
        ASSERT_TRUE(mget.ok());
        ASSERT_EQ(mget->elements.size(), 3u);
        EXPECT_EQ(mget->elements[0].str, fmt::format("value-{}-{}", c, k));
        EXPECT_EQ(mget->elements[1].type, RespValue::Type::kNullBulk);
        EXPECT_EQ(mget->elements[2].str, fmt::format("value-{}-0", c));
      }
      if (k % 25 == 0) {
        auto exists = clients[c]->ReadReply();
        ASSERT_TRUE(exists.ok());
        EXPECT_EQ(exists->integer, 1);
      }
    }
  }
}

TEST_F(ServerSocketTest, PipelinedInlineCommands) {
  Start();
  auto c = Connect();
  ASSERT_TRUE(c->SendRaw("SET a \"one two\"\r\nGET a\r\nECHO x\nQUIT\r\nPING\r\n").ok());
  std::vector<std::string> replies;
  for (int i = 0; i < 4; i++) {
    auto r = c->ReadReply();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replies.push_back(r->str);
  }
  EXPECT_EQ(replies, (std::vector<std::string>{"OK", "one two", "x", "OK"}));
  EXPECT_TRUE(c->WaitForClose());  // after QUIT; the PING is not answered
}

TEST_F(ServerSocketTest, BadBulkLength) {
  Start();
  ExpectRejected("*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length");
}

TEST_F(ServerSocketTest, HugeBulkLength) {
  Start();
  ExpectRejected("*2\r\n$3\r\nGET\r\n$99999999999\r\n", "ERR Protocol error: invalid bulk length");
  // Over server.max_bulk_bytes (64 KiB here) but a sane number.
  ExpectRejected("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$65537\r\n", "ERR Protocol error: invalid bulk length");
}

TEST_F(ServerSocketTest, HugeArrayLength) {
  Start();
  ExpectRejected("*99999999\r\n", "ERR Protocol error: invalid multibulk length");
}

TEST_F(ServerSocketTest, WrongLengthAndBinaryGarbage) {
  Start();
  ExpectRejected("*1\r\n$2\r\nPING\r\n", "ERR Protocol error: expected CRLF after bulk string");
  ExpectRejected("*2\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
  // Binary bytes with no newline: an inline request that never ends.
  std::string garbage = "X";
  for (int i = 0; i < 70000; i++) {
    char c = static_cast<char>((i * 7919) % 256);
    garbage.push_back(c == '\n' ? '\x01' : c);
  }
  ExpectRejected(garbage, "ERR Protocol error: too big inline request");
}

TEST_F(ServerSocketTest, QueryBufferLimit) {
  Start({{"server.max_bulk_bytes", "1MiB"}});
  // A bulk under max_bulk_bytes whose command outgrows the 128 KiB buffer.
  std::string big = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000\r\n" + std::string(200000, 'x');
  ExpectRejected(big, "ERR Protocol error: the unparsed query buffer holds");
}

TEST_F(ServerSocketTest, TruncatedFrameThenHangUpLeavesTheServerServing) {
  Start();
  {
    auto c = Connect();
    ASSERT_TRUE(c->SendRaw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc").ok());
  }  // hangs up mid-frame
  auto other = Connect();
  EXPECT_EQ(Call(other.get(), {"GET", "k"}).type, RespValue::Type::kNullBulk);
}

TEST_F(ServerSocketTest, MaxClients) {
  Start({{"server.max_clients", "2"}});
  auto a = Connect();
  auto b = Connect();
  EXPECT_EQ(Call(a.get(), {"PING"}).str, "PONG");
  EXPECT_EQ(Call(b.get(), {"PING"}).str, "PONG");
  auto c = Connect();
  auto reply = c->ReadReply();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->str, "ERR max number of clients reached");
  EXPECT_TRUE(c->WaitForClose());
  a.reset();
  // Once a slot frees, new clients are served again (the close may take a
  // moment to be seen by the server: retry a bounded number of times).
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; attempt++) {
    auto d = Connect();
    auto r = d->Command({"PING"});
    served = r.ok() && r->str == "PONG";
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerSocketTest, AuthIsRequiredBeforeCommands) {
  Start({{"server.requirepass", "s3cret"}});
  auto c = Connect();
  EXPECT_EQ(Call(c.get(), {"GET", "k"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(Call(c.get(), {"AUTH", "wrong"}).str.substr(0, 9), "WRONGPASS");
  EXPECT_EQ(Call(c.get(), {"AUTH", "s3cret"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}).str, "OK");
}

// Nice values of this process's threads named `prefix`* (from /proc).
std::vector<int> NiceOfThreads(const std::string& prefix) {
  std::vector<int> nices;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name.rfind(prefix, 0) != 0) continue;
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(entry.path().filename().string())));
    if (errno == 0) nices.push_back(nice);
  }
  return nices;
}

// A worker names itself, then applies its nice, once it runs: poll (bounded).
std::vector<int> AwaitNiceOfThreads(const std::string& prefix, const std::vector<int>& expected) {
  std::vector<int> nices = NiceOfThreads(prefix);
  for (int i = 0; i < 1000 && nices != expected; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    nices = NiceOfThreads(prefix);
  }
  return nices;
}

TEST_F(ServerSocketTest, WriteNiceSetsTheWriteThreadsCpuWeightAtStartAndAtRunTime) {
  Start({{"server.write_threads", "2"}, {"server.write_nice", "5"}});
  auto c = Connect();
  EXPECT_EQ(Call(c.get(), {"SET", "k", "v"}).str, "OK");  // the write threads have run
  EXPECT_EQ(AwaitNiceOfThreads("ebb-write-", {5, 5}), std::vector<int>({5, 5}));
  EXPECT_EQ(Call(c.get(), {"CONFIG", "SET", "server.write_nice", "7"}).str, "OK");
  EXPECT_EQ(NiceOfThreads("ebb-write-"), std::vector<int>({7, 7}));
  RespValue bad = Call(c.get(), {"CONFIG", "SET", "server.write_nice", "20"});
  EXPECT_TRUE(bad.is_error());
  EXPECT_NE(bad.str.find("server.write_nice"), std::string::npos) << bad.str;
  EXPECT_EQ(NiceOfThreads("ebb-write-"), std::vector<int>({7, 7}));
  EXPECT_EQ(Call(c.get(), {"GET", "k"}).str, "v");
}

// A loopback port free at the time of the call (the admin listener takes 0
// as "disabled", so a test that wants it needs a number).
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// The admin listener runs on a thread of its own; a server stopped before
// that thread reached its accept loop used to wait for it forever.
TEST_F(ServerSocketTest, AServerStoppedRightAfterItStartsStops) {
  for (int round = 0; round < 20; ++round) {
    Start({{"server.admin_port", std::to_string(FreeLoopbackPort())}});
    ASSERT_TRUE(server_);
    EXPECT_NE(server_->admin_port(), 0);
    server_->Stop();
    server_.reset();
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
  }
}

}  // namespace
}  // namespace ebb
