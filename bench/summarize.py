#!/usr/bin/env python3
"""Markdown tables from a bench/run_all.sh results directory.

    bench/summarize.py bench/results/2026-11-21 > tables.md

Each benchmark's JSON lines are grouped by configuration; repeated rounds are
reduced to their median, with the range (min-max) beside it where a table
has room, and ratios are ratios of medians. docs/BENCHMARKS.md quotes these
tables. Results of older harnesses (before memory budgets, run ids and
rounds) are read too, as far as their fields allow.
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


def spread(values, digits=0, scale=1.0):
    """median (min-max) of the non-None values, scaled."""
    values = [v * scale for v in values if v is not None]
    if not values:
        return "-"
    m = statistics.median(values)
    if len(values) == 1:
        return num(m, digits)
    return f"{num(m, digits)} ({num(min(values), digits)}-{num(max(values), digits)})"


def mib(b):
    return f"{b / 2**20:g} MiB"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


CORE_ENGINES = (("ebb", "native", "Ebb"), ("ebb", "peer", "Ebb, peer layout"),
                ("rocksdb", None, "RocksDB"), ("leveldb", None, "LevelDB"))


def engine_key(r):
    # Results from before --ebb-layout ran Ebb in its own layout.
    return (r.get("engine"), r.get("ebb_layout", "native") if r.get("engine") == "ebb" else None)


def by_run(rows):
    runs = defaultdict(list)
    for r in rows:
        runs[r.get("run_id")].append(r)
    for rs in runs.values():
        rs.sort(key=lambda r: r.get("step", 0))
    return runs


def core_budget_table(rows, budget):
    """One budget: per workload (and state), every engine's ops/s."""
    rows = [r for r in rows if r.get("memory_budget_bytes") == budget]
    if not rows:
        return ""
    samples = defaultdict(list)  # (label, engine key) -> [row]
    e2e = defaultdict(list)      # engine key -> [(fill, compact)]
    for rs in by_run(rows).values():
        seq = rs[0].get("sequence", "")
        compacted_first = seq.startswith("fillrandom compact")
        for i, r in enumerate(rs):
            w = r["workload"]
            key = engine_key(r)
            if w == "fillrandom":
                samples[("fillrandom", key)].append(r)
            elif w in ("readrandom", "readzipfian"):
                state = "compacted store" if compacted_first else "as the fill left it"
                samples[(f"{w}, {state}", key)].append(r)
            elif w == "overwrite":
                samples[("overwrite", key)].append(r)
            elif w == "compact" and r.get("after") == "overwrite":
                samples[("space", key)].append(r)
            if w == "compact" and r.get("after") == "fillrandom" and i > 0:
                e2e[key].append((rs[i - 1], r))
    runs = max((len(v) for (label, _), v in samples.items() if label == "overwrite"), default=0)
    out = [f"Memory budget {mib(budget)}; ops/s, median (min-max) of {runs} rounds; ratios against the faster "
           "of RocksDB and LevelDB (ratio of medians).\n\n"]
    header = ["workload"] + [name for _, _, name in CORE_ENGINES] + ["Ebb / faster peer", "Ebb peer layout / faster peer"]
    body = []
    labels = ["fillrandom", "overwrite", "readrandom, as the fill left it", "readzipfian, as the fill left it",
              "readrandom, compacted store", "readzipfian, compacted store"]
    for label in labels:
        meds = {}
        cells = [label]
        for eng, layout, _ in CORE_ENGINES:
            vals = [r.get("ops_per_sec") for r in samples.get((label, (eng, layout)), [])]
            meds[(eng, layout)] = median(vals)
            cells.append(spread(vals))
        best = max([m for k, m in meds.items() if k[0] != "ebb" and m is not None], default=None)
        cells += [ratio(meds.get(("ebb", "native")), best), ratio(meds.get(("ebb", "peer")), best)]
        body.append(cells)
    out.append(table(header, body))
    # End to end: fillrandom + compact.
    body = []
    seconds = {}
    for eng, layout, name in CORE_ENGINES:
        pairs = e2e.get((eng, layout), [])
        if not pairs:
            continue
        t = [f["seconds"] + c["seconds"] for f, c in pairs]
        w = [(f.get("bytes_written", 0) + c.get("bytes_written", 0)) for f, c in pairs]
        user = [f.get("user_bytes") for f, _ in pairs]
        wa = [wb / u for wb, u in zip(w, user) if u]
        rss = [max(f.get("peak_rss_bytes", 0), c.get("peak_rss_bytes", 0)) for f, c in pairs]
        seconds[(eng, layout)] = median(t)
        body.append([name, spread(t, 2), spread([f["seconds"] for f, _ in pairs], 2),
                     spread([c["seconds"] for _, c in pairs], 2), spread(w, 1, 1e-6), spread(wa, 2),
                     spread(rss, 0, 1 / 2**20)])
    if body:
        best = min([v for k, v in seconds.items() if k[0] != "ebb" and v], default=None)
        for row, (eng, layout, _) in zip(body, [e for e in CORE_ENGINES if e[:2] in seconds]):
            row.append(ratio(best, seconds[(eng, layout)]) if eng == "ebb" else "-")
        out.append("\nEnd to end: `fillrandom` then `compact` (flush everything and compact fully), same process; "
                   "bytes written are the process's dirtied page-cache bytes (`/proc/self/io` write_bytes) over both; "
                   "write amplification is those bytes / the user's key and value bytes.\n\n")
        out.append(table(["engine", "fill + compact s", "fill s", "compact s", "MB written", "write amplification",
                          "peak RSS MiB", "faster peer / Ebb (speed-up)"], body))
    amp = []
    for eng, layout, name in CORE_ENGINES:
        rs = samples.get(("space", (eng, layout)), [])
        if rs:
            amp.append(f"{name} {spread([r.get('space_amp') for r in rs], 3)}")
    if amp:
        out.append("\nDisk / live data after overwrite + full compaction: " + ", ".join(amp) + ".\n")
    return "".join(out)


