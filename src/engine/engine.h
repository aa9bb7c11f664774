// The engine: wires storage, the background runtime, compaction and tiering
// behind the public ebb::Store / ebb::Database API (include/ebb/).
//
// OpenStore is Store::Open with the file system and clock chosen by the
// caller (tests pass MemFileSystem/FaultInjectionFileSystem and ManualClock).

#ifndef EBB_ENGINE_ENGINE_H_
#define EBB_ENGINE_ENGINE_H_

#include <memory>

#include "ebb/store.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"

namespace ebb {

struct EngineEnv {
  FileSystem* fs = nullptr;  // DefaultFileSystem() when null
  Clock* clock = nullptr;    // SystemClock() when null
  // Tests: the object store tiering uses instead of the one [tiering]
  // names (a MemObjectStore that stalls or fails). Not owned.
  ObjectStore* tier_store = nullptr;
};

Result<std::unique_ptr<Store>> OpenStore(const Options& options, EngineEnv env);

}  // namespace ebb

#endif  // EBB_ENGINE_ENGINE_H_
