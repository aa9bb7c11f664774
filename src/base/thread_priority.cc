#include "base/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ebb {

int CurrentThreadId() { return static_cast<int>(gettid()); }

Status SetThreadNice(int tid, int nice, std::string_view who) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) == 0) return Status::OK();
  const int err = errno;
  std::string what = fmt::format("{}: cannot set nice {} on thread {} ({})", who, nice, tid, std::strerror(err));
  if (err == EACCES || err == EPERM) {
    return Status::PermissionDenied(what +
                                    "; lowering a thread's nice needs CAP_SYS_NICE: grant it, or restart with the "
                                    "new value");
  }
  return Status::IOError(what);
}

}  // namespace ebb
