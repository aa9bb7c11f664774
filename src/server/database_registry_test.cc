#include "server/database_registry.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "engine/engine.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

class DatabaseRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.data_dir = "/store";
    o.Set("store.max_databases", "5");
    auto store = OpenStore(o, EngineEnv{&fs_, nullptr});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  MemFileSystem fs_;
  std::unique_ptr<Store> store_;
};

TEST_F(DatabaseRegistryTest, KeepsTheMostRecentlyUsedHandlesOnly) {
  DatabaseRegistry registry(store_.get(), /*max_cached=*/2);
  for (int i = 0; i < 4; i++) {
    auto db = registry.GetOrCreate(fmt::format("db{}", i));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put("k", fmt::format("v{}", i)).ok());
  }
  EXPECT_EQ(registry.cached(), 2u);
  // Dropped handles are looked up again: nothing is lost.
  for (int i = 0; i < 4; i++) {
    auto db = registry.Find(fmt::format("db{}", i));
    ASSERT_TRUE(db.ok() && *db);
    EXPECT_EQ(*(*db)->Get("k"), fmt::format("v{}", i));
  }
  EXPECT_EQ(registry.cached(), 2u);
  // A use keeps a handle: db3 was used last, db0 is dropped next.
  ASSERT_TRUE(registry.Find("db3").ok());
  ASSERT_TRUE(registry.Find("db0").ok());
  EXPECT_EQ(registry.cached(), 2u);
  // Reads of a database that does not exist neither create nor cache it.
  auto absent = registry.Find("never");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);
  EXPECT_EQ(store_->ListDatabases().size(), 4u);
}

TEST_F(DatabaseRegistryTest, CreatingPastMaxDatabasesFailsClearly) {
  DatabaseRegistry registry(store_.get());
  for (int i = 0; i < 5; i++) ASSERT_TRUE(registry.GetOrCreate(fmt::format("db{}", i)).ok());
  auto sixth = registry.GetOrCreate("db5");
  ASSERT_FALSE(sixth.ok());
  EXPECT_TRUE(sixth.status().IsInvalidArgument());
  EXPECT_NE(sixth.status().message().find("store.max_databases (5)"), std::string::npos) << sixth.status().ToString();
  EXPECT_NE(sixth.status().message().find("'db5'"), std::string::npos) << sixth.status().ToString();
  // Existing ones still open; a dropped one makes room; the limit changes
  // at run time.
  EXPECT_TRUE(registry.GetOrCreate("db4").ok());
  ASSERT_TRUE(registry.Flush("db0").ok());
  EXPECT_TRUE(registry.GetOrCreate("db5").ok());
  EXPECT_FALSE(registry.GetOrCreate("db6").ok());
  ASSERT_TRUE(store_->SetConfig("store", "max_databases", "6").ok());
  EXPECT_TRUE(registry.GetOrCreate("db6").ok());
  EXPECT_EQ(store_->ListDatabases().size(), 6u);
}

}  // namespace
}  // namespace ebb