def core(directory):
    rows = load(directory, "core")
    if not rows:
        return ""
    if not any("memory_budget_bytes" in r for r in rows):
        return legacy_core(rows)
    budgets = sorted({r["memory_budget_bytes"] for r in rows if "memory_budget_bytes" in r})
    settings = settings_lines(rows)
    return "\n".join(core_budget_table(rows, b) for b in budgets) + settings


def settings_lines(rows):
    """The exact engine settings of each configuration, as run."""
    seen = {}
    for r in rows:
        if "settings" not in r:
            continue
        key = (r.get("memory_budget_bytes"),) + engine_key(r)
        seen.setdefault(key, r["settings"])
    if not seen:
        return ""
    out = ["\nSettings as run (from the results' `settings`):\n\n"]
    for (budget, eng, layout), st in sorted(seen.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1], kv[0][2] or "")):
        name = eng + (f" ({layout})" if layout else "")
        out.append(f"- {mib(budget)}, {name}: " + ", ".join(f"`{k}={v}`" for k, v in st.items()) + "\n")
    return "".join(out)


def legacy_core(rows):
    g = grouped(rows, "workload", "engine")
    runs = len(g.get(("fillrandom", "ebb"), []))
    out = [f"Single thread, 1,000,000 ops, 16-byte keys, 100-byte values, no sync; median of {runs} runs.\n\n"]
    body = []
    for w in ("fillrandom", "readrandom", "overwrite"):
        e, r, l = (med(g.get((w, x), []), "ops_per_sec") for x in ("ebb", "rocksdb", "leveldb"))
        p = [num(med(g.get((w, x), []), "p99_us"), 1) for x in ("ebb", "rocksdb", "leveldb")]
        body.append([w, num(e), num(r), num(l), ratio(e, r), ratio(e, l), " / ".join(p)])
    out.append(table(["workload", "Ebb ops/s", "RocksDB ops/s", "LevelDB ops/s", "Ebb / RocksDB", "Ebb / LevelDB",
                      "p99 us (Ebb / RocksDB / LevelDB)"], body))
    return "".join(out)


