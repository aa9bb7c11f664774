#!/usr/bin/env python3
"""Keys with TTLs at rest: `ebb serve` against redis-server, memory and CPU.

Both servers run side by side on loopback, on fresh directories and free
ports: `ebb serve` on embedded defaults, and redis-server with
`--appendonly yes --appendfsync everysec` (the durability Ebb's
journal.sync = batch matches). Each gets the same --keys SETs (100-byte
values) with TTLs spread evenly over --spread-s (default 1,000,000 keys over
an hour), sent with `redis-cli --pipe`. After loading, the script waits
until Ebb's background work has settled, then watches both processes for
--minutes (default 10) of no client traffic, while the keys that come due
meanwhile expire, and reports per server:

  rss_bytes            resident memory at the start of the window
  cpu_s                user + system CPU time used during the window
  context_switches     voluntary + involuntary, every thread, during it
  keys_start/keys_end  DBSIZE at the start and the end of the window
  disk_bytes           Ebb: segment and journal bytes (from /status)
  wakeups, compactions Ebb: background dispatcher wakeups and compactions
                       during the window (work.wakeups; per database)
  deadline_wakeups     Ebb: of those wakeups, the ones a timer it armed
                       caused (work.deadline_wakeups): one per due batch
  dispatcher_passes    Ebb: passes the dispatcher ran itself, waking no
                       worker (work.dispatcher_passes)
  thread_switches      Ebb: switches per thread name during the window

With a short --spread-s (say 80 s) and a window as long, every eighth of the
keys comes due inside the window: each compaction is a batch.

    bench/expiry_idle.py [--ebb build/release/bin/ebb] [--keys N] [--spread-s S]
                         [--minutes M] [--json]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ebb_serve import Server, cpu_seconds, free_port, rss_bytes, switch_delta, thread_switches, total_switches  # noqa: E402,E501


def resp(*args):
    out = f"*{len(args)}\r\n"
    for a in args:
        a = str(a)
        out += f"${len(a.encode())}\r\n{a}\r\n"
    return out


def write_load(path, keys, spread_s):
    value = "v" * 100
    with open(path, "w") as f:
        for i in range(keys):
            # TTLs 1..spread_s seconds, evenly spread, in a shuffled key order.
            ttl = 1 + (i * 7919) % spread_s
            f.write(resp("SET", f"key:{i:08d}", value, "EX", ttl))


def load(port, path):
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, check=True,
                       stdout=subprocess.DEVNULL)


def dbsize(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def ebb_status(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/status", timeout=20) as r:
        return json.loads(r.read())


def ebb_settled(status):
    return all(c["state"] == "asleep" and c["pending_bytes"] == 0 for c in status["work"]["classes"]) and all(
        d["memtable_bytes"] == 0 for d in status["databases"])


def start_redis(work):
    port = free_port()
    d = os.path.join(work, "redis")
    os.makedirs(d)
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ebb", default="build/release/bin/ebb")
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--spread-s", type=int, default=3600)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: run scripts/setup.sh bench")
    work = tempfile.mkdtemp(prefix="ebb-expiry-idle-")
    ebb = redis = None
    try:
        load_path = os.path.join(work, "load.resp")
        write_load(load_path, args.keys, args.spread_s)
        ebb = Server(args.ebb, os.path.join(work, "ebb"), [], os.path.join(work, "ebb.log"))
        redis, redis_port = start_redis(work)
        t0 = time.time()
        load(ebb.port, load_path)
        load(redis_port, load_path)
        loaded_s = time.time() - t0
        deadline = time.time() + 600
        while not ebb_settled(ebb_status(ebb)):
            if time.time() > deadline:
                sys.exit("ebb serve did not settle within 10 minutes")
            time.sleep(0.5)
        time.sleep(2)  # redis' AOF fsync of the load, and the last status request
        servers = {"ebb": (ebb.pid, ebb.port), "redis": (redis.pid, redis_port)}
        start = {n: (cpu_seconds(pid), total_switches(pid), rss_bytes(pid), dbsize(port))
                 for n, (pid, port) in servers.items()}
        st0 = ebb_status(ebb)
        disk_start = sum(d["disk_bytes"] for d in st0["databases"])
        wakeups_start = st0["work"]["wakeups"]
        timers_start = st0["work"]["deadline_wakeups"]
        passes_start = st0["work"]["dispatcher_passes"]
        threads_start = thread_switches(ebb.pid)
        compactions_start = sum(d["compactions"] for d in st0["databases"])
        time.sleep(args.minutes * 60)
        rows = []
        for n, (pid, port) in servers.items():
            cpu0, sw0, rss, keys0 = start[n]
            row = {"workload": "expiry_idle", "server": n, "keys_loaded": args.keys, "spread_s": args.spread_s,
                   "minutes": args.minutes, "load_s": loaded_s, "rss_bytes": rss,
                   "rss_bytes_end": rss_bytes(pid), "cpu_s": cpu_seconds(pid) - cpu0,
                   "context_switches": total_switches(pid) - sw0, "keys_start": keys0, "keys_end": dbsize(port)}
            if n == "ebb":
                st = ebb_status(ebb)
                row["disk_bytes_start"] = disk_start
                row["disk_bytes"] = sum(d["disk_bytes"] for d in st["databases"])
                row["wakeups"] = st["work"]["wakeups"] - wakeups_start
                row["deadline_wakeups"] = st["work"]["deadline_wakeups"] - timers_start
                row["dispatcher_passes"] = st["work"]["dispatcher_passes"] - passes_start
                # Which threads ran in the window (the status request above
                # runs on the admin threads).
                row["thread_switches"] = {name: n for name, n in
                                          switch_delta(threads_start, thread_switches(pid)).items() if n}
                row["compactions"] = sum(d["compactions"] for d in st["databases"]) - compactions_start
            rows.append(row)
        for row in rows:
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{row['server']:6} RSS {row['rss_bytes'] / 2**20:8.1f} MiB  CPU {row['cpu_s']:7.2f} s in "
                      f"{args.minutes:g} min  switches {row['context_switches']:8d}  keys {row['keys_start']} -> "
                      f"{row['keys_end']}")
    finally:
        if ebb is not None:
            ebb.kill()
        if redis is not None:
            redis.send_signal(signal.SIGKILL)
            redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
