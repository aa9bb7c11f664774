#include "base/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace ebb {
namespace {

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("ebb");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void LogMessage(LogLevel level, std::string_view message) {
  Logger().log(ToSpd(level), "{}", message);
}

void SetLogLevel(LogLevel level) { Logger().set_level(ToSpd(level)); }

bool SetLogLevel(std::string_view level) {
  if (level == "debug") SetLogLevel(LogLevel::kDebug);
  else if (level == "info") SetLogLevel(LogLevel::kInfo);
  else if (level == "warn") SetLogLevel(LogLevel::kWarn);
  else if (level == "error") SetLogLevel(LogLevel::kError);
  else return false;
  return true;
}

void CheckFailed(const char* file, int line, const char* condition, std::string_view message) {
  std::fprintf(stderr, "%s:%d: invariant failed: %s %.*s\n", file, line, condition,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ebb
