#include "engine/engine_settings.h"

#include "base/logging.h"
#include "base/status_macros.h"
#include "compaction/compaction_settings.h"
#include "engine/background.h"
#include "runtime/read_pool_settings.h"
#include "runtime/work_settings.h"
#include "storage/storage_settings.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

// [server] is consumed by src/server but declared here, where the store
// process's configuration is assembled, so that an embedded Store::Open
// accepts the same file `ebb serve` does.
void RegisterServerSettings(ConfigSchema* schema) {
  schema->Add({.section = "server", .key = "bind", .type = SettingType::kString, .default_value = "127.0.0.1",
               .runtime = false,
               .description = "Address the RESP listener (and the TLS one) binds to. Loopback by default: expose Ebb "
                              "beyond this machine only deliberately, with requirepass set (protected mode refuses "
                              "other clients until then)."});
  schema->Add({.section = "server", .key = "port", .type = SettingType::kInt, .default_value = "6380",
               .unit = "port", .runtime = false, .description = "RESP (Redis protocol) port.", .min = 0,
               .max = 65535});
  schema->Add({.section = "server", .key = "tls_port", .type = SettingType::kInt, .default_value = "0",
               .unit = "port", .runtime = false,
               .description = "Port of a second RESP listener, on bind, that speaks TLS (redis-cli --tls, "
                              "ssl=True in redis-py); 0: none. Needs tls_cert_file and tls_key_file.",
               .min = 0, .max = 65535});
  schema->Add({.section = "server", .key = "tls_cert_file", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "The server's certificate chain (PEM). Setting any tls_* setting at run time, also to "
                              "the same value, reloads the files for new connections; a file that does not load "
                              "refuses the change and keeps the old ones."});
  schema->Add({.section = "server", .key = "tls_key_file", .type = SettingType::kString, .default_value = "",
               .runtime = true, .description = "The private key of tls_cert_file (PEM, unencrypted)."});
  schema->Add({.section = "server", .key = "tls_ca_cert_file", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "CA certificates (PEM) that client certificates are verified against; empty: "
                              "clients are not asked for one."});
  schema->Add({.section = "server", .key = "tls_auth_clients", .type = SettingType::kEnum,
               .default_value = "optional", .runtime = true,
               .description = "Client certificates on the TLS port: `no` (not asked for), `optional` (asked for "
                              "when tls_ca_cert_file is set, verified when sent), `yes` (required and verified; "
                              "needs tls_ca_cert_file). A verified certificate does not replace AUTH.",
               .choices = {"no", "optional", "yes"}});
  schema->Add({.section = "server", .key = "admin_port", .type = SettingType::kInt, .default_value = "8380",
               .unit = "port", .runtime = false,
               .description = "Admin HTTP port (/status, /metrics, dashboard). 0 disables it.", .min = 0,
               .max = 65535});
  schema->Add({.section = "server", .key = "admin_bind", .type = SettingType::kString, .default_value = "127.0.0.1",
               .runtime = false,
               .description = "Address the admin HTTP listener binds to, independent of bind. Anywhere but "
                              "loopback it needs admin_token (the server does not start without one)."});
  schema->Add({.section = "server", .key = "admin_token", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "When set, /status and /metrics answer only requests with the header "
                              "`Authorization: Bearer <token>` (401 otherwise); the dashboard page asks for it once. "
                              "Required when admin_bind is not loopback.",
               .secret = true});
  schema->Add({.section = "server", .key = "admin_token_file", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "File holding the admin token instead of admin_token (its first line), read like "
                              "requirepass_file. Set at most one of admin_token and admin_token_file."});
  schema->Add({.section = "server", .key = "requirepass", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "When non-empty, RESP clients must AUTH with this password before any other command. "
                              "At most 16 KiB (what a client may send before AUTH).",
               .secret = true});
  schema->Add({.section = "server", .key = "requirepass_file", .type = SettingType::kString, .default_value = "",
               .runtime = true,
               .description = "File holding the password instead of requirepass (its first line; keeps the password "
                              "out of the configuration file and the process list). Read at start and whenever "
                              "this setting is set, also to the same path; an unreadable or empty file is an "
                              "error. Set at most one of requirepass and requirepass_file."});
  schema->Add({.section = "server", .key = "protected_mode", .type = SettingType::kBool, .default_value = "true",
               .runtime = true,
               .description = "As in Redis: while no password is set and bind is not loopback, clients that do not "
                              "connect from loopback are refused with an error saying what to set. Turn it off "
                              "only on a network you trust."});
  schema->Add({.section = "server", .key = "max_clients", .type = SettingType::kInt, .default_value = "1000",
               .unit = "count", .runtime = true,
               .description = "Connections beyond this are answered with an error and closed.", .min = 1,
               .max = 1000000});
  schema->Add({.section = "server", .key = "max_query_buffer_bytes", .type = SettingType::kBytes,
               .default_value = "64MiB", .unit = "bytes", .runtime = true,
               .description = "A client whose unparsed input exceeds this gets an error and is disconnected.",
               .min = 1024});
  schema->Add({.section = "server", .key = "max_bulk_bytes", .type = SettingType::kBytes,
               .default_value = "16MiB", .unit = "bytes", .runtime = true,
               .description = "Largest bulk string a client may send (Redis's proto-max-bulk-len).", .min = 1});
  schema->Add({.section = "server", .key = "idle_timeout_s", .type = SettingType::kInt, .default_value = "0",
               .unit = "s", .runtime = true,
               .description = "Close client connections idle this long; 0 keeps them open (like Redis's timeout).",
               .min = 0});
  schema->Add({.section = "server", .key = "keys_max", .type = SettingType::kInt, .default_value = "100000",
               .unit = "count", .runtime = true,
               .description = "Most keys one KEYS reply may hold (also at most 64 MiB of keys); a KEYS matching more "
                              "gets an error pointing to SCAN, which walks any number of keys in steps.",
               .min = 1, .max = 100000000});
  schema->Add({.section = "server", .key = "multi_max_commands", .type = SettingType::kInt,
               .default_value = "100000", .unit = "count", .runtime = true,
               .description = "Most commands one connection may queue between MULTI and EXEC; the command past it "
                              "gets an error and the transaction is discarded (EXEC answers EXECABORT).",
               .min = 1, .max = 100000000});
  schema->Add({.section = "server", .key = "multi_max_bytes", .type = SettingType::kBytes,
               .default_value = "64MiB", .unit = "bytes", .runtime = true,
               .description = "Most memory one connection's transaction may hold: its queued commands (arguments "
                              "plus 32 bytes each) and watched keys; past it the command gets an error and the "
                              "transaction is discarded. EXEC's writes and replies are held to it too: past it "
                              "EXEC answers an error and writes nothing. Bounds what MULTI lets a client make the "
                              "server allocate.",
               .min = 1024});
  schema->Add({.section = "server", .key = "io_threads", .type = SettingType::kInt, .default_value = "1",
               .unit = "count", .runtime = false,
               .description = "Threads running client connections (parsing, replies). One handles hundreds of "
                              "thousands of pipelined commands per second; more help only with many busy clients "
                              "and spare cores, since reads and writes run on their own threads.",
               .min = 1, .max = 64});
  schema->Add({.section = "server", .key = "write_threads", .type = SettingType::kInt, .default_value = "",
               .unit = "count", .runtime = false,
               .description = "Threads applying client writes; unset or 0 derives max(4, cores) with journal.sync = "
                              "always (the threads wait on the disk, and more of them let more connections share "
                              "one group commit) and max(1, cores - 1) otherwise (a write thread uses a core the "
                              "whole time; one is left for reads).",
               .min = 0, .max = 256});
  schema->Add({.section = "server", .key = "inline_writes", .type = SettingType::kBool, .default_value = "true",
               .runtime = false,
               .description = "Let a connection's thread apply a lone small write (one plain SET or MSET, up to "
                              "64 KiB, arriving while nothing else of that connection is queued) itself when "
                              "nothing would make it wait, and make the journal sync it leaves due after sending "
                              "the reply, instead of handing it to a write thread and the journal's syncer: under "
                              "a trickle of writes that spares two thread wakeups per write. Never with "
                              "journal.sync = always (those writes wait on the disk). false sends every write "
                              "to the write threads."});
  schema->Add({.section = "server", .key = "write_nice", .type = SettingType::kInt, .default_value = "0",
               .unit = "nice", .runtime = true,
               .description = "Linux nice value (CPU weight under contention) of the write threads. Level with "
                              "normal reads (readpool.nice_normal) by default; raising it makes writes yield CPU "
                              "to reads when both saturate the machine (nice 10 is ~10% of a contended core), at "
                              "the cost of write throughput. Lowering it at run time needs CAP_SYS_NICE.",
               .min = -20, .max = 19});
}