def core_more(directory):
    rows = load(directory, "core-more")
    if not rows:
        return ""
    body = []
    for w, what in (("fillseq", "4 threads, no sync"), ("readseq", "4 threads"),
                    ("readwhilewriting", "4 readers + 1 writer, no sync")):
        meds, cells = {}, [f"{w} ({what})"]
        for eng, layout, _ in CORE_ENGINES:
            vals = [r.get("ops_per_sec") for r in rows if r["workload"] == w and engine_key(r) == (eng, layout)]
            meds[(eng, layout)] = median(vals)
            cells.append(spread(vals))
        best = max([m for k, m in meds.items() if k[0] != "ebb" and m is not None], default=None)
        cells += [ratio(meds.get(("ebb", "native")), best), ratio(meds.get(("ebb", "peer")), best)]
        body.append(cells)
    return table(["workload"] + [n for _, _, n in CORE_ENGINES] + ["Ebb / faster peer", "Ebb peer layout / faster peer"],
                 body)


def core_sync(directory):
    rows = load(directory, "core-sync")
    if not rows:
        return ""
    body = []
    for sync in ("always", "batch"):
        rs = [r for r in rows if r.get("sync") == sync]
        if not rs:
            continue
        threads, ops = rs[0].get("threads", 8), rs[0].get("ops")
        cells = [f"fillrandom, sync {sync} ({threads} threads, {num(ops)} writes)"]
        p99 = []
        meds = {}
        for eng, layout, _ in CORE_ENGINES:
            sel = [r for r in rs if engine_key(r) == (eng, layout)]
            meds[(eng, layout)] = median([r.get("ops_per_sec") for r in sel])
            cells.append(spread([r.get("ops_per_sec") for r in sel]) if sel else "not offered")
            p99.append(num(median([r.get("p99_us") for r in sel]), 0) if sel else "-")
        best = max([m for k, m in meds.items() if k[0] != "ebb" and m is not None], default=None)
        cells += [ratio(meds.get(("ebb", "native")), best), " / ".join(p99)]
        body.append(cells)
    if not body:
        return ""
    return table(["workload"] + [n for _, _, n in CORE_ENGINES] + ["Ebb / faster peer",
                                                                   "p99 us (Ebb / Ebb peer / RocksDB / LevelDB)"], body)


def dbbench(directory):
    rows = load(directory, "dbbench")
    if not rows:
        return ""
    out = []
    for budget in sorted({r.get("memory_budget_bytes") for r in rows}):
        body = []
        for w in ("fillrandom", "compact", "readrandom"):
            e = [r.get("ops_per_sec") if w != "compact" else r.get("seconds") for r in rows
                 if r.get("tool") == "ebb-bench" and r["workload"] == w and r.get("memory_budget_bytes") == budget]
            d = [r.get("ops_per_sec") if w != "compact" else r.get("seconds") for r in rows
                 if r.get("tool") == "db_bench" and r["workload"] == w and r.get("memory_budget_bytes") == budget]
            digits = 2 if w == "compact" else 0
            body.append([w + (" (seconds)" if w == "compact" else " (ops/s)"), spread(e, digits), spread(d, digits),
                         ratio(median(e), median(d))])
        e = [sum(r.get("bytes_written", 0) for r in rows if r.get("tool") == "ebb-bench" and r.get("run_id") == rid
                 and r["workload"] in ("fillrandom", "compact"))
             for rid in {r.get("run_id") for r in rows if r.get("tool") == "ebb-bench"
                         and r.get("memory_budget_bytes") == budget}]
        d = [r.get("bytes_written_run") for r in rows if r.get("tool") == "db_bench" and r["workload"] == "fillrandom"
             and r.get("memory_budget_bytes") == budget]
        body.append(["fill + compact MB written (ebb-bench: page cache dirtied; db_bench: WAL + flush + compaction)",
                     spread(e, 1, 1e-6), spread(d, 1, 1e-6), ratio(median(e), median(d))])
        out.append(f"Memory budget {mib(budget)}:\n\n" + table(
            ["workload", "ebb-bench --engine rocksdb", "db_bench (RocksDB's tool)", "ebb-bench / db_bench"], body))
    return "\n".join(out)


