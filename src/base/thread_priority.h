// Sets a thread's Linux nice value: its CPU weight when the machine is
// saturated (nice 0 is the default, 19 the lowest weight). Used for the
// thread pools whose nice is a setting (readpool.nice_*, server.write_nice,
// work.nice).

#ifndef EBB_BASE_THREAD_PRIORITY_H_
#define EBB_BASE_THREAD_PRIORITY_H_

#include <string_view>

#include "ebb/status.h"

namespace ebb {

// The calling thread's id as the kernel knows it (gettid).
int CurrentThreadId();

// Sets thread `tid`'s nice. `who` names the thread or pool in the error:
// PermissionDenied when lowering it needs CAP_SYS_NICE (a process may
// raise its threads' nice, not lower it back, without that capability),
// IOError otherwise.
Status SetThreadNice(int tid, int nice, std::string_view who);

}  // namespace ebb

#endif  // EBB_BASE_THREAD_PRIORITY_H_
