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

namespace ebb {

struct EngineEnv {
  FileSystem* fs = nullptr;  // DefaultFileSystem() when null
  Clock* clock = nullptr;    // SystemClock() when null
};

Result<std::unique_ptr<Store>> OpenStore(const Options& options, EngineEnv env);

}  // namespace ebb

#endif  // EBB_ENGINE_ENGINE_H_
