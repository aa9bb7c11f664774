// AdminOps: what EBB.ENQUEUEALL, EBB.SUSPEND and EBB.RESUME ask of the
// engine's compaction daemon. Kept behind an interface so the server does
// not depend on how the engine wires smoosh; NewEngineAdminOps binds it to
// the engine's admin functions (src/engine/admin.h).
//
// Thread safety: implementations are thread-safe; the server calls them
// from its admin executor, never from an I/O or ReadPool thread.

#ifndef EBB_SERVER_ADMIN_OPS_H_
#define EBB_SERVER_ADMIN_OPS_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "ebb/status.h"
#include "ebb/store.h"

namespace ebb {

class AdminOps {
 public:
  virtual ~AdminOps() = default;
  // Offers every database to the compaction channels; returns how many were
  // queued.
  virtual Result<uint64_t> EnqueueAll() = 0;
  // Suspends / resumes one compaction channel, or every one with "all".
  // NotFound for an unknown channel.
  virtual Status SuspendChannel(std::string_view channel) = 0;
  virtual Status ResumeChannel(std::string_view channel) = 0;
};

// The engine's implementation for `store` (not owned; must outlive it).
std::unique_ptr<AdminOps> NewEngineAdminOps(Store* store);

}  // namespace ebb

#endif  // EBB_SERVER_ADMIN_OPS_H_
