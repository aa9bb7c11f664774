#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include "server/tls_context_asio.h"

namespace ebb {
namespace {

// OpenSSL's reason for the last failure, or the Asio error's text.
std::string Reason(const asio::error_code& ec) {
  unsigned long code = ERR_peek_last_error();
  std::string text;
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    const char* reason = ERR_reason_error_string(code);
    text = reason != nullptr ? reason : buffer;
  } else {
    text = ec.message();
  }
  ERR_clear_error();
  return text;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> LoadTlsContext(const ServerSettings& s) {
  if (s.tls_cert_file.empty() || s.tls_key_file.empty()) {
    return Status::InvalidArgument(fmt::format(
        "server.tls_port is {}: TLS needs server.tls_cert_file and server.tls_key_file (PEM files)", s.tls_port));
  }
  ERR_clear_error();
  auto context = std::make_shared<TlsContext>();
  asio::ssl::context& ssl = context->ssl;
  asio::error_code ec;
  ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                      asio::ssl::context::no_compression | asio::ssl::context::single_dh_use,
                  ec);
  SSL_CTX* native = ssl.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Give an idle connection's read and write buffers back (most of what a
  // TLS connection costs beyond a plain one).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  ssl.use_certificate_chain_file(s.tls_cert_file, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("server.tls_cert_file {}: {} (a PEM certificate chain)", s.tls_cert_file, Reason(ec)));
  }
  ssl.use_private_key_file(s.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("server.tls_key_file {}: {} (a PEM private key)", s.tls_key_file, Reason(ec)));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument(fmt::format("server.tls_key_file {}: {} (does it belong to server.tls_cert_file {}?)",
                                               s.tls_key_file, Reason(ec), s.tls_cert_file));
  }
  if (!s.tls_ca_cert_file.empty()) {
    ssl.load_verify_file(s.tls_ca_cert_file, ec);
    if (ec) {
      return Status::InvalidArgument(
          fmt::format("server.tls_ca_cert_file {}: {} (PEM CA certificates)", s.tls_ca_cert_file, Reason(ec)));
    }
  }
  if (s.tls_auth_clients == "yes") {
    if (s.tls_ca_cert_file.empty()) {
      return Status::InvalidArgument(
          "server.tls_auth_clients is yes: client certificates are verified against server.tls_ca_cert_file, "
          "which is not set");
    }
    ssl.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  } else if (s.tls_auth_clients == "optional" && !s.tls_ca_cert_file.empty()) {
    ssl.set_verify_mode(asio::ssl::verify_peer, ec);
  } else {
    ssl.set_verify_mode(asio::ssl::verify_none, ec);
  }
  if (ec) return Status::Internal(fmt::format("TLS: cannot set the verify mode: {}", Reason(ec)));
  // Session resumption needs an id context when clients are verified.
  static const unsigned char kSessionId[] = "ebb";
  SSL_CTX_set_session_id_context(native, kSessionId, sizeof(kSessionId) - 1);
  return context;
}

}  // namespace ebb
