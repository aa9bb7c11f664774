#!/usr/bin/env python3
"""Where a lone write's fdatasync waits, counted with perf: starts `ebb
serve` on a fresh data directory, sends N 100-byte SETs INTERVAL seconds
apart, and records every context switch of the machine with its kernel
stack (perf record -a -e sched:sched_switch -g). Reports, per write, the
switches of the server's threads and the switches of any thread (a kernel
worker included) that blocked inside an fsync (a stack with vfs_fsync_range,
do_fsync, aio_fsync_work or ext4_sync_file), by thread name.

    perf_sync_waits.py EBB [N] [INTERVAL]   (root; perf)
"""
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from ebb_serve import Resp, Server  # noqa: E402

ebb = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
work = tempfile.mkdtemp(prefix="ebb-perf-sync-")
data = os.path.join(work, "perf.data")
server = Server(ebb, os.path.join(work, "data"), [], os.path.join(work, "serve.log"))
try:
    client = Resp(server.port)
    client.command("PING")
    time.sleep(35)  # start-up work is not the trickle's
    perf = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-e", "sched:sched_switch", "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    value = os.urandom(50).hex()
    start = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, start + i * interval - time.monotonic()))
        client.command("SET", f"k{i}", value)
    time.sleep(interval)
    perf.send_signal(2)
    perf.wait()
    tids = set(os.listdir(f"/proc/{server.pid}/task"))
finally:
    server.kill()
script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,event,ip,sym"], capture_output=True,
                        text=True).stdout
server_switches = collections.Counter()
fsync_waits = collections.Counter()
for block in script.split("\n\n"):
    lines = block.strip().splitlines()
    if not lines:
        continue
    head = lines[0].split()
    comm, tid = head[0], head[1]
    stack = " ".join(lines[1:])
    if tid in tids:
        server_switches[comm] += 1
    if any(f in stack for f in ("vfs_fsync", "do_fsync", "aio_fsync_work", "ext4_sync_file")):
        name = "kworker" if comm.startswith("kworker") else comm
        fsync_waits[name + (" (ebb)" if tid in tids else "")] += 1
shutil.rmtree(work, ignore_errors=True)
print(f"{n} SETs {interval:g} s apart")
print("server threads' switches per write:", {k: round(v / n, 2) for k, v in server_switches.most_common()})
print("switches inside fsync per write, by thread:", {k: round(v / n, 2) for k, v in fsync_waits.most_common()})
