// Subcommands of the `ebb` tool. Each Add* registers its subcommands on the
// CLI11 app; handlers return the process exit code.

#ifndef EBB_TOOLS_EBB_COMMANDS_H_
#define EBB_TOOLS_EBB_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <functional>

namespace ebb::tool {

// The handler of the subcommand that ran (set by its callback).
using Handler = std::function<int()>;

void AddOfflineCommands(CLI::App* app, Handler* handler);  // demo put get del scan stats dbs
void AddConfigCommands(CLI::App* app, Handler* handler);   // config reference
void AddServeCommand(CLI::App* app, Handler* handler);     // serve
// status, config get|set (talk to a running server); after AddConfigCommands.
void AddRemoteCommands(CLI::App* app, Handler* handler);
void AddTierCommands(CLI::App* app, Handler* handler);     // tier ls|verify|rebuild-index|restore|recall|gc|rotate-key

// Prints bytes for a terminal: printable ASCII as is, others as \xNN.
std::string Printable(std::string_view bytes);

}  // namespace ebb::tool

#endif  // EBB_TOOLS_EBB_COMMANDS_H_
