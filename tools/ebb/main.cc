// ebb: Ebb's command-line tool. `ebb --help` lists the subcommands.

#include <CLI/CLI.hpp>

#include <cstdio>

#include <fmt/format.h>

#include "ebb/version.h"
#include "tools/ebb/build_info.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {

std::string VersionLine() { return fmt::format("ebb {} (commit {})", EBB_VERSION_STRING, BuildCommit()); }

}  // namespace ebb::tool

int main(int argc, char** argv) {
  CLI::App app{
      "Ebb: a key-value storage engine and server whose background work knows when to run and when to rest.\n"
      "Offline commands (put, get, del, scan, stats, dbs, demo) open the data directory directly and need it\n"
      "not to be in use by a server. `ebb serve` runs the server; status and config get|set talk to it."};
  app.require_subcommand(1);
  app.set_version_flag("--version", ebb::tool::VersionLine());
  ebb::tool::Handler handler;
  ebb::tool::AddOfflineCommands(&app, &handler);
  ebb::tool::AddConfigCommands(&app, &handler);
  ebb::tool::AddServeCommand(&app, &handler);
  ebb::tool::AddRemoteCommands(&app, &handler);
  ebb::tool::AddTierCommands(&app, &handler);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return handler ? handler() : 0;
}
