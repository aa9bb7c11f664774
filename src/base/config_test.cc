#include "base/config.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ebb {
namespace {

std::shared_ptr<ConfigSchema> TestSchema() {
  auto schema = std::make_shared<ConfigSchema>();
  schema->Add({.section = "journal", .key = "sync", .type = SettingType::kEnum, .default_value = "batch",
               .runtime = false, .description = "durability", .choices = {"always", "batch", "none"}});
  schema->Add({.section = "journal", .key = "segment_bytes", .type = SettingType::kBytes,
               .default_value = "64MiB", .unit = "bytes", .runtime = true, .description = "size", .min = 4096});
  schema->Add({.section = "smoosh", .key = "db_channels", .type = SettingType::kList,
               .default_value = "ratio_dbs,slack_dbs", .runtime = true, .description = "channels"});
  schema->Add({.section = "smoosh.*", .key = "capacity", .type = SettingType::kInt, .default_value = "9999",
               .runtime = true, .description = "queue size", .min = 0});
  schema->Add({.section = "smoosh.*", .key = "min_priority", .type = SettingType::kDouble, .runtime = true,
               .description = "threshold"});
  schema->Add({.section = "smoosh.*", .key = "from", .type = SettingType::kTimeOfDay, .default_value = "00:00",
               .runtime = true, .description = "window start"});
  return schema;
}

TEST(ConfigTest, DefaultsAndNormalization) {
  Config config(TestSchema());
  EXPECT_EQ(config.GetString("journal", "sync"), "batch");
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), 64 << 20);
  ASSERT_TRUE(config.Set("journal", "segment_bytes", "1 GiB", true).ok());
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), int64_t{1} << 30);
  EXPECT_EQ(config.GetList("smoosh", "db_channels"), (std::vector<std::string>{"ratio_dbs", "slack_dbs"}));
}

TEST(ConfigTest, PatternSectionsAndSectionDefaults) {
  Config config(TestSchema());
  EXPECT_EQ(config.GetInt("smoosh.ratio_dbs", "capacity"), 9999);
  config.SetSectionDefault("smoosh.slack_dbs", "min_priority", "536870912");
  EXPECT_DOUBLE_EQ(config.GetDouble("smoosh.slack_dbs", "min_priority"), 536870912.0);
  ASSERT_TRUE(config.Set("smoosh.slack_dbs", "min_priority", "inf", true).ok());
  EXPECT_TRUE(std::isinf(config.GetDouble("smoosh.slack_dbs", "min_priority")));
}

TEST(ConfigTest, ErrorsSayWhatAndWhere) {
  Config config(TestSchema());
  Status s = config.Set("journal", "sync", "sometimes", false);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("journal.sync"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("always, batch, none"), std::string::npos) << s.ToString();

  s = config.Set("journal", "sync", "always", /*at_runtime=*/true);
  EXPECT_NE(s.message().find("restart"), std::string::npos) << s.ToString();

  s = config.Set("journal", "segment_bytes", "12", true);
  EXPECT_NE(s.message().find("minimum"), std::string::npos) << s.ToString();

  s = config.Set("nope", "x", "1", false);
  EXPECT_NE(s.message().find("unknown setting nope.x"), std::string::npos);

  s = config.Set("smoosh.ratio_dbs", "from", "25:00", true);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST(ConfigTest, TomlLoadValidatesEverythingBeforeApplying) {
  Config config(TestSchema());
  Status s = config.LoadTomlString(
      "[journal]\nsegment_bytes = \"8MiB\"\n\n[smoosh]\ndb_channels = [\"a\", \"b\"]\n"
      "[smoosh.a]\ncapacity = 10\nbogus = 1\n",
      "test.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("test.toml line 8"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("smoosh.a.bogus"), std::string::npos) << s.ToString();
  // Nothing applied.
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), 64 << 20);

  ASSERT_TRUE(config.LoadTomlString("[journal]\nsegment_bytes = \"8MiB\"\n[smoosh]\ndb_channels = [\"a\", \"b\"]\n"
                                    "[smoosh.a]\ncapacity = 10\n",
                                    "test.toml")
                  .ok());
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), 8 << 20);
  EXPECT_EQ(config.GetInt("smoosh.a", "capacity"), 10);
  EXPECT_EQ(config.GetList("smoosh", "db_channels"), (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  Config config(TestSchema());
  Status s = config.LoadTomlString("[journal\nsync = 1\n", "bad.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad.toml line 1"), std::string::npos) << s.ToString();
}

TEST(ConfigTest, ListenersSeeRuntimeChanges) {
  Config config(TestSchema());
  std::vector<std::string> seen;
  int id = config.Subscribe("smoosh", [&](const std::string& section, const std::string& key) {
    seen.push_back(section + "." + key);
  });
  ASSERT_TRUE(config.Set("smoosh.ratio_dbs", "capacity", "5", true).ok());
  ASSERT_TRUE(config.Set("journal", "segment_bytes", "8MiB", true).ok());
  ASSERT_TRUE(config.SetDotted("smoosh.db_channels", "x", true).ok());
  config.Unsubscribe(id);
  ASSERT_TRUE(config.Set("smoosh.ratio_dbs", "capacity", "6", true).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"smoosh.ratio_dbs.capacity", "smoosh.db_channels"}));
}

