#include "server/admin_ops.h"

#include "engine/admin.h"

namespace ebb {
namespace {

// The compaction daemon's manual controls, through the engine.
class EngineAdminOps final : public AdminOps {
 public:
  explicit EngineAdminOps(Store* store) : store_(store) {}
  Result<uint64_t> EnqueueAll() override { return EnqueueAllForCompaction(store_); }
  Status SuspendChannel(std::string_view channel) override { return SuspendCompactionChannel(store_, channel); }
  Status ResumeChannel(std::string_view channel) override { return ResumeCompactionChannel(store_, channel); }

 private:
  Store* const store_;
};

}  // namespace

std::unique_ptr<AdminOps> NewEngineAdminOps(Store* store) { return std::make_unique<EngineAdminOps>(store); }

}  // namespace ebb
