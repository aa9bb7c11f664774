#!/usr/bin/env bash
# Server vs redis-server, side by side in one script run (docs/BENCHMARKS.md,
# "Server vs redis-server").
#
# Starts, on loopback and temporary directories:
#   - ebb serve (embedded defaults: journal.sync=batch, fdatasync within
#     100 ms of an acknowledged write; override with EBB_SYNC=always|none),
#   - redis-server with persistence off (--save '' --appendonly no),
#   - redis-server with --appendonly yes --appendfsync everysec,
# then runs `redis-benchmark -t set,get,mset -P 16 -c 50 -n N` against each,
# REPEATS times round-robin, and prints a markdown table of the median ops/s
# and the ratios Ebb / redis-server.
#
#   bench/redis_compare.sh [-n REQUESTS] [-r REPEATS] [--ebb PATH]
set -euo pipefail
cd "$(dirname "$0")/.."

requests=1000000
repeats=3
ebb=build/release/bin/ebb
sync="${EBB_SYNC:-batch}"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) requests="$2"; shift 2 ;;
    -r) repeats="$2"; shift 2 ;;
    --ebb) ebb="$2"; shift 2 ;;
    *) echo "usage: $0 [-n REQUESTS] [-r REPEATS] [--ebb PATH]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing: run scripts/setup.sh test" >&2; exit 1; }
done
[ -x "$ebb" ] || { echo "$0: $ebb is missing: run scripts/build.sh release" >&2; exit 1; }

work="$(mktemp -d /tmp/ebb-redis-compare.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # port
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.1
  done
  echo "$0: nothing answers on port $1" >&2
  exit 1
}

ebb_port=$(free_port)
"$ebb" serve --data "$work/ebb" --port "$ebb_port" --admin-port 0 --set "journal.sync=$sync" >"$work/ebb.log" 2>&1 &
pids+=($!)
plain_port=$(free_port)
mkdir -p "$work/plain" "$work/aof"
redis-server --port "$plain_port" --bind 127.0.0.1 --dir "$work/plain" --save '' --appendonly no \
  --logfile "$work/plain.log" &
pids+=($!)
aof_port=$(free_port)
redis-server --port "$aof_port" --bind 127.0.0.1 --dir "$work/aof" --save '' --appendonly yes \
  --appendfsync everysec --logfile "$work/aof.log" &
pids+=($!)
wait_ready "$ebb_port"
wait_ready "$plain_port"
wait_ready "$aof_port"

command=(redis-benchmark -t set,get,mset -P 16 -c 50 -n "$requests" --csv)
declare -A results  # "<server> <test>" -> space-separated rps of each repeat
for r in $(seq 1 "$repeats"); do
  for server in ebb plain aof; do
    port_var="${server}_port"
    while IFS=, read -r test rps _; do
      test="${test//\"/}"
      rps="${rps//\"/}"
      case "$test" in SET|GET|MSET*) results["$server ${test%% *}"]+="$rps " ;; esac
    done < <("${command[@]}" -p "${!port_var}" 2>/dev/null)
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }

echo "Command: ${command[*]% --csv} (median of $repeats round-robin runs; MSET sets 10 keys per request)"
echo "Ebb: ebb serve, journal.sync=$sync; redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'); $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo
echo "| test | ebb serve ops/s | redis-server, no persistence | Ebb / redis | redis-server, appendfsync everysec | Ebb / redis everysec |"
echo "|---|---:|---:|---:|---:|---:|"
for test in SET GET MSET; do
  e=$(echo "${results["ebb $test"]:-0}" | median)
  p=$(echo "${results["plain $test"]:-0}" | median)
  a=$(echo "${results["aof $test"]:-0}" | median)
  printf "| %s | %.0f | %.0f | %s | %.0f | %s |\n" "$test" "$e" "$p" "$(ratio "$e" "$p")" "$a" "$(ratio "$e" "$a")"
done
