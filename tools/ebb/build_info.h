// What `ebb --version` reports about the build.

#ifndef EBB_TOOLS_EBB_BUILD_INFO_H_
#define EBB_TOOLS_EBB_BUILD_INFO_H_

#include <string>
#include <string_view>

namespace ebb::tool {

// The commit the binary was built from (12 hex digits, "-dirty" when the
// checkout had uncommitted changes; "unknown" outside a git checkout).
// Generated at build time by cmake/EbbBuildInfo.cmake.
std::string_view BuildCommit();

// "ebb 0.1.0 (commit 0123456789ab)".
std::string VersionLine();

}  // namespace ebb::tool

#endif  // EBB_TOOLS_EBB_BUILD_INFO_H_