TEST(ConfigTest, SetManyIsValidatedAsAWholeAndAppliedAllOrNone) {
  Config config(TestSchema());
  // The owner of smoosh.*: a channel's capacity must be at least 10 unless
  // its min_priority is set.
  int validator = config.AddValidator("smoosh", [](const Config& candidate) {
    if (candidate.GetInt("smoosh.ratio_dbs", "capacity") < 10 &&
        candidate.GetDouble("smoosh.ratio_dbs", "min_priority") == 0) {
      return Status::InvalidArgument("smoosh.ratio_dbs: capacity below 10 needs min_priority");
    }
    return Status::OK();
  });
  int calls = 0;
  config.Subscribe("smoosh", [&](const std::string&, const std::string&) { calls++; });
  // Refused by the owner: nothing is stored, no listener runs.
  Status refused = config.SetMany({{"journal", "segment_bytes", "8MiB"}, {"smoosh.ratio_dbs", "capacity", "5"}},
                                  /*at_runtime=*/true);
  EXPECT_TRUE(refused.IsInvalidArgument()) << refused.ToString();
  EXPECT_NE(refused.message().find("needs min_priority"), std::string::npos);
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), 64 << 20);
  EXPECT_EQ(config.GetInt("smoosh.ratio_dbs", "capacity"), 9999);
  EXPECT_EQ(calls, 0);
  // A bad value in any pair: nothing is stored either.
  EXPECT_FALSE(config.SetMany({{"journal", "segment_bytes", "8MiB"}, {"smoosh.ratio_dbs", "capacity", "x"}}, true).ok());
  EXPECT_FALSE(config.SetMany({{"journal", "segment_bytes", "8MiB"}, {"journal", "sync", "none"}}, true).ok());
  EXPECT_EQ(config.GetInt("journal", "segment_bytes"), 64 << 20);
  // Together the pairs are valid, though the first alone is not; the
  // listener runs once, after both are stored.
  ASSERT_TRUE(config.SetMany({{"smoosh.ratio_dbs", "capacity", "5"}, {"smoosh.ratio_dbs", "min_priority", "2"}}, true)
                  .ok());
  EXPECT_EQ(config.GetInt("smoosh.ratio_dbs", "capacity"), 5);
  EXPECT_EQ(calls, 1);
  // The validator sees the values committed before, not the defaults.
  EXPECT_FALSE(config.Set("smoosh.ratio_dbs", "min_priority", "0", true).ok());
  EXPECT_DOUBLE_EQ(config.GetDouble("smoosh.ratio_dbs", "min_priority"), 2);
  config.RemoveValidator(validator);
  EXPECT_TRUE(config.Set("smoosh.ratio_dbs", "min_priority", "0", true).ok());
}

TEST(ConfigTest, SecretsAreShownOnlyAsSetOrUnset) {
  auto schema = TestSchema();
  schema->Add({.section = "server", .key = "requirepass", .type = SettingType::kString, .runtime = true,
               .description = "password", .secret = true});
  schema->Add({.section = "server", .key = "port", .type = SettingType::kInt, .default_value = "1", .runtime = true,
               .description = "port", .min = 1, .secret = true});
  Config config(schema);
  EXPECT_EQ(*config.GetDisplay("server", "requirepass"), "");
  ASSERT_TRUE(config.Set("server", "requirepass", "hunter2-planted", true).ok());
  EXPECT_EQ(config.GetString("server", "requirepass"), "hunter2-planted");  // inside the process
  EXPECT_EQ(*config.GetDisplay("server", "requirepass"), "(set)");
  for (const auto& e : config.Effective()) {
    EXPECT_EQ(e.value.find("hunter2"), std::string::npos) << e.section << "." << e.key;
  }
  // Errors do not quote a secret's value.
  Status bad = config.Set("server", "port", "hunter2-planted", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.ToString().find("hunter2"), std::string::npos) << bad.ToString();
  Status file = config.LoadTomlString("[server]\nport = \"hunter2-planted\"\n", "s.toml");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.ToString().find("hunter2"), std::string::npos) << file.ToString();
  EXPECT_NE(file.ToString().find("s.toml line 2"), std::string::npos) << file.ToString();
  EXPECT_NE(schema->ReferenceMarkdown().find("Secret: write-only"), std::string::npos);
}

TEST(ConfigTest, ParseHelpers) {
  EXPECT_EQ(*ParseBytes("1048576"), 1048576);
  EXPECT_EQ(*ParseBytes("1.5 KiB"), 1536);
  EXPECT_FALSE(ParseBytes("12 parsecs").ok());
  // The stored form of "infinity" reads back exactly; one more is too large.
  EXPECT_EQ(*ParseBytes("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(ParseBytes("9223372036854775808").ok());
  EXPECT_EQ(*ParseTimeOfDay("23:30"), 23 * 60 + 30);
  EXPECT_EQ(*ParseTimeOfDay("24:00"), 24 * 60);
  EXPECT_FALSE(ParseTimeOfDay("3:5").ok());
  EXPECT_FALSE(ParseTimeOfDay("noon").ok());
}

}  // namespace
}  // namespace ebb
