// The configuration schema of an Ebb store process: every layer's settings
// in one place, so one TOML file configures storage, background work,
// compaction, the read pool, tiering and the server, and one generated
// reference (docs/configuration.md) documents them all.

#ifndef EBB_ENGINE_ENGINE_SETTINGS_H_
#define EBB_ENGINE_ENGINE_SETTINGS_H_

#include <memory>

#include "base/config.h"

namespace ebb {

// The complete schema (built once; shared).
std::shared_ptr<const ConfigSchema> EbbConfigSchema();

// A Config over the schema with per-section defaults installed.
std::unique_ptr<Config> NewEbbConfig();

}  // namespace ebb

#endif  // EBB_ENGINE_ENGINE_SETTINGS_H_