def manydbs(directory):
    rows = load(directory, "manydbs")
    if not rows:
        return ""
    body = []
    for n in sorted({r["dbs"] for r in rows}):
        rs = [r for r in rows if r["dbs"] == n]
        f = lambda k, d=1, s=1.0: spread([r.get(k) for r in rs], d, s)
        body.append([num(n), f("create_us_per_db"), f("rss_bytes_per_db_written", 0), f("rss_bytes_per_db_quiet", 0),
                     f("quiesce_s", 2), f("quiesce_syncs", 0), f("quiesce_syncs_per_db", 2), f("read_p50_us"),
                     f("read_p99_us"), f("read_file_opens_per_read", 3), f("reopen_us_per_db")])
    return table(["databases", "create us/db", "RSS B/db after writes", "RSS B/db quiesced", "quiesce s",
                  "syncs to quiesce", "syncs per db", "read p50 us", "read p99 us", "file opens per read",
                  "reopen us/db"], body)


def redis(directory):
    rows = load(directory, "redis")
    if not rows:
        return ""
    g = defaultdict(list)
    for r in rows:
        g[(r["value_size"], r["pipeline"], r["test"], r["server"])].append(r["ops_per_sec"])
    body = []
    for size in sorted({r["value_size"] for r in rows}):
        for pipeline in sorted({r["pipeline"] for r in rows}, reverse=True):
            for test in ("SET", "GET", "GET_SETTLED", "INCR", "MSET", "PING_INLINE", "PING_MBULK"):
                e, a, p = (g.get((size, pipeline, test, s), []) for s in ("ebb", "aof", "plain"))
                if not e:
                    continue
                body.append([size, pipeline, test, spread(e), spread(a), ratio(median(e), median(a)), spread(p),
                             ratio(median(e), median(p))])
    rounds = max((len(v) for v in g.values()), default=0)
    rests = sorted({r["rest_s"] for r in rows if "rest_s" in r})
    settled = (f"; GET right after SET, GET_SETTLED, INCR and MSET after every server rested {rests[0]} s"
               if rests else "")
    return (f"ops/s, median (min-max) of {rounds} rounds; `-r 1000000 -c 50`; MSET sets 10 keys per request"
            f"{settled}.\n\n" +
            table(["value bytes", "pipeline (-P)", "test", "ebb serve", "redis AOF everysec", "Ebb / AOF",
                   "redis, no persistence", "Ebb / no persistence"], body))


def writers(directory, name="writers"):
    # Ebb's two completion modes against each other (rows of other engines
    # belong to writers_peers).
    rows = [r for r in load(directory, name) if r.get("engine", "ebb") == "ebb"]
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
                body.append([f"{dbs}", sync, t, spread([r["ops_per_sec"] for r in op]),
                             spread([r["ops_per_sec"] for r in db]),
                             ratio(med(op, "ops_per_sec"), med(db, "ops_per_sec")),
                             f"{num(med(op, 'p99_us'), 1)} / {num(med(db, 'p99_us'), 1)}",
                             f"{num(med(op, 'p999_us'), 0)} / {num(med(db, 'p999_us'), 0)}",
                             # Little's law: closed-loop threads / throughput.
                             f"{num(t * 1e6 / med(op, 'ops_per_sec'), 1)} / {num(t * 1e6 / med(db, 'ops_per_sec'), 1)}",
                             num(med(op, "items_per_completion"), 2),
                             f"{num(med(op, 'lock_wait_us_per_op'), 2)} / {num(med(db, 'lock_wait_us_per_op'), 2)}"])
    return table(["dbs", "sync", "threads", "op_lock ops/s", "db_lock ops/s", "op / db", "p99 us (op / db)",
                  "p999 us (op / db)", "mean us (op / db)", "items per completion (op)", "lock wait us/op (op / db)"], body)


