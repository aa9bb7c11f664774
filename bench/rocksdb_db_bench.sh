#!/usr/bin/env bash
# An outside reference for the RocksDB numbers: RocksDB's own db_bench
# (Debian's rocksdb-tools, the same 7.8 library ebb-bench links) run with the
# settings of `ebb-bench --engine rocksdb`, alternating with it, so a reader
# can see the adapter measures RocksDB as RocksDB's tool does
# (docs/BENCHMARKS.md, "RocksDB's own db_bench").
#
# Per memory budget (default 8MiB and 128MiB) and round (-r, default 3):
#   ebb-bench fillrandom compact readrandom --engine rocksdb --memory-budget B ...
#   db_bench --benchmarks=fillrandom,compact,readrandom --write_buffer_size=B/2
#            --max_write_buffer_number=2 --compression_type=none --mmap_read=1
#            --cache_size=0 (no block cache) --bloom_bits=10 --block_size=4096
#            --max_background_jobs=2 --enable_pipelined_write=0
#            --delayed_write_rate=16777216 --sync=0 ...
# (the last two restore the library defaults ebb-bench runs with, where
# db_bench's own defaults differ). Writes JSON lines to OUT (one per
# workload and tool, "tool": "db_bench" | "ebb-bench"); bytes_written of a
# db_bench run is its WAL + flush + compaction bytes from --statistics
# (ebb-bench's is the process's dirtied page-cache bytes, /proc/self/io).
# One difference remains: db_bench's keys are the number in 8 big-endian
# bytes padded to 16, ebb-bench's are 16 decimal digits.
#
#   bench/rocksdb_db_bench.sh [-r ROUNDS] [--num N] [--budgets B[,B...]] [--data DIR] OUT.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
num=1000000
budgets="8MiB,128MiB"
data=""
out=""
usage="usage: $0 [-r ROUNDS] [--num N] [--budgets B[,B...]] [--data DIR] OUT.jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    -r) rounds="$2"; shift 2 ;;
    --num) num="$2"; shift 2 ;;
    --budgets) budgets="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
[ -n "$out" ] || { echo "$usage" >&2; exit 2; }
bench=build/release/bin/ebb-bench
[ -x "$bench" ] || { echo "$0: $bench is missing: run scripts/build.sh release" >&2; exit 1; }
command -v db_bench >/dev/null || { echo "$0: db_bench is missing: run scripts/setup.sh bench (rocksdb-tools)" >&2; exit 1; }
if [ -z "$data" ]; then
  data="$(mktemp -d /tmp/ebb-db-bench.XXXXXX)"
  trap 'rm -rf "$data"' EXIT
fi

bytes() {  # 8MiB -> 8388608
  python3 -c 'import re,sys; m=re.fullmatch(r"(\d+)\s*([KMG]i?B)?", sys.argv[1]); n=int(m[1]); u=(m[2] or "")[:1]
print(n * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[u])' "$1"
}

# db_bench's report lines and statistics -> one JSON line per workload.
to_json() {  # budget_bytes round < db_bench output
  python3 -c '
import json, re, sys
budget, rnd = int(sys.argv[1]), int(sys.argv[2])
text = sys.stdin.read()
stats = {k: int(v) for k, v in re.findall(r"^(rocksdb\.[a-z.]+) COUNT : (\d+)$", text, re.M)}
written = sum(stats.get(k, 0) for k in ("rocksdb.wal.bytes", "rocksdb.flush.write.bytes", "rocksdb.compact.write.bytes"))
rows = []
for name, us, ops_s, secs, ops in re.findall(
        r"^(\w+)\s*:\s*([\d.]+) micros/op (\d+) ops/sec ([\d.]+) seconds (\d+) operations", text, re.M):
    rows.append({"workload": name, "engine": "rocksdb", "tool": "db_bench", "round": rnd,
                 "memory_budget_bytes": budget, "ops": int(ops), "seconds": float(secs),
                 "ops_per_sec": int(ops) / float(secs) if float(secs) > 0 else 0.0})
if not rows:
    sys.exit("db_bench printed no results:\n" + text[-2000:])
# The run'"'"'s bytes (fill + compaction; reads write none) go on its fill row.
rows[0]["bytes_written_run"] = written
for r in rows:
    print(json.dumps(r))
' "$1" "$2"
}

IFS=, read -r -a budget_list <<< "$budgets"
for r in $(seq 1 "$rounds"); do
  for budget in "${budget_list[@]}"; do
    b=$(bytes "$budget")
    # Alternate which tool goes first.
    tools=(ebb-bench db_bench)
    [ $(( r % 2 )) -eq 1 ] || tools=(db_bench ebb-bench)
    for tool in "${tools[@]}"; do
      rm -rf "$data/rocks"
      if [ "$tool" = ebb-bench ]; then
        echo "+ $bench fillrandom compact readrandom --engine rocksdb --memory-budget $budget --num $num" >&2
        "$bench" fillrandom compact readrandom --engine rocksdb --memory-budget "$budget" --num "$num" \
          --key-size 16 --value-size 100 --threads 1 --sync none --json --data "$data/rocks" |
          python3 -c 'import json,sys
for line in sys.stdin:
    if line.startswith("{"):
        r = json.loads(line); r["tool"] = "ebb-bench"; r["round"] = int(sys.argv[1]); print(json.dumps(r))' "$r" >> "$out"
      else
        echo "+ db_bench fillrandom,compact,readrandom --write_buffer_size=$((b / 2)) --num $num" >&2
        db_bench --benchmarks=fillrandom,compact,readrandom --num="$num" --key_size=16 --value_size=100 --threads=1 \
          --write_buffer_size=$((b / 2)) --max_write_buffer_number=2 --compression_type=none --mmap_read=1 \
          --cache_size=0 --bloom_bits=10 --block_size=4096 --max_background_jobs=2 --enable_pipelined_write=0 \
          --delayed_write_rate=16777216 --sync=0 --seed=301 --statistics=1 --db="$data/rocks" 2>&1 |
          to_json "$b" "$r" >> "$out"
      fi
    done
  done
done
rm -rf "$data/rocks"
echo "results in $out" >&2
