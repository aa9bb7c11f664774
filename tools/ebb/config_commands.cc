#include <cstdio>

#include "engine/engine_settings.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {

void AddConfigCommands(CLI::App* app, Handler* handler) {
  auto* config =
      app->add_subcommand("config", "Configuration: reference, template; get and set on a running server");
  config->require_subcommand(1);
  auto* reference = config->add_subcommand("reference", "Print the configuration reference (docs/configuration.md)");
  reference->callback([=] {
    *handler = [] {
      std::fputs(EbbConfigSchema()->ReferenceMarkdown().c_str(), stdout);
      return 0;
    };
  });
  auto* config_template = config->add_subcommand(
      "template", "Print a configuration file with every setting at its default, commented out (/etc/ebb/ebb.toml)");
  config_template->callback([=] {
    *handler = [] {
      std::fputs(ConfigTemplateToml().c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace ebb::tool
