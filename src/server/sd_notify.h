// The service manager notification protocol of systemd (sd_notify(3)),
// spoken without libsystemd: one datagram of newline-separated VAR=VALUE
// assignments ("READY=1", "STATUS=...", "RELOADING=1", "STOPPING=1") sent to
// the AF_UNIX socket named by $NOTIFY_SOCKET, a file system path or, with a
// leading '@', a name in the abstract namespace. systemd sets it for units
// with Type=notify; elsewhere it is unset and notifying does nothing.
//
// Thread safety: thread-safe (no shared state).

#ifndef EBB_SERVER_SD_NOTIFY_H_
#define EBB_SERVER_SD_NOTIFY_H_

#include <string_view>

#include "ebb/status.h"

namespace ebb {

// Sends `state` to $NOTIFY_SOCKET. OK without sending anything when the
// variable is unset or empty; an error (naming the socket) when it is set
// but the message cannot be delivered.
Status SdNotify(std::string_view state);

// Sends `state` to the socket `address` ("/run/systemd/notify" or
// "@abstract-name").
Status SdNotifyTo(std::string_view address, std::string_view state);

}  // namespace ebb

#endif  // EBB_SERVER_SD_NOTIFY_H_
