// docs/configuration.md is generated from the schema (`ebb config reference`);
// this test fails when a setting changes without the reference.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/test_util.h"
#include "engine/engine_settings.h"

namespace ebb {
namespace {

TEST(ConfigReferenceTest, DocsMatchTheSchema) {
  std::string path = testing::SourceDir() + "/docs/configuration.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing; generate it with: build/release/bin/ebb config reference > " << path;
  std::stringstream doc;
  doc << in.rdbuf();
  EXPECT_EQ(doc.str(), EbbConfigSchema()->ReferenceMarkdown())
      << path << " is stale; regenerate it with: build/release/bin/ebb config reference > docs/configuration.md";
}

TEST(ConfigReferenceTest, EveryDefaultIsValidAndEverySettingDocumented) {
  auto config = NewEbbConfig();
  for (const auto& spec : EbbConfigSchema()->settings()) {
    EXPECT_FALSE(spec.description.empty()) << spec.section << "." << spec.key;
    if (spec.section.find('*') == std::string::npos) {
      EXPECT_TRUE(config->Get(spec.section, spec.key).ok()) << spec.section << "." << spec.key;
    }
  }
}

}  // namespace
}  // namespace ebb
