// Counters of the RESP server, shown by INFO, /status ("server") and
// /metrics. Relaxed atomics: each is exact on its own, a set of them read
// together is not a snapshot.

#ifndef EBB_SERVER_SERVER_STATS_H_
#define EBB_SERVER_SERVER_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "server/command_table.h"

namespace ebb {

struct ServerStats {
  std::atomic<int64_t> connected_clients{0};
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};  // over server.max_clients
  std::atomic<uint64_t> commands_processed{0};
  std::atomic<uint64_t> unknown_commands{0};
  std::atomic<uint64_t> error_replies{0};
  std::atomic<uint64_t> keyspace_hits{0};
  std::atomic<uint64_t> keyspace_misses{0};
  std::atomic<uint64_t> busy_rejections{0};      // -BUSY answers (ReadPool or admin queue full)
  std::atomic<uint64_t> protocol_errors{0};      // connections closed for malformed input
  std::atomic<uint64_t> limit_disconnects{0};    // connections closed for query buffer limits
  std::atomic<uint64_t> idle_disconnects{0};     // connections closed by server.idle_timeout_s
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> protected_mode_denials{0};  // clients refused by protected mode
  std::atomic<uint64_t> tls_handshake_failures{0};  // TLS clients closed before or in the handshake
  std::atomic<uint64_t> net_input_bytes{0};
  std::atomic<uint64_t> net_output_bytes{0};
  std::atomic<uint64_t> write_batches{0};        // WriteBatches written for clients
  std::atomic<uint64_t> inline_writes{0};        // of those, on a connection's thread (server.inline_writes)
  std::atomic<uint64_t> write_batch_commands{0}; // commands those batches carried
  std::atomic<uint64_t> transactions_executed{0};       // EXECs that ran their commands
  std::atomic<uint64_t> transactions_watch_aborted{0};  // EXECs answered nil: a watched key changed
  std::atomic<uint64_t> transactions_error_aborted{0};  // EXECs answered EXECABORT: a queued command failed
  std::array<std::atomic<uint64_t>, kNumCommands> calls{};
};

}  // namespace ebb

#endif  // EBB_SERVER_SERVER_STATS_H_