// [store] settings the engine enforces (the rest of [store] is storage's).
void RegisterEngineStoreSettings(ConfigSchema* schema) {
  schema->Add({.section = "store", .key = "max_databases", .type = SettingType::kInt, .default_value = "10000",
               .unit = "count", .runtime = true,
               .description = "Most databases the store holds. Creating one more (OpenDatabase, or the first SET "
                              "after SELECT of a new name) fails with an error naming this setting; existing ones "
                              "are unaffected. Each database costs a manifest entry and a little memory; raise it "
                              "for one-database-per-user designs.",
               .min = 1, .max = 100000000});
}

}  // namespace

std::shared_ptr<const ConfigSchema> EbbConfigSchema() {
  static const std::shared_ptr<const ConfigSchema> schema = [] {
    auto s = std::make_shared<ConfigSchema>();
    RegisterStorageSettings(s.get());
    RegisterEngineStoreSettings(s.get());
    RegisterReadPoolSettings(s.get());
    RegisterWorkSettings(s.get());
    RegisterCompactionSettings(s.get());
    RegisterTieringSettings(s.get());
    RegisterServerSettings(s.get());
    return s;
  }();
  return schema;
}

std::unique_ptr<Config> NewEbbConfig() {
  auto config = std::make_unique<Config>(EbbConfigSchema());
  InstallCompactionChannelDefaults(config.get());
  return config;
}

