#!/usr/bin/env python3
"""What a lone write costs `ebb serve`, counted from outside the process.

For each write interval (default 2 s and 0.4 s) it starts `ebb serve` on a
fresh data directory (loopback, free ports, default settings plus any
--set), lets it settle, then sends one 100-byte SET per interval over one
connection for --seconds and counts the context switches (voluntary and
involuntary) of every thread of the server from /proc/<pid>/task/*/status.
It then checks what the user cares about:

  - on disk in time: within work.max_pending_age_s (+ --slack-s) after the
    last write, no database has bytes left in memtables (read from the
    admin /status JSON): the data is in segment files;
  - nothing lost: the server is killed with SIGKILL, restarted on the same
    directory, and every acknowledged key is read back with its value.

The journal's fdatasync is started without waiting where the kernel can
(Linux native AIO): a kernel worker, not a thread of the server, then
waits for the disk, and is not counted here (where those waits go:
bench/results/2026-12-07-trickle-aio/perf_sync_waits.py).

    bench/trickle_server.py [--ebb build/release/bin/ebb] [--intervals 2,0.4]
                            [--seconds 60] [--settle-s 40] [--set k=v ...]
                            [--work-dir DIR] [--json]

--work-dir puts the data directories on another file system (default: the
system's temporary directory); bench/trickle_fs.sh runs the script on a
fresh ext4 file system with its default journal, on a loop device.

Prints a table (or one JSON object per interval with --json) of writes,
context switches, switches per write and the busiest threads.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ebb_serve import Resp, Server, involuntary_switches, switch_delta, thread_switches  # noqa: E402


def unflushed_bytes(status):
    """Bytes in memtables (not yet in segment files), summed over databases."""
    return sum(d.get("memtable_bytes", 0) for d in status.get("databases", []))


def file_system(path):
    """The type and mount options of the file system holding path
    (/proc/mounts), and for ext4 whether it has a journal (/proc/fs/jbd2)."""
    path = os.path.realpath(path)
    best = ("", "", "", "")
    with open("/proc/mounts") as f:
        for line in f:
            device, mount, fstype, options = line.split()[:4]
            if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[0]):
                best = (mount, fstype, options, device)
    mount, fstype, options, device = best
    if fstype == "ext4":
        name = os.path.basename(device)
        journaled = os.path.isdir("/proc/fs/jbd2") and any(
            j.startswith(name + "-") for j in os.listdir("/proc/fs/jbd2"))
        fstype += " with a journal" if journaled else " without a journal"
    return f"{fstype} ({options}) at {mount}"


def run_interval(args, interval, work):
    data_dir = os.path.join(work, f"data-{interval}")
    log_path = os.path.join(work, f"serve-{interval}.log")
    server = Server(args.ebb, data_dir, args.set, log_path)
    try:
        client = Resp(server.port)
        client.command("PING")
        time.sleep(args.settle_s)  # start-up work (smoosh's wait, opening) is not the trickle's
        value = os.urandom(50).hex()  # 100 bytes
        keys = []
        before = thread_switches(server.pid)
        involuntary_before = involuntary_switches(server.pid)
        start = time.monotonic()
        n = int(round(args.seconds / interval))
        for i in range(n):
            due = start + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = f"trickle:{interval}:{i:06d}"
            if client.command("SET", key, value) != b"OK":
                raise RuntimeError(f"SET {key} was not acknowledged")
            keys.append(key)
        # Count through one more interval: the last write's reaction too.
        time.sleep(max(0.0, start + n * interval - time.monotonic()))
        after = thread_switches(server.pid)
        involuntary = involuntary_switches(server.pid) - involuntary_before
        per_thread = switch_delta(before, after)
        total = sum(per_thread.values())
        last_write = time.monotonic() - interval

        # In segment files within the pending age limit.
        reply = client.command("CONFIG", "GET", "work.max_pending_age_s")  # [name, value]
        age_limit = float(reply[1]) if reply and len(reply) == 2 else 0.0
        on_disk_s = None
        limit = (age_limit if age_limit > 0 else 60) + args.slack_s
        while time.monotonic() - last_write < limit:
            if unflushed_bytes(server.status()) == 0:
                on_disk_s = time.monotonic() - last_write
                break
            time.sleep(0.25)
        client.close()
    finally:
        server.kill()

    # Nothing lost: restart after SIGKILL and read every key back.
    server = Server(args.ebb, data_dir, args.set, log_path)
    try:
        client = Resp(server.port)
        lost = sum(1 for k in keys if client.command("GET", k) != value.encode())
        client.close()
    finally:
        server.kill()
    busiest = sorted(per_thread.items(), key=lambda kv: -kv[1])
    return {
        "interval_s": interval,
        "seconds": args.seconds,
        "writes": len(keys),
        "context_switches": total,
        "per_write": total / len(keys) if keys else 0.0,
        # Of the switches, preemptions: on a machine shared with the client,
        # mostly the client woken by its reply taking the server's core.
        "involuntary": involuntary,
        "per_second": total / args.seconds,
        "threads": {name: count for name, count in busiest if count > 0},
        "max_pending_age_s": age_limit,
        "on_disk_after_s": on_disk_s,
        "lost": lost,
        "file_system": file_system(work),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ebb", default="build/release/bin/ebb")
    p.add_argument("--intervals", default="2,0.4", help="seconds between writes, comma-separated")
    p.add_argument("--seconds", type=float, default=60, help="length of each trickle")
    p.add_argument("--settle-s", type=float, default=40,
                   help="wait after start before counting (smoosh.wait_secs is 30)")
    p.add_argument("--slack-s", type=float, default=5, help="allowed beyond work.max_pending_age_s for on-disk")
    p.add_argument("--set", action="append", default=[], help="section.key=value for ebb serve")
    p.add_argument("--work-dir", help="directory for the data directories (default: the system's temporary one)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not os.access(args.ebb, os.X_OK):
        sys.exit(f"{args.ebb} is missing: run scripts/build.sh release")
    work = tempfile.mkdtemp(prefix="ebb-trickle-", dir=args.work_dir)
    results = []
    try:
        for interval in [float(x) for x in args.intervals.split(",")]:
            r = run_interval(args, interval, work)
            results.append(r)
            if args.json:
                print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.json:
        print(f"ebb serve, one 100-byte SET per interval for {args.seconds:g} s; context switches of every thread "
              f"(/proc/<pid>/task/*/status, voluntary + involuntary); load average {os.getloadavg()[0]:.2f}")
        print()
        print("| one write every | writes | context switches | per write | involuntary per write | per second | "
              "busiest threads | on disk after | lost |")
        print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
        for r in results:
            top = ", ".join(f"`{n}` {c}" for n, c in list(r["threads"].items())[:4])
            on_disk = "never" if r["on_disk_after_s"] is None else f"{r['on_disk_after_s']:.1f} s"
            involuntary = r["involuntary"] / r["writes"] if r["writes"] else 0.0
            print(f"| {r['interval_s']:g} s | {r['writes']} | {r['context_switches']} | {r['per_write']:.2f} | "
                  f"{involuntary:.2f} | {r['per_second']:.1f} | {top} | {on_disk} | {r['lost']} |")
    if any(r["lost"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
