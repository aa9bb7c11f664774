// The configuration schema of an Ebb store process: every layer's settings
// in one place, so one TOML file configures storage, background work,
// compaction, the read pool, tiering and the server, and one generated
// reference (docs/configuration.md) documents them all.

#ifndef EBB_ENGINE_ENGINE_SETTINGS_H_
#define EBB_ENGINE_ENGINE_SETTINGS_H_

#include <memory>

#include "base/config.h"
#include "ebb/options.h"
#include "ebb/status.h"

namespace ebb {

// The complete schema (built once; shared).
std::shared_ptr<const ConfigSchema> EbbConfigSchema();

// A Config over the schema with per-section defaults installed.
std::unique_ptr<Config> NewEbbConfig();

// The configuration a store opened with `options` runs with: the defaults,
// then options.config_file, then the options.config overrides, then the
// per-section defaults derived from them. Errors name the file and line (or
// the override) and the setting.
Result<std::unique_ptr<Config>> LoadEbbConfig(const Options& options);

// `ebb config template`: the configuration file with every setting at its
// default, commented out (the Debian package's /etc/ebb/ebb.toml).
std::string ConfigTemplateToml();

}  // namespace ebb

#endif  // EBB_ENGINE_ENGINE_SETTINGS_H_
