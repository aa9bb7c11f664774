// StoreStatus as JSON (the admin HTTP /status document, `ebb status --json`,
// `ebb stats --json`). Field names are those of include/ebb/store_status.h.

#ifndef EBB_ENGINE_STATUS_JSON_H_
#define EBB_ENGINE_STATUS_JSON_H_

#include <nlohmann/json.hpp>

#include "ebb/store_status.h"

namespace ebb {

nlohmann::json DatabaseStatsToJson(const DatabaseStats& stats);
nlohmann::json ReadPoolPriorityToJson(const ReadPoolPriorityStatus& status);
nlohmann::json WorkStatusToJson(const BackgroundSchedulerStatus& status);
nlohmann::json SmooshStatusToJson(const SmooshStatus& status);
nlohmann::json StoreStatusToJson(const StoreStatus& status);

}  // namespace ebb

#endif  // EBB_ENGINE_STATUS_JSON_H_
