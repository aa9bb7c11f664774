// Logging (spdlog, kept out of this header) and invariant checks.
//
//   EBB_LOG(kInfo, "flushed {} bytes of {}", bytes, db_name);
//   EBB_CHECK(offset <= size) << never; use EBB_CHECK_MSG for a message.
//
// EBB_CHECK is always on: a failed invariant aborts with file, line and the
// condition, because continuing would risk writing wrong data. EBB_DCHECK is
// compiled only in debug builds, for checks too costly for hot paths.

#ifndef EBB_BASE_LOGGING_H_
#define EBB_BASE_LOGGING_H_

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace ebb {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Writes one line to the process logger (stderr by default).
void LogMessage(LogLevel level, std::string_view message);

// Sets the minimum level written ("debug", "info", "warn", "error");
// returns false for an unknown name.
bool SetLogLevel(std::string_view level);
void SetLogLevel(LogLevel level);

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition, std::string_view message);

}  // namespace ebb

#define EBB_LOG(level, ...) ::ebb::LogMessage(::ebb::LogLevel::level, ::fmt::format(__VA_ARGS__))

#define EBB_CHECK(cond)                                                       \
  do {                                                                        \
    if (__builtin_expect(!(cond), 0)) ::ebb::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define EBB_CHECK_MSG(cond, ...)                                              \
  do {                                                                        \
    if (__builtin_expect(!(cond), 0))                                         \
      ::ebb::CheckFailed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#ifdef NDEBUG
#define EBB_DCHECK(cond) \
  do {                   \
  } while (false && (cond))
#else
#define EBB_DCHECK(cond) EBB_CHECK(cond)
#endif

#endif  // EBB_BASE_LOGGING_H_
