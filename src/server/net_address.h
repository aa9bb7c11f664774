// Whether an address is loopback, for the decisions that depend on where
// the server listens and where a client comes from: the admin token
// (required off loopback) and protected mode (docs/server.md, "Security").

#ifndef EBB_SERVER_NET_ADDRESS_H_
#define EBB_SERVER_NET_ADDRESS_H_

#include <string_view>

namespace ebb {

// True for 127.0.0.0/8, ::1, IPv4-mapped ::ffff:127.x.y.z and "localhost".
// False for anything else, including wildcards (0.0.0.0, ::), other host
// names and text that is not an address.
bool IsLoopbackAddress(std::string_view address);

}  // namespace ebb

#endif  // EBB_SERVER_NET_ADDRESS_H_