WRITERS_PEERS = (("ebb", "op_lock", "Ebb op_lock"), ("ebb", "db_lock", "Ebb db_lock"),
                 ("rocksdb", None, "RocksDB (pipelined)"), ("leveldb", None, "LevelDB"))


def writers_peers(directory):
    """writers-peers: Ebb's two completion modes, RocksDB and LevelDB, per database count."""
    rows = load(directory, "writers-peers")
    if not rows:
        return ""
    g = grouped(rows, "dbs", "sync", "threads", "engine", "completion")
    out = []
    for dbs in sorted({r["dbs"] for r in rows}):
        body = []
        rounds = 0
        for sync in ("batch", "none"):
            for t in sorted({r["threads"] for r in rows if r["dbs"] == dbs}):
                sel = {(eng, comp): g.get((dbs, sync, t, eng, comp), []) for eng, comp, _ in WRITERS_PEERS}
                if not any(sel.values()):
                    continue
                rounds = max([rounds] + [len(v) for v in sel.values()])
                meds = {k: med(v, "ops_per_sec") for k, v in sel.items()}
                best = max([m for (eng, _), m in meds.items() if eng != "ebb" and m is not None], default=None)
                cells = [sync, t]
                for eng, comp, _ in WRITERS_PEERS:
                    v = sel[(eng, comp)]
                    missing = "not offered" if eng == "leveldb" and sync == "batch" else "-"
                    cells.append(spread([r.get("ops_per_sec") for r in v]) if v else missing)
                cells += [ratio(meds[("ebb", "op_lock")], best), ratio(meds[("ebb", "db_lock")], best)]
                for field, digits in (("p99_us", 0), ("p999_us", 0)):
                    cells.append(" / ".join(num(med(sel[(eng, comp)], field), digits) if sel[(eng, comp)] else "-"
                                            for eng, comp, _ in WRITERS_PEERS))
                cells.append(" / ".join(spread([r.get("lock_acquisitions_per_write") for r in sel[("ebb", comp)]], 3)
                                        for comp in ("op_lock", "db_lock")))
                cells.append(" / ".join(num(med(sel[(eng, comp)], "peak_rss_bytes") / 2**20, 0)
                                        if sel[(eng, comp)] else "-" for eng, comp, _ in WRITERS_PEERS))
                body.append(cells)
        budgets = sorted({r.get("memory_budget_bytes") for r in rows if r["dbs"] == dbs and r.get("memory_budget_bytes")})
        out.append(f"{dbs} database{'s' if dbs > 1 else ''}, memory budget {', '.join(mib(b) for b in budgets)}; writes/s, median (min-max) "
                   f"of {rounds} rounds; ratios of medians against the faster of RocksDB and LevelDB.\n\n")
        out.append(table(["sync", "threads"] + [n for _, _, n in WRITERS_PEERS] +
                         ["Ebb op_lock / faster peer", "Ebb db_lock / faster peer",
                          "p99 us (op_lock / db_lock / RocksDB / LevelDB)",
                          "p999 us (op_lock / db_lock / RocksDB / LevelDB)",
                          "database-lock acquisitions per write (op_lock / db_lock)",
                          "peak RSS MiB (op_lock / db_lock / RocksDB / LevelDB)"], body))
    seen = {}
    for r in rows:
        if "settings" in r:
            seen.setdefault((r["engine"], r.get("completion") or ""), r["settings"])
    if seen:
        out.append("\nSettings as run (from the results' `settings`; the sync settings are each row's):\n\n")
        for (eng, comp), st in sorted(seen.items()):
            out.append(f"- {eng}{' ' + comp if comp else ''}: " + ", ".join(f"`{k}={v}`" for k, v in st.items()) + "\n")
    return "".join(out)


