#!/usr/bin/env python3
"""Soak: sustained mixed load against `ebb serve` for --minutes, reported per
minute, to show whether background work keeps up for good.

Starts `ebb serve` (default settings plus any --set) on a fresh data
directory and fills it (--prefill SETs over the 1,000,000 keys, not
measured, so GETs mostly hit from the first minute on), then keeps two
redis-benchmark processes running side by side for the whole time, each
restarted as soon as it finishes a round of --requests:

    redis-benchmark -t set -n REQUESTS -r 1000000 -d 256 -c 50 -P 8 --csv
    redis-benchmark -t get -n REQUESTS -r 1000000 -d 256 -c 50 -P 8 --csv

Every minute it reports, for SET and GET, the requests completed per second
(rounds that ended in that minute) and the p99 latency (the median of those
rounds' p99s), and from /status and /proc: segments per database (max),
space amplification (disk bytes / live bytes over all databases), bytes in
memtables, RSS, compaction jobs done and stuck passes of any work class.
At the end it checks DBSIZE answers within 3 s.

    bench/soak_server.py [--minutes 10] [--requests 200000] [--prefill 2000000]
                         [--ebb build/release/bin/ebb] [--set section.key=value ...] [--json]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ebb_serve import Resp, Server, rss_bytes  # noqa: E402


class Benchmark:
    """One redis-benchmark test (set or get) run in rounds back to back."""

    def __init__(self, test, port, requests):
        self.test = test
        self.cmd = ["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests), "-r", "1000000",
                    "-d", "256", "-c", "50", "-P", "8", "--csv"]
        self.requests = requests
        self.proc = None
        self.started = 0.0
        self.rounds = []  # (end time, requests, seconds, p99 ms)

    def poll(self, stop):
        if self.proc is not None and self.proc.poll() is not None:
            out = self.proc.stdout.read()
            end = time.monotonic()
            for line in out.splitlines():
                fields = [f.strip('"') for f in line.split(",")]
                if fields and fields[0].upper() == self.test.upper() and len(fields) >= 7:
                    self.rounds.append((end, self.requests, end - self.started, float(fields[6])))
            if self.proc.returncode != 0:
                raise RuntimeError(f"{' '.join(self.cmd)} failed with {self.proc.returncode}")
            self.proc = None
        if self.proc is None and not stop:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def minute_report(minute, window, benches, server):
    start, end = window
    row = {"minute": minute}
    for b in benches:
        rounds = [r for r in b.rounds if start <= r[0] < end]
        # Requests per second over the minute: each round's rate, weighted by
        # how much of it fell inside the minute.
        done = 0.0
        for r_end, requests, seconds, _ in rounds:
            inside = min(r_end, end) - max(r_end - seconds, start)
            done += requests * max(0.0, inside) / seconds if seconds > 0 else 0
        row[f"{b.test}_rps"] = done / (end - start)
        row[f"{b.test}_p99_ms"] = median([r[3] for r in rounds])
        row[f"{b.test}_rounds"] = len(rounds)
    status = server.status()
    dbs = status["databases"]
    disk = sum(d["disk_bytes"] for d in dbs)
    live = sum(d["live_bytes"] for d in dbs)
    row["segments_max"] = max((d["segments"] for d in dbs), default=0)
    row["space_amp"] = disk / live if live else None
    row["disk_bytes"] = disk
    row["memtable_bytes"] = sum(d["memtable_bytes"] for d in dbs)
    row["rss_bytes"] = rss_bytes(server.pid)
    row["compactions"] = sum(c["jobs_succeeded"] for c in status["compaction"]["channels"])
    row["stuck_passes"] = sum(c.get("stuck_passes", 0) for c in status["work"]["classes"])
    row["throttled_writes"] = status["work"].get("throttled_writes", 0)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ebb", default="build/release/bin/ebb")
    p.add_argument("--minutes", type=int, default=10)
    p.add_argument("--requests", type=int, default=200000, help="requests per redis-benchmark round")
    p.add_argument("--prefill", type=int, default=2000000, help="SETs before the measured minutes")
    p.add_argument("--set", action="append", default=[], help="section.key=value for ebb serve")
    p.add_argument("--json", action="store_true", help="one JSON object per minute, then a summary object")
    args = p.parse_args()
    if not os.access(args.ebb, os.X_OK):
        sys.exit(f"{args.ebb} is missing: run scripts/build.sh release")
    if shutil.which("redis-benchmark") is None:
        sys.exit("redis-benchmark is missing: run scripts/setup.sh test")
    work = tempfile.mkdtemp(prefix="ebb-soak-")
    server = Server(args.ebb, os.path.join(work, "data"), args.set, os.path.join(work, "serve.log"))
    benches = [Benchmark("set", server.port, args.requests), Benchmark("get", server.port, args.requests)]
    rows = []
    try:
        if args.prefill > 0:
            subprocess.run(["redis-benchmark", "-p", str(server.port), "-t", "set", "-n", str(args.prefill),
                            "-r", "1000000", "-d", "256", "-c", "50", "-P", "16", "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t0 = time.monotonic()
        next_report = t0 + 60
        while len(rows) < args.minutes:
            for b in benches:
                b.poll(stop=False)
            now = time.monotonic()
            if now >= next_report:
                row = minute_report(len(rows) + 1, (next_report - 60, next_report), benches, server)
                rows.append(row)
                print(json.dumps(row) if args.json else
                      f"minute {row['minute']:3d}  SET {row['set_rps']:9.0f}/s p99 {row['set_p99_ms'] or 0:7.1f} ms"
                      f"  GET {row['get_rps']:9.0f}/s p99 {row['get_p99_ms'] or 0:7.1f} ms  segments {row['segments_max']:3d}"
                      f"  space amp {row['space_amp'] or 0:5.2f}  RSS {row['rss_bytes'] / 2**20:7.1f} MiB"
                      f"  stuck passes {row['stuck_passes']}", flush=True)
                next_report += 60
            time.sleep(0.2)
        for b in benches:
            b.kill()
        client = Resp(server.port)
        t = time.monotonic()
        client.command("DBSIZE")
        dbsize_s = time.monotonic() - t
        client.close()
    finally:
        for b in benches:
            b.kill()
        server.kill()
        log = open(os.path.join(work, "serve.log")).read()
        shutil.rmtree(work, ignore_errors=True)
    first, last = rows[0], rows[-1]
    summary = {
        "summary": True,
        "minutes": len(rows),
        "get_rps_last_over_first": last["get_rps"] / first["get_rps"] if first["get_rps"] else None,
        "set_rps_last_over_first": last["set_rps"] / first["set_rps"] if first["set_rps"] else None,
        "segments_max": max(r["segments_max"] for r in rows),
        "space_amp_max": max(r["space_amp"] or 0 for r in rows),
        "rss_max_bytes": max(r["rss_bytes"] for r in rows),
        "stuck_passes": last["stuck_passes"],
        "dbsize_s": dbsize_s,
        "no_progress_warnings": log.count("made no progress"),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(summary) if args.json else
          f"GET last/first {summary['get_rps_last_over_first']:.2f}, SET last/first {summary['set_rps_last_over_first']:.2f}, "
          f"segments max {summary['segments_max']}, space amp max {summary['space_amp_max']:.2f}, "
          f"RSS max {summary['rss_max_bytes'] / 2**20:.0f} MiB, stuck passes {summary['stuck_passes']}, "
          f"'made no progress' warnings {summary['no_progress_warnings']}, DBSIZE {summary['dbsize_s'] * 1000:.0f} ms, "
          f"load average {summary['load_average']:.1f}")


if __name__ == "__main__":
    main()
