// What the server reports about itself and the store: the /status and
// EBB.STATUS JSON document, INFO text and the /metrics Prometheus text.
// All three start from one JSON document so a section the engine adds to
// StoreStatus (work classes, channels, tiering) appears in each of them
// without changes here.

#ifndef EBB_SERVER_STATUS_REPORT_H_
#define EBB_SERVER_STATUS_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/version.h"

namespace ebb {

class ServerCore;

// StoreStatusToJson (src/engine/status_json.h) plus a "server" section with
// the RESP server's settings and counters. Calls Store::GetStatus: run it
// off the I/O threads.
nlohmann::json StatusDocument(ServerCore* core);

// Serializes a status document, replacing invalid UTF-8 (file names and
// error messages are bytes) instead of failing.
std::string DumpJson(const nlohmann::json& doc, int indent = -1);

// INFO's text for `sections` (lower case; empty, "default", "all" or
// "everything" mean every section): "# Server\r\nredis_version:...\r\n...".
std::string RenderInfo(ServerCore* core, const nlohmann::json& doc, const std::vector<std::string>& sections);

// The Prometheus text exposition (version 0.0.4) of a status document.
std::string RenderPrometheus(const nlohmann::json& doc);

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

// The version Ebb reports as redis_version: the Redis release whose RESP2
// command forms it follows.
inline constexpr std::string_view kRedisCompatVersion = "7.0.0";
inline constexpr std::string_view kEbbVersion = EBB_VERSION_STRING;

}  // namespace ebb

#endif  // EBB_SERVER_STATUS_REPORT_H_