def readisolation(directory):
    rows = load(directory, "readisolation")
    if not rows:
        return ""
    for r in rows:
        r.setdefault("loop", "closed")  # results from before the paced phases
        r.setdefault("write_nice", 0)  # results from before server.write_nice
    niced = [r for r in rows if r["scenario"] == "writes" and r["read_exec"] == "readpool" and r["write_nice"] != 0]
    rows = [r for r in rows if r not in niced]
    # Runs with a write pool other than the default 4 threads (server.write_threads).
    fewer = [r for r in rows if r["scenario"] == "writes" and r.get("write_threads", 4) != 4]
    rows = [r for r in rows if r not in fewer]
    gt = grouped(fewer, "sync", "loop", "write_threads")
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
    for (sync, loop, threads), rs in sorted(gt.items()):
        ro = g.get((sync, "writes", "read-only baseline", loop), [])
        rp = g.get((sync, "writes", "readpool", loop), [])
        ro99, rp99, t99 = med(ro, "read_p99_us"), med(rp, "read_p99_us"), med(rs, "read_p99_us")
        w4, wt = med(rp, "writes_per_sec"), med(rs, "writes_per_sec")
        body.append([sync, loop, str(threads), num(ro99, 1), num(rp99, 1), num(t99, 1),
                     f"{num(min(r['read_p99_us'] for r in rs), 1)}-{num(max(r['read_p99_us'] for r in rs), 1)}",
                     ratio(rp99, ro99), ratio(t99, ro99), f"{num(w4)} / {num(wt)}",
                     f"{(wt / w4 - 1) * 100:+.0f}%" if w4 and wt else "-"])
    if body:
        out.append("\n" + table(["sync", "loop", "write threads", "read-only p99 us",
                                 "ReadPool p99 us (4 write threads)", "ReadPool p99 us (fewer)", "min-max (fewer)",
                                 "4 threads / read-only", "fewer / read-only", "writes/s (4 / fewer)",
                                 "write change"], body))
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
        body = [[r.get("file_system", ""), num(r["interval_s"], 1), r["writes"], r["context_switches"],
                 num(r["per_write"], 2), num(r.get("involuntary", 0) / max(1, r["writes"]), 2),
                 ", ".join(f"`{n}` {c}" for n, c in list(r["threads"].items())[:4]),
                 "never" if r.get("on_disk_after_s") is None else num(r["on_disk_after_s"], 1), r["lost"]]
                for r in server]
        out.append("\nThrough `ebb serve`:\n\n" + table(
            ["file system", "one write every s", "writes", "context switches", "per write", "involuntary per write",
             "busiest threads", "in segment files after s", "lost"], body))
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


def expiry_idle(directory):
    """bench/expiry_idle.py: keys with TTLs at rest, per server."""
    rows = load(directory, "expiry_idle")
    if not rows:
        return ""
    body = [[r["server"], num(r["keys_loaded"]), num(r["spread_s"]), num(r["minutes"]), num(r["rss_bytes"] / 2**20, 1),
             num(r["cpu_s"], 2), num(r["context_switches"]), num(r["keys_start"]), num(r["keys_end"]),
             num(r.get("compactions")) if "compactions" in r else "-"] for r in rows]
    return table(["server", "keys", "TTLs over s", "idle minutes", "RSS MiB", "CPU s", "context switches",
                  "keys at start", "keys at end", "compactions"], body)


