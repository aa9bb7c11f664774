// WATCH and EXEC against writes in flight, with the server's key locks held
// by the test: what python clients cannot make happen on purpose.

#include <gtest/gtest.h>

#include "base/test_util.h"
#include "ebb/store.h"
#include "engine/engine.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"
#include "server/admin_ops.h"
#include "server/resp_client.h"
#include "server/resp_server.h"
#include "server/server_core.h"
#include "server/server_settings.h"

namespace ebb {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(nullptr); }

  // Restarts on `fs` (null: the real file system in a temporary directory).
  void Start(FileSystem* fs) {
    TearDown();
    Options o;
    o.data_dir = fs != nullptr ? "/store" : dir_.Sub("data");
    auto store = OpenStore(o, EngineEnv{fs, nullptr});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ServerSettings settings;
    settings.port = 0;
    settings.admin_port = 0;
    auto core = ServerCore::Create(store_.get(), settings, NewEngineAdminOps(store_.get()), SystemClock());
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    core_ = std::move(*core);
    auto resp = RespServer::Start(core_.get());
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    resp_ = std::move(*resp);
  }

  void TearDown() override {
    if (resp_) resp_->Stop();
    resp_.reset();
    core_.reset();
    if (store_) (void)store_->Close();  // a store made read-only reports it again here
    store_.reset();
  }

  std::unique_ptr<RespClient> Connect() {
    auto c = RespClient::Connect("127.0.0.1", resp_->port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  RespValue Call(RespClient* c, const std::vector<std::string>& args) {
    auto r = c->Command(args);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RespValue();
  }

  testing::TempDir dir_;
  // For the tests that fail the disk (declared before the store: outlive it).
  MemFileSystem mem_;
  FaultInjectionFileSystem fs_{&mem_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ServerCore> core_;
  std::unique_ptr<RespServer> resp_;
};

// A WATCH of a key a write holds waits for that write (its batch and its
// Touch) and registers after it: the write is not taken for a change made
// after the WATCH, and the value read after the WATCH is the written one.
TEST_F(TransactionTest, WatchOfAKeyAWriteHoldsRegistersAfterThatWrite) {
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(Call(c.get(), {"SET", "k", "before"}).str, "OK");
  {
    // A write in flight: it holds k's stripe across its batch and its Touch.
    std::optional<KeyLocks::Guard> write = core_->key_locks().TryLock({{"k", false}});
    ASSERT_TRUE(write.has_value());
    ASSERT_TRUE(c->SendRaw(EncodeCommand({"WATCH", "k"})).ok());
    auto db = core_->registry().GetOrCreate("0");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Put(WriteOptions(), "k", "in flight").ok());
    core_->watches().Touch("0", {"k"});
  }
  auto watched = c->ReadReply();
  ASSERT_TRUE(watched.ok()) << watched.status().ToString();
  EXPECT_EQ(watched->str, "OK");
  EXPECT_EQ(core_->watches().watched_keys(), 1u);
  EXPECT_EQ(Call(c.get(), {"MULTI"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"GET", "k"}).str, "QUEUED");
  RespValue exec = Call(c.get(), {"EXEC"});
  ASSERT_EQ(exec.type, RespValue::Type::kArray) << exec.str;
  ASSERT_EQ(exec.elements.size(), 1u);
  EXPECT_EQ(exec.elements[0].str, "in flight");
  EXPECT_EQ(core_->watches().watched_keys(), 0u) << "EXEC ends the watch";
}

// A write after WATCH, even one that finishes while EXEC waits for the
// keys, makes EXEC answer nil.
TEST_F(TransactionTest, ExecWaitsForAWriteHoldingAWatchedKeyAndSeesIt) {
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(Call(c.get(), {"WATCH", "w"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"SET", "other", "1"}).str, "QUEUED");
  {
    std::optional<KeyLocks::Guard> write = core_->key_locks().TryLock({{"w", false}});
    ASSERT_TRUE(write.has_value());
    ASSERT_TRUE(c->SendRaw(EncodeCommand({"EXEC"})).ok());
    core_->watches().Touch("0", {"w"});
  }
  auto exec = c->ReadReply();
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  EXPECT_EQ(exec->type, RespValue::Type::kNullArray);
  EXPECT_EQ(Call(c.get(), {"EXISTS", "other"}).integer, 0);
}

// A transaction whose batch cannot be written (the disk is full) answers
// the store's error, and none of its writes is visible.
TEST_F(TransactionTest, ExecThatCannotWriteAnswersTheErrorAndWritesNothing) {
  Start(&fs_);
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(Call(c.get(), {"SET", "a", "1"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"MULTI"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"INCR", "a"}).str, "QUEUED");
  EXPECT_EQ(Call(c.get(), {"SET", "b", "x"}).str, "QUEUED");
  fs_.SetSpaceBudget(0);
  RespValue exec = Call(c.get(), {"EXEC"});
  ASSERT_EQ(exec.type, RespValue::Type::kError);
  EXPECT_TRUE(exec.str.rfind("ERR NoSpace", 0) == 0 || exec.str.rfind("ERR IOError", 0) == 0) << exec.str;
  EXPECT_EQ(Call(c.get(), {"GET", "a"}).str, "1");
  EXPECT_EQ(Call(c.get(), {"GET", "b"}).type, RespValue::Type::kNullBulk);
  // The store is read-only now: the next transaction says so, and reads go on.
  fs_.ClearSpaceBudget();
  EXPECT_EQ(Call(c.get(), {"MULTI"}).str, "OK");
  EXPECT_EQ(Call(c.get(), {"SET", "b", "y"}).str, "QUEUED");
  RespValue again = Call(c.get(), {"EXEC"});
  ASSERT_EQ(again.type, RespValue::Type::kError);
  EXPECT_NE(again.str.find("read-only"), std::string::npos) << again.str;
  EXPECT_EQ(Call(c.get(), {"MGET", "a", "b"}).elements[0].str, "1");
}

}  // namespace
}  // namespace ebb
