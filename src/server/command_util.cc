#include "server/command_util.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/write_job.h"

namespace ebb {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseUint64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseRedisInt64(std::string_view text, int64_t* out) {
  if (text == "0") {
    *out = 0;
    return true;
  }
  const size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() <= digits || text[digits] < '1' || text[digits] > '9') return false;
  return ParseInt64(text, out);
}

std::string Quote(std::string_view arg) {
  std::string out;
  for (unsigned char c : arg.substr(0, kMaxQuotedArgBytes)) {
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

void AppendError(ServerCore* core, std::string* out, std::string_view text) {
  core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  RespWriter(out).Error(text);
}

void AppendStatusError(ServerCore* core, std::string* out, const Status& s) {
  core->stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  if (s.IsBusy()) core->stats().busy_rejections.fetch_add(1, std::memory_order_relaxed);
  out->append(StatusErrorReply(s));
}

std::string ArityError(std::string_view name) {
  return fmt::format("ERR wrong number of arguments for '{}' command", Lower(Quote(name)));
}

}  // namespace ebb