Result<std::unique_ptr<Config>> LoadEbbConfig(const Options& options) {
  auto config = NewEbbConfig();
  if (!options.config_file.empty()) EBB_RETURN_IF_ERROR(config->LoadTomlFile(options.config_file));
  for (const auto& [key, value] : options.config) {
    Status s = config->SetDotted(key, value, /*at_runtime=*/false);
    if (!s.ok()) return s.WithContext("option override");
  }
  InstallWorkClassDefaults(config.get());
  return config;
}

std::string ConfigTemplateToml() {
  auto config = LoadEbbConfig(Options());
  EBB_CHECK_MSG(config.ok(), "the default configuration is invalid: {}", config.status().ToString());
  return (*config)->TemplateToml(
      "# Ebb's configuration file, read by `ebb serve --config FILE`.\n"
      "#\n"
      "# Every setting is listed at its default, commented out: uncomment a line\n"
      "# and change the value to set it. Settings that change at run time take\n"
      "# effect when the server reloads this file (SIGHUP; `systemctl reload ebb`)\n"
      "# or with `ebb config set`; the others at the next restart. Sections named\n"
      "# like [work.writeback] or [smoosh.ratio_dbs] are instances of [work.*] and\n"
      "# [smoosh.*]: the same keys configure any other work class or compaction\n"
      "# channel. The reference of every setting is `ebb config reference`.\n"
      "#\n"
      "# Generated by `ebb config template`.\n");
}

}  // namespace ebb
