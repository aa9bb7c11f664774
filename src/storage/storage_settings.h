// Settings of the storage layer: sections [store], [journal] and [write]
// (docs/configuration.md).

#ifndef EBB_STORAGE_STORAGE_SETTINGS_H_
#define EBB_STORAGE_STORAGE_SETTINGS_H_

#include <string>

#include "base/config.h"
#include "storage/storage_options.h"

namespace ebb {

void RegisterStorageSettings(ConfigSchema* schema);

// Resolves StorageOptions from the configuration.
Result<StorageOptions> StorageOptionsFromConfig(const Config& config, std::string data_dir, bool create_if_missing);

}  // namespace ebb

#endif  // EBB_STORAGE_STORAGE_SETTINGS_H_
