#!/usr/bin/env bash
# ebb serve against redis-server, side by side in one script run
# (docs/BENCHMARKS.md, "Server against redis-server").
#
# For each value size (-d, default 100 and 1000 bytes) the script runs, on
# loopback, free ports and temporary directories, three servers:
#   ebb         ebb serve on embedded defaults (journal.sync=batch: a write
#               is acknowledged in the page cache and fdatasync'ed at most
#               100 ms later; EBB_SYNC=always|none overrides),
#   aof         redis-server --appendonly yes --appendfsync everysec (the
#               same durability: at most about a second of acknowledged
#               writes lost on power failure),
#   plain       redis-server --save '' --appendonly no (no persistence: the
#               ceiling),
# then, REPEATS rounds, round-robin between the servers, each on a fresh
# server started for the run and stopped after it (so one server's
# background work never runs during another's measurement), runs
#   redis-benchmark -t TESTS -r 1000000 -d SIZE -c 50 -P 16 -n N_PIPELINED
#   redis-benchmark -t TESTS -r 1000000 -d SIZE -c 50 -P 1  -n N_SINGLE
# (random keys over a key space of a million, larger than Ebb's memtables;
# redis-benchmark 7.0 seeds its generator from the clock, so each run draws
# other keys from the same space), and stops the servers. TESTS are the
# redis-benchmark tests whose commands Ebb serves: ping_inline, ping_mbulk,
# set, get, incr, mset (10 keys per request). redis-benchmark runs them in
# that order, so GET reads the keys the SET test just wrote (about 63% of the
# key space). INCR increments random `counter:N` keys of the same key
# space: in Ebb a read-modify-write on the write executor, under the key's
# lock.
#
# GET is measured twice on every server. `GET` runs right after the SET
# test, in the same redis-benchmark call: in Ebb it shares the two cores with
# the flush and compaction of what SET just wrote (the rush to idle). Then
# every server rests REST seconds (-s, default 10; Ebb is quiescent after a
# million SETs in about 3) and a second call runs `GET_SETTLED`, INCR and
# MSET: reads of a store whose background work is done.
#
# Prints a markdown table of medians with min-max, and the ratios Ebb /
# redis-server; --jsonl FILE also writes every single run as a JSON line
# (bench/summarize.py reads it).
#
#   bench/redis_compare.sh [-r REPEATS] [-n N_PIPELINED] [-N N_SINGLE] [-d SIZE[,SIZE...]]
#                          [-s REST_SECONDS] [--ebb PATH] [--jsonl FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=3
requests_pipelined=1000000
requests_single=200000
sizes="100,1000"
keyspace=1000000
tests="ping_inline,ping_mbulk,set,get,incr,mset"
# The two redis-benchmark calls of a run: before and after the rest.
tests_first="ping_inline,ping_mbulk,set,get"
tests_settled="get,incr,mset"
rest=10
ebb=build/release/bin/ebb
sync="${EBB_SYNC:-batch}"
jsonl=""
usage="usage: $0 [-r REPEATS] [-n N_PIPELINED] [-N N_SINGLE] [-d SIZE[,SIZE...]] [-s REST_SECONDS] [--ebb PATH] [--jsonl FILE]"
while [ $# -gt 0 ]; do
  case "$1" in
    -r) repeats="$2"; shift 2 ;;
    -n) requests_pipelined="$2"; shift 2 ;;
    -N) requests_single="$2"; shift 2 ;;
    -d) sizes="$2"; shift 2 ;;
    -s) rest="$2"; shift 2 ;;
    --ebb) ebb="$2"; shift 2 ;;
    --jsonl) jsonl="$2"; shift 2 ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing: run scripts/setup.sh bench" >&2; exit 1; }
done
[ -x "$ebb" ] || { echo "$0: $ebb is missing: run scripts/build.sh release" >&2; exit 1; }
[ -z "$jsonl" ] || : > "$jsonl"

work="$(mktemp -d /tmp/ebb-redis-compare.XXXXXX)"
pids=()
stop_servers() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # port log
  for _ in $(seq 1 200); do
    if [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.1
  done
  echo "$0: nothing answers on port $1; its log ($2):" >&2
  tail -20 "$2" >&2 || true
  exit 1
}

