#!/usr/bin/env python3
"""Markdown tables from a bench/run_all.sh results directory.

    bench/summarize.py bench/results/2026-11-21 > tables.md

Each benchmark's JSON lines are grouped by configuration; repeated runs
(core, readisolation) are reduced to their median. docs/BENCHMARKS.md quotes
these tables.
"""

import json
import os
import statistics
import sys
from collections import defaultdict


def load(directory, name):
    path = os.path.join(directory, name + ".jsonl")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not JSON ({e})")
    return rows


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def grouped(rows, *keys):
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r.get(k) for k in keys)].append(r)
    return groups


def med(group, field):
    return median([r.get(field) for r in group])


def num(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def core(directory):
    out = []
    rows = load(directory, "core")
    if rows:
        g = grouped(rows, "workload", "engine")
        runs = len(g.get(("fillrandom", "ebb"), []))
        out.append(f"Single thread, 1,000,000 ops, 16-byte keys, 100-byte values, no sync; median of {runs} runs.\n\n")
        body = []
        for w in ("fillrandom", "readrandom", "overwrite"):
            e, r, l = (med(g.get((w, x), []), "ops_per_sec") for x in ("ebb", "rocksdb", "leveldb"))
            p = [num(med(g.get((w, x), []), "p99_us"), 1) for x in ("ebb", "rocksdb", "leveldb")]
            body.append([w, num(e), num(r), num(l), ratio(e, r), ratio(e, l), " / ".join(p)])
        out.append(table(["workload", "Ebb ops/s", "RocksDB ops/s", "LevelDB ops/s", "Ebb / RocksDB", "Ebb / LevelDB",
                          "p99 us (Ebb / RocksDB / LevelDB)"], body))
        amp = [num(med(g.get(("compact", x), []), "space_amp"), 3) for x in ("ebb", "rocksdb", "leveldb")]
        out.append(f"\nDisk / live data after overwrite + full compaction: Ebb {amp[0]}, RocksDB {amp[1]}, "
                   f"LevelDB {amp[2]}.\n")
    more = load(directory, "core-more") + load(directory, "core-sync")
    if more:
        g = grouped(more, "workload", "engine")
        body = []
        for w, what in (("fillseq", "4 threads, no sync"), ("readseq", "4 threads"),
                        ("readwhilewriting", "4 readers + 1 writer, no sync"),
                        ("fillrandom", "8 threads, sync batch, 200,000 ops")):
            e, r, l = (med(g.get((w, x), []), "ops_per_sec") for x in ("ebb", "rocksdb", "leveldb"))
            body.append([f"{w} ({what})", num(e), num(r), num(l), ratio(e, r), ratio(e, l)])
        out.append("\n" + table(["workload", "Ebb ops/s", "RocksDB ops/s", "LevelDB ops/s", "Ebb / RocksDB",
                                 "Ebb / LevelDB"], body))
    return "".join(out)


def writers(directory, name="writers"):
    rows = load(directory, name)
    if not rows:
        return ""
    g = grouped(rows, "dbs", "sync", "threads", "completion")
    body = []
    for dbs in sorted({r["dbs"] for r in rows}):
        for sync in ("batch", "none"):
            for t in sorted({r["threads"] for r in rows}):
                op, db = g.get((dbs, sync, t, "op_lock"), []), g.get((dbs, sync, t, "db_lock"), [])
                if not op or not db:
                    continue
                body.append([f"{dbs}", sync, t, num(med(op, "ops_per_sec")), num(med(db, "ops_per_sec")),
                             ratio(med(op, "ops_per_sec"), med(db, "ops_per_sec")),
                             f"{num(med(op, 'p99_us'), 1)} / {num(med(db, 'p99_us'), 1)}",
                             f"{num(med(op, 'p999_us'), 0)} / {num(med(db, 'p999_us'), 0)}",
                             # Little's law: closed-loop threads / throughput.
                             f"{num(t * 1e6 / med(op, 'ops_per_sec'), 1)} / {num(t * 1e6 / med(db, 'ops_per_sec'), 1)}",
                             num(med(op, "items_per_completion"), 2),
                             f"{num(med(op, 'lock_wait_us_per_op'), 2)} / {num(med(db, 'lock_wait_us_per_op'), 2)}"])
    return table(["dbs", "sync", "threads", "op_lock ops/s", "db_lock ops/s", "op / db", "p99 us (op / db)",
                  "p999 us (op / db)", "mean us (op / db)", "items per completion (op)", "lock wait us/op (op / db)"], body)


def readisolation(directory):
    rows = load(directory, "readisolation")
    if not rows:
        return ""
    for r in rows:
        r.setdefault("loop", "closed")  # results from before the paced phases
        r.setdefault("write_nice", 0)  # results from before server.write_nice
    niced = [r for r in rows if r["scenario"] == "writes" and r["read_exec"] == "readpool" and r["write_nice"] != 0]
    rows = [r for r in rows if r not in niced]
    g = grouped(rows, "sync", "scenario", "read_exec", "loop")
    gn = grouped(niced, "sync", "loop", "write_nice")
    syncs = sorted({r.get("sync") for r in rows if r.get("sync")})
    out = []
    body = []
    for sync in syncs:
        for loop in ("closed", "paced"):
            ro = g.get((sync, "writes", "read-only baseline", loop), [])
            rp = g.get((sync, "writes", "readpool", loop), [])
            sh = g.get((sync, "writes", "shared (writes+reads)", loop), [])
            if not ro:
                continue
            ro99, rp99, sh99 = med(ro, "read_p99_us"), med(rp, "read_p99_us"), med(sh, "read_p99_us")
            body.append([sync, loop, num(ro99, 1), num(rp99, 1), num(sh99, 1), ratio(rp99, ro99), ratio(sh99, rp99),
                         f"{num(med(rp, 'read_ops_per_sec'))} / {num(med(sh, 'read_ops_per_sec'))}",
                         f"{num(med(rp, 'writes_per_sec'))} / {num(med(sh, 'writes_per_sec'))}"])
    out.append(table(["sync", "loop", "read-only p99 us", "ReadPool p99 us, writes saturating",
                      "shared p99 us, writes saturating", "ReadPool / read-only", "shared / ReadPool",
                      "reads/s (ReadPool / shared)", "writes/s (ReadPool / shared)"], body))
    body = []
    for (sync, loop, nice), rs in sorted(gn.items()):
        ro = g.get((sync, "writes", "read-only baseline", loop), [])
        rp = g.get((sync, "writes", "readpool", loop), [])
        sh = g.get((sync, "writes", "shared (writes+reads)", loop), [])
        ro99, rp99, n99, sh99 = (med(ro, "read_p99_us"), med(rp, "read_p99_us"), med(rs, "read_p99_us"),
                                 med(sh, "read_p99_us"))
        body.append([sync, loop, str(nice), num(ro99, 1), num(rp99, 1), num(n99, 1), ratio(n99, ro99), ratio(sh99, n99),
                     f"{num(med(rp, 'writes_per_sec'))} / {num(med(rs, 'writes_per_sec'))}"])
    if body:
        out.append("\n" + table(["sync", "loop", "server.write_nice", "read-only p99 us", "ReadPool p99 us (nice 0)",
                                 "ReadPool p99 us (niced writes)", "niced / read-only", "shared / niced",
                                 "writes/s (nice 0 / niced)"], body))
    body = []
    for sync in syncs:
        for loop in ("closed", "paced"):
            alone = g.get((sync, "scans", "high alone", loop), [])
            loaded = g.get((sync, "scans", "high while low scans", loop), [])
            if not alone:
                continue
            a, l = med(alone, "read_p99_us"), med(loaded, "read_p99_us")
            body.append([sync, loop, num(a, 1), num(l, 1), f"{(l / a - 1) * 100:+.0f}%" if a and l else "-",
                         num(med(loaded, "low_scans_per_sec"))])
    out.append("\n" + table(["sync", "loop", "high p99 us alone", "high p99 us, low scans saturating", "change",
                             "low scans/s"], body))
    body = []
    for sync in sorted({r.get("sync") for r in rows if r.get("sync")}):
        o = g.get((sync, "overload", "readpool at 2x capacity", "closed"), []) + \
            g.get((sync, "overload", "readpool at 2x capacity", "paced"), [])
        if not o:
            continue
        body.append([sync, num(med(o, "capacity_reads_per_sec")), num(med(o, "offered_reads_per_sec")),
                     num(med(o, "rejected_fraction"), 3), num(med(o, "read_p99_us"), 0),
                     num(med(o, "reject_cost_us"), 2), num(med(o, "reject_cost_p99_us"), 2)])
    out.append("\n" + table(["sync", "capacity reads/s", "offered reads/s", "rejected fraction",
                             "admitted p99 us", "reject cost us (mean)", "reject cost us (p99)"], body))
    return "".join(out)


def idle(directory):
    rows = [r for r in load(directory, "idle") if r.get("trace") != "trickle"]
    if not rows:
        return ""
    g = grouped(rows, "policy", "trace")
    body = []
    for (policy, trace), rs in g.items():
        sustained = trace == "sustained"
        drained = [r for r in rs if r.get("drained")]
        if sustained:
            quiescence = "-"
        elif len(drained) == len(rs):
            quiescence = num(med(rs, "quiescence_s"), 2)
        else:
            quiescence = "never (work left pending)" if not drained else f"{len(rs) - len(drained)} of {len(rs)} runs never"
        body.append([policy, trace, quiescence,
                     "-" if sustained else num(max(r.get("idle_wakeups", 0) for r in rs)),
                     "-" if sustained else num(max(r.get("idle_cpu_s", 0) for r in rs), 3),
                     num(med(rs, "background_bytes") / 1e6, 1),
                     num(med(rs, "in_band_fraction"), 3) if sustained else "-", num(med(rs, "p99_us"), 1), len(rs)])
    return table(["policy", "trace", "quiescence s", "wakeups in 60 s after (max)", "CPU s in 60 s after (max)",
                  "background MB written", "in band", "write p99 us", "runs"], body) + \
        "\nMedians over the runs; wakeups and CPU after quiescence are the largest of any run.\n"


def trickle(directory):
    """ebb-bench idle --trace trickle (embedded) and bench/trickle_server.py (ebb serve)."""
    out = []
    rows = [r for r in load(directory, "trickle") if r.get("trace") == "trickle"]
    if rows:
        body = []
        for (policy, period), rs in grouped(rows, "policy", "period_s").items():
            threads = defaultdict(int)
            for r in rs:
                for name, count in r.get("threads", {}).items():
                    threads[name] += count
            top = ", ".join(f"`{n}` {c / len(rs):.0f}" for n, c in sorted(threads.items(), key=lambda kv: -kv[1])[:3])
            body.append([policy, num(period, 1), num(med(rs, "writes")), num(med(rs, "switches_per_write"), 2), top,
                         num(med(rs, "journal_syncs")), num(med(rs, "flush_bytes") / 1e3, 1),
                         num(med(rs, "unflushed_bytes_at_end") / 1e3, 1), len(rs)])
        out.append(table(["policy", "one write every s", "writes", "context switches per write", "busiest threads",
                          "journal syncs", "flushed KB", "unflushed KB at end", "runs"], body))
    server = load(directory, "trickle_server")
    if server:
        body = [[num(r["interval_s"], 1), r["writes"], r["context_switches"], num(r["per_write"], 2),
                 ", ".join(f"`{n}` {c}" for n, c in list(r["threads"].items())[:4]),
                 "never" if r.get("on_disk_after_s") is None else num(r["on_disk_after_s"], 1), r["lost"]]
                for r in server]
        out.append("\nThrough `ebb serve`:\n\n" + table(
            ["one write every s", "writes", "context switches", "per write", "busiest threads",
             "in segment files after s", "lost"], body))
    return "".join(out)


def soak(directory):
    """bench/soak_server.py: per minute, and the summary line."""
    rows = load(directory, "soak")
    minutes = [r for r in rows if "minute" in r]
    if not minutes:
        return ""
    body = [[r["minute"], num(r["set_rps"]), num(r.get("set_p99_ms"), 1), num(r["get_rps"]), num(r.get("get_p99_ms"), 1),
             r["segments_max"], num(r.get("space_amp"), 2), num(r["memtable_bytes"] / 2**20, 1),
             num(r["rss_bytes"] / 2**20), r["compactions"], r["stuck_passes"]] for r in minutes]
    text = table(["minute", "SET/s", "SET p99 ms", "GET/s", "GET p99 ms", "segments (max per db)", "space amp",
                  "memtables MiB", "RSS MiB", "compactions", "stuck passes"], body)
    for r in rows:
        if r.get("summary"):
            text += (f"\nGET last/first {num(r['get_rps_last_over_first'], 2)}, SET last/first "
                     f"{num(r['set_rps_last_over_first'], 2)}, DBSIZE after {num(r['dbsize_s'] * 1000)} ms, "
                     f"'made no progress' warnings {r['no_progress_warnings']}, load average {num(r['load_average'], 1)}\n")
    return text


def smoosh(directory):
    rows = load(directory, "smoosh")
    if not rows:
        return ""
    body = [[r.get("policy"), num(r.get("space_amp"), 3), num(r.get("space_amp_max"), 3),
             num(r.get("compaction_bytes", 0) / 1e6, 1), r.get("compactions"), num(r.get("write_p99_us"), 1),
             num(r.get("ops_per_sec"))] for r in rows]
    return table(["policy", "space amp at end", "space amp max", "compaction MB written", "compactions",
                  "write p99 us", "ops/s"], body)


def tiering(directory):
    rows = load(directory, "tiering")
    if not rows:
        return ""
    body = [[r.get("store"), num(r.get("local_target_bytes", 0) / 2**20, 1), num(r.get("local_bytes_max", 0) / 2**20, 2),
             num(r.get("local_bytes_max_over_target"), 3), num(r.get("cold_read_p50_us") / 1000, 2),
             num(r.get("cold_read_p99_us") / 1000, 2), num(r.get("warm_read_p50_us"), 1),
             num(r.get("compression_ratio"), 2), r.get("archives"), num(r.get("rebuild_s_per_1000"), 3),
             "yes" if r.get("rebuild_equals_index") else "NO"] for r in rows]
    return table(["store", "target MiB", "local max MiB", "max / target", "cold read p50 ms", "cold read p99 ms",
                  "warm read p50 us", "compression", "archives", "rebuild s per 1000 archives",
                  "rebuilt index equal"], body)


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: bench/summarize.py RESULTS_DIR   (a bench/run_all.sh output directory)")
    d = sys.argv[1]
    if not os.path.isdir(d):
        sys.exit(f"bench/summarize.py: {d} is not a directory")
    for title, fn in (("core", core), ("writers", writers),
                      ("writers, journal.mmap_writes = false", lambda d: writers(d, "writers-write")),
                      ("readisolation", readisolation), ("idle", idle), ("trickle", trickle), ("soak", soak),
                      ("smoosh", smoosh), ("tiering", tiering)):
        text = fn(d)
        if text:
            print(f"### {title}\n\n{text}")
    redis = os.path.join(d, "redis.md")
    if os.path.exists(redis):
        print("### redis\n\n" + open(redis).read())


if __name__ == "__main__":
    main()
