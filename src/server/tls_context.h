// TLS for the RESP listener (server.tls_port): the OpenSSL server context
// built from server.tls_cert_file, tls_key_file, tls_ca_cert_file and
// tls_auth_clients, through Asio's SSL support. A context is immutable once
// built; CONFIG SET of a tls_* setting builds a new one for new connections
// (open connections keep theirs).
//
// TLS 1.2 or later; OpenSSL's default cipher suites. Client certificates:
//   no        none asked for;
//   optional  asked for when tls_ca_cert_file is set, and verified against
//             it when the client sends one (a client without one is served);
//   yes       required and verified (needs tls_ca_cert_file).
//
// This header has no Asio or OpenSSL in it (compile time); the context's
// definition is in tls_context_asio.h, for resp_server.cc.

#ifndef EBB_SERVER_TLS_CONTEXT_H_
#define EBB_SERVER_TLS_CONTEXT_H_

#include <memory>

#include "ebb/status.h"
#include "server/server_settings.h"

namespace ebb {

struct TlsContext;

// Builds the context from the tls_* settings. Errors name the setting, the
// file and OpenSSL's reason ("server.tls_key_file /x/key.pem: key values
// mismatch (does it belong to server.tls_cert_file?)").
Result<std::shared_ptr<TlsContext>> LoadTlsContext(const ServerSettings& settings);

}  // namespace ebb

#endif  // EBB_SERVER_TLS_CONTEXT_H_
