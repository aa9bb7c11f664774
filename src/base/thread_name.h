// Names the calling thread, as `top -H`, `ps -L`, perf and gdb show it.
// Every long-lived thread Ebb starts is named (docs/server.md, "Threads").

#ifndef EBB_BASE_THREAD_NAME_H_
#define EBB_BASE_THREAD_NAME_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ebb {

// Linux keeps 15 characters of a thread's name (plus the terminator).
inline constexpr size_t kMaxThreadNameChars = 15;

// Sets the calling thread's name, cut to kMaxThreadNameChars. Best effort:
// a name is for people and tools, so failing to set one is not an error.
void SetCurrentThreadName(std::string_view name);

// The calling thread's name ("" if it cannot be read).
std::string CurrentThreadName();

}  // namespace ebb

#endif  // EBB_BASE_THREAD_NAME_H_
