#!/usr/bin/env python3
# perf_io_thread.py EBB TRICKLE_INTERVAL_S SECONDS OUT_PREFIX (as root): one ebb serve, a trickle of SETs,
# perf sched_switch -g of ebb-io-0; voluntary switches per write, and where it blocked (first tag in the stack).
"""Trickle against one ebb serve; perf sched_switch of the ebb-io-0 thread;
report voluntary switches per write of ebb-io-0 and where in fdatasync it blocks."""
import os, subprocess, sys, tempfile, time, collections
sys.path.insert(0, "bench")  # run from the repository root
from ebb_serve import Resp, Server
ebb, interval, seconds, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
work = tempfile.mkdtemp(prefix="ebb-perf-")
server = Server(ebb, os.path.join(work, "d"), [], os.path.join(work, "log"))
def vol(tid):
    with open(f"/proc/{server.pid}/task/{tid}/status") as f:
        for l in f:
            if l.startswith("voluntary_ctxt_switches:"): return int(l.split()[1])
try:
    c = Resp(server.port); c.command("PING")
    time.sleep(35)
    io = [t for t in os.listdir(f"/proc/{server.pid}/task") if open(f"/proc/{server.pid}/task/{t}/comm").read().strip() == "ebb-io-0"][0]
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "sched:sched_switch", "-g", "-t", io, "-o", out + ".data"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    v0 = vol(io)
    n = int(seconds / interval); start = time.monotonic()
    for i in range(n):
        d = start + i * interval - time.monotonic()
        if d > 0: time.sleep(d)
        assert c.command("SET", f"k{i}", "v" * 100) == b"OK"
    time.sleep(interval)
    v1 = vol(io)
    perf.send_signal(2); perf.wait()
    print(f"{ebb} interval {interval}: writes {n}, ebb-io-0 voluntary {v1 - v0} ({(v1 - v0) / n:.2f} per write)")
finally:
    server.kill()
script = subprocess.run(["perf", "script", "-i", out + ".data"], capture_output=True, text=True).stdout
counts = collections.Counter()
for block in script.split("\n\n"):
    lines = [l.strip() for l in block.strip().splitlines()]
    if not lines: continue
    funcs = [l.split()[1] if len(l.split()) > 1 else "" for l in lines[1:]]
    key = "other"
    for tag in ("jbd2_log_wait_commit", "jbd2_complete_transaction", "blkdev_issue_flush", "folio_wait_writeback",
                "__filemap_fdatawait_range", "file_write_and_wait_range", "ext4_sync_file", "epoll_wait", "do_epoll_wait"):
        if any(f.startswith(tag) for f in funcs):
            key = tag; break
    counts[key] += 1
for k, v in counts.most_common(): print(f"  {k}: {v} ({v / n:.2f} per write)")
