#include "server/server_settings.h"

#include <charconv>

#include <fmt/format.h>

#include "base/config.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

Result<int64_t> GetNumber(Store* store, std::string_view section, std::string_view key) {
  EBB_ASSIGN_OR_RETURN(std::string text, store->GetConfig(section, key));
  // kBytes settings may be stored as "64MiB"; ParseBytes reads both forms.
  auto bytes = ParseBytes(text);
  if (bytes.ok()) return *bytes;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(fmt::format("{}.{}: '{}' is not a number", section, key, text));
  }
  return value;
}

}  // namespace

Result<ServerSettings> ServerSettings::FromStore(Store* store) {
  ServerSettings s;
  EBB_ASSIGN_OR_RETURN(s.bind, store->GetConfig("server", "bind"));
  EBB_ASSIGN_OR_RETURN(int64_t port, GetNumber(store, "server", "port"));
  EBB_ASSIGN_OR_RETURN(int64_t admin_port, GetNumber(store, "server", "admin_port"));
  s.port = static_cast<int>(port);
  s.admin_port = static_cast<int>(admin_port);
  EBB_ASSIGN_OR_RETURN(s.requirepass, store->GetConfig("server", "requirepass"));
  EBB_ASSIGN_OR_RETURN(s.max_clients, GetNumber(store, "server", "max_clients"));
  EBB_ASSIGN_OR_RETURN(s.max_query_buffer_bytes, GetNumber(store, "server", "max_query_buffer_bytes"));
  EBB_ASSIGN_OR_RETURN(s.max_bulk_bytes, GetNumber(store, "server", "max_bulk_bytes"));
  EBB_ASSIGN_OR_RETURN(s.idle_timeout_s, GetNumber(store, "server", "idle_timeout_s"));
  EBB_ASSIGN_OR_RETURN(int64_t io_threads, GetNumber(store, "server", "io_threads"));
  EBB_ASSIGN_OR_RETURN(int64_t write_threads, GetNumber(store, "server", "write_threads"));
  s.io_threads = static_cast<int>(io_threads);
  s.write_threads = static_cast<int>(write_threads);
  EBB_ASSIGN_OR_RETURN(int64_t write_nice, GetNumber(store, "server", "write_nice"));
  s.write_nice = static_cast<int>(write_nice);
  EBB_ASSIGN_OR_RETURN(s.max_key_bytes, GetNumber(store, "store", "max_key_bytes"));
  EBB_ASSIGN_OR_RETURN(s.max_value_bytes, GetNumber(store, "store", "max_value_bytes"));
  return s;
}

void LiveSettings::Apply(const ServerSettings& s) {
  max_clients_.store(s.max_clients, std::memory_order_relaxed);
  max_query_buffer_bytes_.store(s.max_query_buffer_bytes, std::memory_order_relaxed);
  max_bulk_bytes_.store(s.max_bulk_bytes, std::memory_order_relaxed);
  idle_timeout_s_.store(s.idle_timeout_s, std::memory_order_relaxed);
  MutexLock lock(&mu_);
  requirepass_ = s.requirepass;
  password_required_.store(!s.requirepass.empty(), std::memory_order_release);
}

bool LiveSettings::CheckPassword(std::string_view candidate) const {
  MutexLock lock(&mu_);
  if (requirepass_.empty()) return false;
  // Constant time in the position of the first difference.
  unsigned char diff = candidate.size() == requirepass_.size() ? 0 : 1;
  for (size_t i = 0; i < candidate.size(); i++) {
    diff |= static_cast<unsigned char>(candidate[i] ^ requirepass_[i % requirepass_.size()]);
  }
  return diff == 0;
}

}  // namespace ebb
