#include "server/status_report.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

namespace ebb {
namespace {

using json = nlohmann::json;

// Checks the text against the exposition format: every sample belongs to the
// family announced by the HELP/TYPE lines before it, names and labels are
// well formed, and no family is announced twice.
void ExpectValidExposition(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*",?)*\})? ([-+]?[0-9.eE+-]+|NaN|[+-]Inf))");
  std::istringstream in(text);
  std::string line, family;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      family = m[1];
      EXPECT_TRUE(seen.insert(family).second) << "family announced twice: " << family;
    } else if (std::regex_match(line, m, type)) {
      EXPECT_EQ(m[1], family) << line;
      if (m[2] == "counter") {
        EXPECT_TRUE(family.size() > 6 && family.substr(family.size() - 6) == "_total") << family;
      }
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a valid sample line: " << line;
      EXPECT_EQ(m[1], family) << line;
    }
  }
}

TEST(StatusReportTest, PrometheusTextIsValidAndLabelsAreEscaped) {
  json doc = {
      {"data_dir", "/d"},
      {"uptime_s", 12},
      {"background_error", ""},
      {"journal", {{"sync_mode", "batch"}, {"syncs", 3}, {"bytes", 100}}},
      {"databases", json::array({{{"name", "we\"ird\\name\n"}, {"disk_bytes", 10}, {"compactions", 1}},
                                 {{"name", "0"}, {"disk_bytes", 20}, {"compactions", 0}}})},
      {"read_pool", {{"high", {{"threads", 2}, {"rejected", 5}}}, {"low", {{"threads", 1}, {"rejected", 0}}}}},
      // A section this code has never heard of, as the engine may add.
      {"work_classes", json::array({{{"name", "writeback"}, {"state", "asleep"}, {"pending_bytes", 0},
                                      {"passes", 4}, {"upstreams", json::array({"foreground"})}}})},
  };
  std::string text = RenderPrometheus(doc);
  ExpectValidExposition(text);
  EXPECT_NE(text.find(R"(ebb_databases_disk_bytes{database="we\"ird\\name\n"} 10)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ebb_read_pool_rejected_total{priority="high"} 5)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ebb_journal_sync_mode{sync_mode="batch"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ebb_work_classes_pending_bytes{class="writeback"} 0)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ebb_work_classes_passes_total{class="writeback"} 4)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ebb_work_classes_state{class="writeback",state="asleep"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("ebb_background_error 0"), std::string::npos);
  EXPECT_EQ(text.find("data_dir"), std::string::npos);
}

TEST(StatusReportTest, EscapeLabelValue) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(StatusReportTest, DumpJsonReplacesInvalidUtf8) {
  json doc = {{"data_dir", std::string("/tmp/\xff\xfe")}};
  std::string text = DumpJson(doc);
  EXPECT_NE(text.find("/tmp/"), std::string::npos);
}

}  // namespace
}  // namespace ebb
