// Operator actions on a store opened by this engine that are not part of the
// embedding API: the compaction daemon's manual controls (EBB.ENQUEUEALL,
// EBB.SUSPEND, EBB.RESUME in the server; smoosh's enqueue_all / suspend /
// resume), the configuration object behind Store::GetConfig, and the tier's
// recall and garbage collection (`ebb tier recall`, `ebb tier gc`).

#ifndef EBB_ENGINE_ADMIN_H_
#define EBB_ENGINE_ADMIN_H_

#include <cstdint>
#include <string_view>

#include "ebb/status.h"
#include "ebb/store.h"
#include "tiering/tiering_agent.h"

namespace ebb {

class Config;

// The store's configuration itself, for the layers above the engine that
// need what Store::GetConfig does not show (secrets, as `ebb serve` needs
// server.requirepass) or that validate changes to their own section
// (Config::AddValidator). Lives as long as the store; InvalidArgument for a
// Store not opened by this engine.
Result<Config*> StoreConfig(Store* store);

// Offers every database to the compaction channels (bypassing the staleness
// cache). Returns how many were queued. Aborted once the store is closed;
// InvalidArgument for a Store not opened by this engine.
Result<uint64_t> EnqueueAllForCompaction(Store* store);

// Suspends or resumes one compaction channel by name, or every channel with
// "all". Sticky: a window opening does not undo a suspension. Idempotent.
// NotFound for an unknown channel.
Status SuspendCompactionChannel(Store* store, std::string_view channel);

// `ebb tier recall`: recalls the evicted segments of `database` (every
// database when empty) on the calling thread, whatever the local target,
// as long as the disk has room. InvalidArgument when the store runs no
// tiering (nothing is evicted), NotFound for an unknown database.
Result<RecallReport> RecallEvictedSegments(Store* store, std::string_view database, const ProgressFn& progress);

// `ebb tier gc`: one garbage collection pass of the bucket now.
Result<GcReport> CollectTierGarbage(Store* store, bool dry_run);
Status ResumeCompactionChannel(Store* store, std::string_view channel);

}  // namespace ebb

#endif  // EBB_ENGINE_ADMIN_H_
