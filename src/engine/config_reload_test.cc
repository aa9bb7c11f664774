// Reloading the configuration file of an open store (SIGHUP to `ebb serve`)
// and the commented template of every setting (`ebb config template`).

#include "engine/config_reload.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/test_util.h"
#include "engine/admin.h"
#include "engine/engine_settings.h"

namespace ebb {
namespace {

class ConfigReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = tmp_.Sub("data");
    options_.config_file = tmp_.Sub("ebb.toml");
  }

  void WriteConfig(const std::string& text) {
    std::ofstream out(options_.config_file, std::ios::trunc);
    out << text;
  }

  std::unique_ptr<Store> Open() {
    auto store = Store::Open(options_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string Get(Store* store, const char* section, const char* key) {
    auto v = store->GetConfig(section, key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }

  static std::vector<std::string> Names(const std::vector<ConfigChange>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes) out.push_back(c.setting);
    return out;
  }

  static std::string Dump(Store* store) {
    std::string out;
    for (const auto& c : store->ListConfig()) out += c.section + "." + c.key + "=" + c.value + "\n";
    return out;
  }

  testing::TempDir tmp_;
  Options options_;
};

TEST_F(ConfigReloadTest, RuntimeSettingsChangeAndRestartOnlyOnesAreReported) {
  WriteConfig("[server]\nmax_clients = 100\n\n[journal]\nsync = \"batch\"\n");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  WriteConfig("[server]\nmax_clients = 250\nport = 7000\n\n[journal]\nsync = \"always\"\n\n"
              "[smoosh.ratio_dbs]\ncapacity = 77\n");

  auto report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Names(report->applied), (std::vector<std::string>{"smoosh.ratio_dbs.capacity", "server.max_clients"}));
  EXPECT_EQ(Names(report->restart_required), (std::vector<std::string>{"journal.sync", "server.port"}));
  EXPECT_EQ(report->applied[1].running, "100");
  EXPECT_EQ(report->applied[1].wanted, "250");
  EXPECT_EQ(Get(store.get(), "server", "max_clients"), "250");
  EXPECT_EQ(Get(store.get(), "smoosh.ratio_dbs", "capacity"), "77");
  // Restart-only settings keep their running values.
  EXPECT_EQ(Get(store.get(), "journal", "sync"), "batch");
  EXPECT_EQ(Get(store.get(), "server", "port"), "6380");

  // Reloading the same file again changes nothing and still reports them.
  report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->applied.empty());
  EXPECT_EQ(Names(report->restart_required), (std::vector<std::string>{"journal.sync", "server.port"}));
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(ConfigReloadTest, ABadFileChangesNothingAndTheErrorSaysWhereItIs) {
  WriteConfig("[server]\nmax_clients = 100\n");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string before = Dump(store.get());
  const std::string file = options_.config_file;
  struct Case {
    std::string text;
    std::string expected;  // in the error message
  };
  const Case cases[] = {
      {"[server]\nmax_clients = 200\nport = \n", file + " line 3"},                           // syntax
      {"[server]\nmax_clients = 200\n\n[journal]\nsyncing = 1\n", file + " line 5: unknown setting journal.syncing"},
      {"[server]\nmax_clients = 0\n", file + " line 2: server.max_clients: 0 is below the minimum 1"},
      {"[server]\nmax_clients = 200\n[work]\npolicy = \"lazy\"\n", file + " line 4: work.policy"},
      {"max_clients = 200\n", file + " line 1: 'max_clients' is outside any section"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    WriteConfig(c.text);
    auto report = ReloadStoreConfig(store.get(), options_);
    ASSERT_FALSE(report.ok());
    EXPECT_TRUE(report.status().IsInvalidArgument()) << report.status().ToString();
    EXPECT_NE(report.status().message().find(c.expected), std::string::npos) << report.status().ToString();
    EXPECT_EQ(Dump(store.get()), before);
  }
  // A file that went away.
  std::filesystem::remove(file);
  auto report = ReloadStoreConfig(store.get(), options_);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsNotFound()) << report.status().ToString();
  EXPECT_NE(report.status().message().find(file), std::string::npos) << report.status().ToString();
  EXPECT_EQ(Dump(store.get()), before);
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(ConfigReloadTest, TheFileWinsOverRuntimeChangesAndOverridesWinOverTheFile) {
  WriteConfig("[server]\nmax_clients = 100\n");
  options_.Set("server.idle_timeout_s", "30");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SetConfig("server", "max_clients", "5").ok());
  ASSERT_TRUE(store->SetConfig("readpool", "max_wait_ms_low", "7").ok());
  WriteConfig("[server]\nmax_clients = 100\nidle_timeout_s = 60\n");

  auto report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Back to what a restart would give: the file's value, the default for a
  // setting the file does not name, the override over the file.
  EXPECT_EQ(Get(store.get(), "server", "max_clients"), "100");
  EXPECT_EQ(Get(store.get(), "readpool", "max_wait_ms_low"), "1000");
  EXPECT_EQ(Get(store.get(), "server", "idle_timeout_s"), "30");
  EXPECT_EQ(Names(report->applied), (std::vector<std::string>{"readpool.max_wait_ms_low", "server.max_clients"}));
  EXPECT_TRUE(report->restart_required.empty());
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(ConfigReloadTest, ADerivedDefaultNeedsARestartAndSecretsAreHidden) {
  WriteConfig("[readpool]\nthreads_low = 3\n");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  WriteConfig("[server]\nrequirepass = \"s3cret\"\n");
  auto report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(Names(report->restart_required), (std::vector<std::string>{"readpool.threads_low"}));
  EXPECT_EQ(report->restart_required[0].wanted, "");
  EXPECT_EQ(Get(store.get(), "readpool", "threads_low"), "3");
  ASSERT_EQ(Names(report->applied), (std::vector<std::string>{"server.requirepass"}));
  EXPECT_EQ(report->applied[0].running, "");
  EXPECT_EQ(report->applied[0].wanted, "(set)");
  EXPECT_EQ(Get(store.get(), "server", "requirepass"), "(set)");
  // Reloading the same file again: the secret in force is the file's, so
  // nothing changes (values are compared in clear, not as displayed).
  report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->applied.empty());
  // A new secret in the file is applied.
  WriteConfig("[server]\nrequirepass = \"other\"\n");
  report = ReloadStoreConfig(store.get(), options_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(Names(report->applied), (std::vector<std::string>{"server.requirepass"}));
  EXPECT_EQ(report->applied[0].running, "(set)");
  auto config = StoreConfig(store.get());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)->GetString("server", "requirepass"), "other");
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(ConfigReloadTest, WithoutAFileThereIsNothingToReload) {
  options_.config_file.clear();
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto report = ReloadStoreConfig(store.get(), options_);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsInvalidArgument());
  EXPECT_NE(report.status().message().find("--config"), std::string::npos);
  ASSERT_TRUE(store->Close().ok());
}

