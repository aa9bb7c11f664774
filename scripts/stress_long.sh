#!/usr/bin/env bash
# The long reliability run of docs/RELIABILITY.md: ebb-stress's crash loop
# (SIGKILL at random moments) and power-loss mode, for every journal.sync
# mode and both journal write paths, then a Markdown table of the totals.
#
#   scripts/stress_long.sh [KILL_CYCLES_PER_CONFIG] [POWER_LOSS_CYCLES_PER_CONFIG] [OUT_DIR]
#
# Defaults: 170 and 170 per configuration (six configurations: over 1,000
# kill cycles and 1,000 power-loss cycles in all), results in a fresh
# directory under /tmp. Builds the release preset first. Takes one to two
# hours on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-170}"
losses="${2:-170}"
out="${3:-$(mktemp -d /tmp/ebb-stress-long.XXXXXX)}"
mkdir -p "$out"
# EBB_STRESS names a binary to use instead of building one (a copy, say, so
# that rebuilding the tree meanwhile does not replace it mid-run).
bin="${EBB_STRESS:-}"
if [ -z "$bin" ]; then
  scripts/build.sh release >/dev/null
  bin=build/release/bin/ebb-stress
fi
seed=$(date +%s)
echo "ebb-stress long run: $kills kill cycles and $losses power-loss cycles per configuration, seed base $seed, in $out" >&2
i=0
for sync in always batch none; do
  for journal in mmap write; do
    i=$((i + 1))
    data="$out/data-$sync-$journal"
    "$bin" --data "$data" --sync "$sync" --journal "$journal" --crash-loop "$kills" --seed $((seed + i)) --json \
      >"$out/crash-$sync-$journal.json" 2>"$out/crash-$sync-$journal.log" || true
    "$bin" --power-loss "$losses" --sync "$sync" --journal "$journal" --seed $((seed + 100 + i)) --json \
      >"$out/power-$sync-$journal.json" 2>"$out/power-$sync-$journal.log" || true
    rm -rf "$data" "$data.expected"
    echo "  $sync/$journal: $(tail -c 200 "$out/crash-$sync-$journal.json" | tr -d '\n') / $(grep -o '"result":"[A-Za-z]*"' "$out/power-$sync-$journal.json")" >&2
  done
done
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = []
tot = {}
def add(k, v):
    tot[k] = tot.get(k, 0) + v
print("| journal.sync | journal | kill cycles | power-loss cycles | writes acknowledged | keys verified | reads checked | pages lost to power cuts | lost | wrong | reopen failures | result |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for sync in ("always", "batch", "none"):
    for journal in ("mmap", "write"):
        c = json.load(open(os.path.join(out, f"crash-{sync}-{journal}.json")))
        p = json.load(open(os.path.join(out, f"power-{sync}-{journal}.json")))
        writes = c["writes_acknowledged"] + p["writes_acknowledged"]
        keys = c["keys_verified"] + p["keys_verified"]
        reads = c["reads_checked"] + p["reads_checked"]
        lost = p["lost"] + (1 if c["verification_failures"] else 0)
        wrong = p["wrong"]
        reopen = c["reopen_failures"] + p["reopen_failures"]
        ok = c["result"] == "ok" and p["result"] == "ok"
        for k, v in (("kill", c["kill_cycles"]), ("power", p["power_loss_cycles"]), ("writes", writes), ("keys", keys),
                     ("reads", reads), ("pages", p["pages_lost"]), ("lost", lost), ("wrong", wrong), ("reopen", reopen)):
            add(k, v)
        print(f"| {sync} | {journal} | {c['kill_cycles']} | {p['power_loss_cycles']} | {writes:,} | {keys:,} | {reads:,} | "
              f"{p['pages_lost']:,} | {lost} | {wrong} | {reopen} | {'ok' if ok else 'FAILED'} |")
print(f"| **all** | | **{tot['kill']:,}** | **{tot['power']:,}** | **{tot['writes']:,}** | **{tot['keys']:,}** | "
      f"**{tot['reads']:,}** | **{tot['pages']:,}** | **{tot['lost']}** | **{tot['wrong']}** | **{tot['reopen']}** | |")
PY
