"""Medians (min-max) per readisolation scenario and readpool.spin_us setting.

    python3 summarize.py readisolation.jsonl

Reads the JSON lines run.sh writes (each tagged with spin_us and round) and
prints, per scenario / mode / loop, one line per setting.
"""
import json
import statistics
import sys

# Extra fields worth showing per scenario, besides p99 and reads/s.
EXTRA = {
    "writes": ["writes_per_sec", "p99_vs_read_only"],
    "scans": ["p99_vs_alone"],
    "overload": ["offered_reads_per_sec", "capacity_reads_per_sec", "rejected_fraction",
                 "p99_vs_unloaded_paced", "p99_vs_unloaded_closed", "reject_cost_us",
                 "unloaded_paced_p99_us", "unloaded_closed_p99_us"],
}


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"


def spread(runs, field):
    values = [r[field] for r in runs if r.get(field) is not None]
    if not values:
        return "-"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def main(path):
    groups = {}
    with open(path) as f:
        for line in f:
            run = json.loads(line)
            key = (run["scenario"], run["read_exec"], run["loop"])
            groups.setdefault(key, {}).setdefault(run["spin_us"], []).append(run)
    for key, by_setting in groups.items():
        print(" / ".join(key))
        for spin in sorted(by_setting):
            runs = by_setting[spin]
            fields = ["read_p99_us", "read_ops_per_sec"] + EXTRA.get(key[0], [])
            cells = ", ".join(f"{name} {spread(runs, name)}" for name in fields)
            print(f"  spin_us {spin} ({len(runs)} runs): {cells}")


if __name__ == "__main__":
    main(sys.argv[1])
