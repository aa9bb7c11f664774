#include "server/admin_ops.h"

namespace ebb {
namespace {

// Until the engine exposes its compaction daemon (src/engine/admin.h), the
// commands answer that this build cannot do it rather than pretend.
class EngineAdminOps final : public AdminOps {
 public:
  explicit EngineAdminOps(Store* store) : store_(store) {}
  Result<uint64_t> EnqueueAll() override { return Unsupported("EBB.ENQUEUEALL"); }
  Status SuspendChannel(std::string_view) override { return Unsupported("EBB.SUSPEND"); }
  Status ResumeChannel(std::string_view) override { return Unsupported("EBB.RESUME"); }

 private:
  static Status Unsupported(std::string_view what) {
    return Status::NotSupported(std::string(what) +
                                ": this build's engine has no compaction daemon wired (src/engine/admin.h)");
  }
  [[maybe_unused]] Store* const store_;
};

}  // namespace

std::unique_ptr<AdminOps> NewEngineAdminOps(Store* store) { return std::make_unique<EngineAdminOps>(store); }

}  // namespace ebb
