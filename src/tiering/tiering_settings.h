// The [tiering] configuration section, and helpers that turn it into the
// object store and agent options.

#ifndef EBB_TIERING_TIERING_SETTINGS_H_
#define EBB_TIERING_TIERING_SETTINGS_H_

#include <memory>
#include <string>

#include "base/config.h"
#include "env/object_store.h"

namespace ebb {

class FileSystem;
struct TieringOptions;

void RegisterTieringSettings(ConfigSchema* schema);

// TieringOptions from [tiering]; empty paths default below `data_dir`
// (tier dir <data>/tier, key file <data>/tier/archive.key).
TieringOptions TieringOptionsFromConfig(const Config& config, const std::string& data_dir);

// The object store [tiering] names: `local` (local_dir, default
// <data>/tier-store) or `s3` (s3_* settings, credentials from the settings
// or the AWS_* environment variables).
Result<std::unique_ptr<ObjectStore>> OpenTierObjectStore(const Config& config, FileSystem* fs,
                                                         const std::string& data_dir);

}  // namespace ebb

#endif  // EBB_TIERING_TIERING_SETTINGS_H_