TEST(ConfigReloadLogTest, ReportsTheLastOutcomeAndKeepsPendingRestartsAcrossAFailure) {
  ConfigReloadLog log;
  log.SetFile("/etc/ebb/ebb.toml");
  nlohmann::json j = log.ToJson();
  EXPECT_EQ(j["file"], "/etc/ebb/ebb.toml");
  EXPECT_EQ(j["reloads"], 0);
  EXPECT_EQ(j["needs_restart"], false);

  ConfigReloadReport report;
  report.applied.push_back({"server.max_clients", "100", "200"});
  report.restart_required.push_back({"server.port", "6380", "7000"});
  log.Record(report, 1700000000);
  j = log.ToJson();
  EXPECT_EQ(j["reloads"], 1);
  EXPECT_EQ(j["last_reload_ok"], true);
  EXPECT_EQ(j["last_reload_unix_s"], 1700000000);
  EXPECT_EQ(j["last_reload_applied"], nlohmann::json::array({"server.max_clients"}));
  EXPECT_EQ(j["restart_required"], nlohmann::json::array({"server.port"}));
  EXPECT_EQ(j["needs_restart"], true);

  log.Record(Status::InvalidArgument("/etc/ebb/ebb.toml line 3: bad"), 1700000100);
  j = log.ToJson();
  EXPECT_EQ(j["reloads"], 1);
  EXPECT_EQ(j["reload_failures"], 1);
  EXPECT_EQ(j["last_reload_ok"], false);
  EXPECT_EQ(j["last_reload_error"], "InvalidArgument: /etc/ebb/ebb.toml line 3: bad");
  EXPECT_EQ(j["restart_required"], nlohmann::json::array({"server.port"}));
}

// Uncommenting every `#key = value` line of the template sets every setting
// to the value it already has: the file is valid TOML, complete, and shows
// the defaults.
TEST(ConfigTemplateTest, EverySettingAppearsAtItsDefaultAndUncommentsToIt) {
  const std::string text = ConfigTemplateToml();
  auto defaults = LoadEbbConfig(Options());
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();

  // Commented as shipped: loading it sets nothing.
  auto as_shipped = NewEbbConfig();
  ASSERT_TRUE(as_shipped->LoadTomlString(text, "template").ok());
  EXPECT_TRUE(as_shipped->Sections().size() == NewEbbConfig()->Sections().size());

  std::istringstream in(text);
  std::string line, uncommented;
  const std::regex assignment("^#([a-z_0-9]+) = (.*)$");
  int assignments = 0;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, assignment)) {
      uncommented += line.substr(1) + "\n";
      assignments++;
    } else {
      uncommented += line + "\n";
    }
  }
  auto loaded = NewEbbConfig();
  Status s = loaded->LoadTomlString(uncommented, "uncommented template");
  ASSERT_TRUE(s.ok()) << s.ToString();
  int listed = 0;
  for (const auto& e : (*defaults)->Effective()) {
    SCOPED_TRACE(e.section + "." + e.key);
    listed++;
    // Each table once: TOML rejects a table defined twice.
    const std::string header = "\n[" + e.section + "]\n";
    const size_t at = text.find(header);
    EXPECT_NE(at, std::string::npos);
    EXPECT_EQ(text.find(header, at + 1), std::string::npos) << header << " twice";
    if (e.value.empty() && loaded->schema().Find(e.section, e.key)->type != SettingType::kString) {
      EXPECT_NE(text.find("# " + e.key + ": no fixed default"), std::string::npos);
      EXPECT_FALSE(loaded->GetExplicit(e.section, e.key).has_value());
      continue;
    }
    auto explicit_value = loaded->GetExplicit(e.section, e.key);
    ASSERT_TRUE(explicit_value.has_value()) << "not in the template";
    EXPECT_EQ(*explicit_value, e.value);
  }
  EXPECT_GT(assignments, 100);
  EXPECT_LE(assignments, listed);
}

}  // namespace
}  // namespace ebb