# start_server SERVER DIR: a fresh server on an empty DIR; sets port.
start_server() {
  local server=$1 dir=$2
  rm -rf "$dir"
  mkdir -p "$dir"
  port=$(free_port)
  case "$server" in
    ebb)
      "$ebb" serve --data "$dir/data" --port "$port" --admin-port 0 --set "journal.sync=$sync" >"$dir/log" 2>&1 &
      ;;
    aof)
      redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
        --appendfsync everysec --logfile "$dir/log" &
      ;;
    plain)
      redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no --logfile "$dir/log" &
      ;;
  esac
  pids+=($!)
  wait_ready "$port" "$dir/log"
}

declare -A results  # "<size> <pipeline> <server> <test>" -> space-separated rps of each round
servers=(ebb aof plain)
IFS=, read -r -a size_list <<< "$sizes"
for size in "${size_list[@]}"; do
  for r in $(seq 1 "$repeats"); do
    # Round-robin, starting with a different server each round.
    for i in 0 1 2; do
      server="${servers[$(( (i + r - 1) % 3 ))]}"
      for pipeline in 16 1; do
        # Each run has the machine to itself: a fresh server, stopped
        # afterwards, so no server's background work (Ebb's flushes and
        # compactions, redis' AOF rewrite) runs during another's run.
        start_server "$server" "$work/$server"
        n=$requests_pipelined
        [ "$pipeline" -gt 1 ] || n=$requests_single
        for call in first settled; do
          if [ "$call" = first ]; then
            call_tests=$tests_first
          else
            sleep "$rest"
            call_tests=$tests_settled
          fi
          while IFS=, read -r test rps _; do
            test="${test//\"/}"
            rps="${rps//\"/}"
            case "$test" in
              PING_INLINE|PING_MBULK|SET|GET|INCR|MSET*) ;;
              *) continue ;;
            esac
            test="${test%% *}"
            [ "$call" = first ] || [ "$test" != GET ] || test=GET_SETTLED
            results["$size $pipeline $server $test"]+="$rps "
            if [ -n "$jsonl" ]; then
              printf '{"workload":"redis","server":"%s","test":"%s","value_size":%s,"pipeline":%s,"clients":50,"keyspace":%s,"requests":%s,"round":%s,"ops_per_sec":%s,"ebb_sync":"%s","rest_s":%s}\n' \
                "$server" "$test" "$size" "$pipeline" "$keyspace" "$n" "$r" "$rps" "$sync" "$rest" >> "$jsonl"
            fi
          done < <(redis-benchmark -p "$port" -t "$call_tests" -r "$keyspace" -d "$size" -c 50 -P "$pipeline" \
                     -n "$n" --csv 2>/dev/null)
        done
        stop_servers
      done
    done
  done
done

# median [min-max] of space-separated numbers
stats() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {
    if (NR == 0) { print "0 0 0"; exit }
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    print m, a[1], a[NR] }'
}
cell() { read -r m lo hi <<< "$1"; printf "%.0f (%.0f-%.0f)" "$m" "$lo" "$hi"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }

echo "redis-benchmark -t $tests -r $keyspace -c 50, -P 16 (-n $requests_pipelined) and -P 1 (-n $requests_single),"
echo "ops/s, median (min-max) of $repeats round-robin rounds; MSET sets 10 keys per request;"
echo "GET right after SET, GET_SETTLED (then INCR, MSET) after every server rested ${rest} s."
echo "Ebb: ebb serve, journal.sync=$sync; redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p');" \
     "$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo
echo "| value bytes | pipeline | test | ebb serve | redis AOF everysec | Ebb / AOF | redis, no persistence | Ebb / no persistence |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|"
for size in "${size_list[@]}"; do
  for pipeline in 16 1; do
    for test in SET GET GET_SETTLED INCR MSET PING_INLINE PING_MBULK; do
      e=$(echo "${results["$size $pipeline ebb $test"]:-}" | stats)
      a=$(echo "${results["$size $pipeline aof $test"]:-}" | stats)
      p=$(echo "${results["$size $pipeline plain $test"]:-}" | stats)
      printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$size" "$pipeline" "$test" "$(cell "$e")" "$(cell "$a")" \
        "$(ratio "${e%% *}" "${a%% *}")" "$(cell "$p")" "$(ratio "${e%% *}" "${p%% *}")"
    done
  done
done
