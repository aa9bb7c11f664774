#include "server/server_settings.h"

#include "runtime/read_pool_settings.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "engine/admin.h"
#include "server/net_address.h"
#include "server/resp_parser.h"

namespace ebb {
namespace {

// Longest file read for a secret: a password or token is one short line.
constexpr size_t kMaxSecretFileBytes = 64 << 10;

// A secret from its setting or its *_file setting (at most one of them).
Result<std::string> ResolveSecret(const Config& config, std::string_view key, std::string_view file_key) {
  std::string value = config.GetString("server", key);
  std::string path = config.GetString("server", file_key);
  if (path.empty()) return value;
  if (!value.empty()) {
    return Status::InvalidArgument(fmt::format(
        "server.{} and server.{} are both set; set one of them (clear the other with an empty value)", key,
        file_key));
  }
  return ReadSecretFile(fmt::format("server.{}", file_key), path);
}

}  // namespace

Result<std::string> ReadSecretFile(std::string_view setting, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(fmt::format("{}: cannot read {}: {}", setting, path, std::strerror(errno)));
  }
  std::string text(kMaxSecretFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    return Status::InvalidArgument(fmt::format("{}: cannot read {}: {}", setting, path, std::strerror(errno)));
  }
  if (text.size() > kMaxSecretFileBytes) {
    return Status::InvalidArgument(
        fmt::format("{}: {} is larger than {} bytes; it should hold one line", setting, path, kMaxSecretFileBytes));
  }
  size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return Status::InvalidArgument(fmt::format("{}: the first line of {} is empty; put the secret there", setting, path));
  }
  return text;
}

Result<ServerSettings> ServerSettings::FromConfig(const Config& config) {
  ServerSettings s;
  s.bind = config.GetString("server", "bind");
  s.port = static_cast<int>(config.GetInt("server", "port"));
  s.admin_port = static_cast<int>(config.GetInt("server", "admin_port"));
  s.admin_bind = config.GetString("server", "admin_bind");
  s.tls_port = static_cast<int>(config.GetInt("server", "tls_port"));
  s.tls_cert_file = config.GetString("server", "tls_cert_file");
  s.tls_key_file = config.GetString("server", "tls_key_file");
  s.tls_ca_cert_file = config.GetString("server", "tls_ca_cert_file");
  s.tls_auth_clients = config.GetString("server", "tls_auth_clients");
  EBB_ASSIGN_OR_RETURN(s.admin_token, ResolveSecret(config, "admin_token", "admin_token_file"));
  if (s.admin_port != 0 && s.admin_token.empty() && !IsLoopbackAddress(s.admin_bind)) {
    return Status::InvalidArgument(fmt::format(
        "server.admin_bind is {}, not loopback, and no admin token is set: /status and /metrics would be open to "
        "the network. Set server.admin_token (or server.admin_token_file), bind the admin listener to 127.0.0.1, "
        "or disable it with server.admin_port = 0",
        s.admin_bind));
  }
  EBB_ASSIGN_OR_RETURN(s.requirepass, ResolveSecret(config, "requirepass", "requirepass_file"));
  if (s.requirepass.size() > static_cast<size_t>(kUnauthenticatedMaxBulkBytes)) {
    return Status::InvalidArgument(fmt::format(
        "the server password is {} bytes; at most {} fit in what a client may send before AUTH", s.requirepass.size(),
        kUnauthenticatedMaxBulkBytes));
  }
  s.protected_mode = config.GetBool("server", "protected_mode");
  s.max_clients = config.GetInt("server", "max_clients");
  s.max_query_buffer_bytes = config.GetInt("server", "max_query_buffer_bytes");
  s.max_bulk_bytes = config.GetInt("server", "max_bulk_bytes");
  s.idle_timeout_s = config.GetInt("server", "idle_timeout_s");
  s.keys_max = config.GetInt("server", "keys_max");
  s.multi_max_commands = config.GetInt("server", "multi_max_commands");
  s.multi_max_bytes = config.GetInt("server", "multi_max_bytes");
  s.io_threads = static_cast<int>(config.GetInt("server", "io_threads"));
  s.write_threads = static_cast<int>(config.GetInt("server", "write_threads"));
  if (s.write_threads <= 0) {
    s.write_threads = DefaultWriteThreads(config.GetString("journal", "sync"), HardwareConcurrency());
  }
  s.write_nice = static_cast<int>(config.GetInt("server", "write_nice"));
  s.inline_lone_writes = config.GetBool("server", "inline_writes") && config.GetString("journal", "sync") != "always";
  s.max_key_bytes = config.GetInt("store", "max_key_bytes");
  s.max_value_bytes = config.GetInt("store", "max_value_bytes");
  return s;
}

int DefaultWriteThreads(std::string_view journal_sync, int cores) {
  // A write thread that waits for fdatasync (always) holds no core: more of
  // them let more connections share each group commit. Otherwise a write
  // thread runs on a core the whole time, and one core is left for reads.
  if (journal_sync == "always") return std::max(4, cores);
  return std::max(1, cores - 1);
}

Result<ServerSettings> ServerSettings::FromStore(Store* store) {
  EBB_ASSIGN_OR_RETURN(Config * config, StoreConfig(store));
  return FromConfig(*config);
}

void LiveSettings::Apply(const ServerSettings& s) {
  max_clients_.store(s.max_clients, std::memory_order_relaxed);
  max_query_buffer_bytes_.store(s.max_query_buffer_bytes, std::memory_order_relaxed);
  max_bulk_bytes_.store(s.max_bulk_bytes, std::memory_order_relaxed);
  idle_timeout_s_.store(s.idle_timeout_s, std::memory_order_relaxed);
  keys_max_.store(s.keys_max, std::memory_order_relaxed);
  multi_max_commands_.store(s.multi_max_commands, std::memory_order_relaxed);
  multi_max_bytes_.store(s.multi_max_bytes, std::memory_order_relaxed);
  protected_mode_.store(s.protected_mode, std::memory_order_relaxed);
  MutexLock lock(&mu_);
  requirepass_ = s.requirepass;
  password_required_.store(!s.requirepass.empty(), std::memory_order_release);
  admin_token_ = s.admin_token;
  admin_token_required_.store(!s.admin_token.empty(), std::memory_order_release);
}

namespace {

// Constant time in the position of the first difference.
bool SecretEquals(std::string_view secret, std::string_view candidate) {
  if (secret.empty()) return false;
  unsigned char diff = candidate.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < candidate.size(); i++) {
    diff |= static_cast<unsigned char>(candidate[i] ^ secret[i % secret.size()]);
  }
  return diff == 0;
}

}  // namespace

bool LiveSettings::CheckPassword(std::string_view candidate) const {
  MutexLock lock(&mu_);
  return SecretEquals(requirepass_, candidate);
}

bool LiveSettings::CheckAdminToken(std::string_view candidate) const {
  MutexLock lock(&mu_);
  return SecretEquals(admin_token_, candidate);
}

}  // namespace ebb