def smoosh(directory):
    rows = load(directory, "smoosh")
    if not rows:
        return ""
    body = []
    for policy in sorted({r.get("policy") for r in rows}):
        rs = [r for r in rows if r.get("policy") == policy]
        f = lambda k, d=0, s=1.0: spread([r.get(k) for r in rs], d, s)
        body.append([policy, f("space_amp", 3), f("space_amp_max", 3), f("compaction_bytes", 1, 1e-6),
                     f("compactions"), f("write_p99_us", 1), f("ops_per_sec"), len(rs)])
    return table(["policy", "space amp at end", "space amp max", "compaction MB written", "compactions",
                  "write p99 us", "ops/s", "runs"], body)


def tiering(directory):
    rows = load(directory, "tiering")
    if not rows:
        return ""
    stores = []
    for r in rows:
        if r.get("store") not in stores:
            stores.append(r.get("store"))
    one_way, both_ways = [], []
    for store in stores:
        rs = [r for r in rows if r.get("store") == store]
        f = lambda k, d=0, s=1.0: spread([r.get(k) for r in rs], d, s)
        one_way.append([store, f("local_target_bytes", 1, 2**-20), f("local_bytes_max", 2, 2**-20),
                        f("local_bytes_max_over_target", 3), f("cold_read_p50_us", 2, 1e-3),
                        f("cold_read_p99_us", 2, 1e-3), f("warm_read_p50_us", 1), f("compression_ratio", 2),
                        f("archives"), f("rebuild_s_per_1000", 3),
                        "yes" if all(r.get("rebuild_equals_index") for r in rs) else "NO", len(rs)])
        if any("restore_s_per_gb" in r for r in rs):
            both_ways.append([store, f("outage_open_seconds", 2), f("warm_read_p99_us", 0),
                              f("outage_hot_read_p99_us", 0), f("outage_failed_read_p99_us", 0),
                              f("gc_garbage_bytes_before", 1, 2**-20), f("gc_bytes_reclaimed", 1, 2**-20),
                              f("gc_archives_deleted"), f("gc_garbage_bytes_after", 1, 2**-20),
                              f("recall_mib_per_s", 0), f("restore_s_per_gb", 1), f("restore_keys_verified"),
                              len(rs)])
    text = table(["store", "target MiB", "local max MiB", "max / target", "cold read p50 ms", "cold read p99 ms",
                  "warm read p50 us", "compression", "archives", "rebuild s per 1000 archives",
                  "rebuilt index equal", "runs"], one_way)
    if both_ways:
        text += "\n" + table(["store", "outage: open s", "hot read p99 us before", "outage: hot read p99 us",
                              "outage: evicted read fails in p99 us", "garbage MiB before GC", "GC reclaimed MiB",
                              "archives deleted", "garbage MiB after", "recall MiB/s", "restore s per GB",
                              "keys checked after restore", "runs"], both_ways)
    return text


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit("usage: bench/summarize.py RESULTS_DIR   (a bench/run_all.sh output directory)")
    d = sys.argv[1]
    if not os.path.isdir(d):
        sys.exit(f"bench/summarize.py: {d} is not a directory")
    for title, fn in (("core", core), ("core-more", core_more), ("core-sync", core_sync),
                      ("RocksDB's own db_bench", dbbench), ("writers", writers),
                      ("writers, journal.mmap_writes = false", lambda d: writers(d, "writers-write")),
                      ("writers against RocksDB and LevelDB", writers_peers),
                      ("readisolation", readisolation), ("idle", idle), ("trickle", trickle), ("soak", soak),
                      ("keys with TTLs at rest", expiry_idle),
                      ("smoosh", smoosh), ("tiering", tiering), ("manydbs", manydbs), ("redis", redis)):
        text = fn(d)
        if text:
            print(f"### {title}\n\n{text}")
    if not os.path.exists(os.path.join(d, "redis.jsonl")) and os.path.exists(os.path.join(d, "redis.md")):
        print("### redis\n\n" + open(os.path.join(d, "redis.md")).read())


if __name__ == "__main__":
    main()
