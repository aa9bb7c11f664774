// The definition of TlsContext (tls_context.h): an asio::ssl::context. Only
// tls_context.cc and resp_server.cc include this (Asio's SSL headers are
// heavy).

#ifndef EBB_SERVER_TLS_CONTEXT_ASIO_H_
#define EBB_SERVER_TLS_CONTEXT_ASIO_H_

#include <asio/ssl/context.hpp>

#include "server/tls_context.h"

namespace ebb {

struct TlsContext {
  TlsContext() : ssl(asio::ssl::context::tls_server) {}
  asio::ssl::context ssl;
};

}  // namespace ebb

#endif  // EBB_SERVER_TLS_CONTEXT_ASIO_H_
