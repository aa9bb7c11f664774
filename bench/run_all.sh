#!/usr/bin/env bash
# Every benchmark docs/BENCHMARKS.md quotes, in one run, with the commands
# it quotes. Results go to OUT (default bench/results/<date>): one JSON-lines
# file per benchmark, the text output beside it, and the CSV/SVG plots into
# docs/ (idle, smoosh, tiering).
#
#   bench/run_all.sh [OUT] [--only NAME[,NAME...]] [--repeats N]
#
# NAMEs: core writers readisolation idle trickle soak smoosh tiering redis. Core,
# readisolation and idle run N times (default 3), core round-robin across
# engines, so that docs can quote medians on a noisy machine; redis_compare
# does its own N rounds; the rest run once (trickle counts context switches,
# which load barely moves; soak is ten minutes of its own). The whole run
# takes about 90 minutes on the project's 2-core machine. Build first:
# scripts/build.sh release (and scripts/setup.sh test for s3rver and
# redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench/results/$(date +%Y-%m-%d)"
only="core,writers,readisolation,idle,trickle,soak,smoosh,tiering,redis"
repeats=3
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "usage: $0 [OUT] [--only NAME,...] [--repeats N]" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
bench=build/release/bin/ebb-bench
[ -x "$bench" ] || { echo "$0: $bench is missing: run scripts/build.sh release" >&2; exit 1; }
mkdir -p "$out"
data="$(mktemp -d /tmp/ebb-run-all.XXXXXX)"
trap 'rm -rf "$data"' EXIT

wanted() { [[ ",$only," == *",$1,"* ]]; }
# run NAME CMD...: appends CMD's JSON lines to OUT/NAME.jsonl, its stderr
# and the command itself to OUT/NAME.log.
run() {
  local name="$1"; shift
  echo "+ $*" | tee -a "$out/$name.log" >&2
  "$@" 2>>"$out/$name.log" | tee -a "$out/$name.jsonl"
}

# Appended, so that a partial rerun (--only) into the same OUT keeps the
# record of the first run.
{
  echo "run: --only $only --repeats $repeats"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "kernel: $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >> "$out/machine.txt"

if wanted core; then
  # Engines round-robin, each on fresh data: fill, read back, overwrite, compact.
  for r in $(seq 1 "$repeats"); do
    for engine in ebb rocksdb leveldb; do
      run core "$bench" fillrandom readrandom overwrite compact --engine "$engine" --num 1000000 \
        --key-size 16 --value-size 100 --threads 1 --sync none --json --data "$data/core-$engine"
      rm -rf "$data/core-$engine"
    done
  done
  for engine in ebb rocksdb leveldb; do
    run core-more "$bench" fillseq readseq readwhilewriting --engine "$engine" --num 1000000 --threads 4 \
      --sync none --json --data "$data/more-$engine"
    run core-sync "$bench" fillrandom --engine "$engine" --num 200000 --threads 8 --sync batch --json \
      --data "$data/sync-$engine"
    rm -rf "$data/more-$engine" "$data/sync-$engine"
  done
fi

if wanted writers; then
  run writers "$bench" writers --num 1000000 --json --data "$data/writers"
  # The same with one write(2) per group commit instead of the journal's
  # mapping: what the op lock gains when the journal write is a system call.
  run writers-write "$bench" writers --num 1000000 --set journal.mmap_writes=false --json --data "$data/writers"
  rm -rf "$data/writers"
fi

if wanted readisolation; then
  for r in $(seq 1 "$repeats"); do
    for sync in batch always; do
      for exec in readpool shared; do
        run readisolation "$bench" readisolation --read-exec "$exec" --sync "$sync" --duration 5 --read-rate 2000 --json \
          --data "$data/ri"
      done
      # The write threads yielding CPU to reads (server.write_nice).
      run readisolation "$bench" readisolation --read-exec readpool --sync "$sync" --duration 5 --read-rate 2000 --json \
        --set server.write_nice=10 --data "$data/ri"
    done
  done
  rm -rf "$data/ri"
fi

if wanted idle; then
  # The plots in docs/ are the last round's.
  for r in $(seq 1 "$repeats"); do
    run idle "$bench" idle --trace bursty,sustained --duration 60 --json --out docs --data "$data/idle"
    rm -rf "$data/idle"
  done
fi

if wanted trickle; then
  # One write every 0.1, 0.5, 2 and 10 s for 60 s each, per policy, embedded;
  # then one 100-byte SET every 2 s and every 0.4 s through ebb serve.
  run trickle "$bench" idle --trace trickle --duration 60 --json --data "$data/trickle"
  rm -rf "$data/trickle"
  echo "+ bench/trickle_server.py --seconds 60 --json" | tee -a "$out/trickle_server.log" >&2
  bench/trickle_server.py --seconds 60 --json 2>>"$out/trickle_server.log" | tee -a "$out/trickle_server.jsonl"
fi

if wanted soak; then
  # Ten minutes of redis-benchmark SETs and GETs side by side against ebb serve.
  echo "+ bench/soak_server.py --minutes 10 --json" | tee -a "$out/soak.log" >&2
  bench/soak_server.py --minutes 10 --json 2>>"$out/soak.log" | tee -a "$out/soak.jsonl"
fi

if wanted smoosh; then
  run smoosh "$bench" smoosh --num 1000000 --json --out docs --data "$data/smoosh"
  rm -rf "$data/smoosh"
fi

if wanted tiering; then
  run tiering "$bench" tiering --json --out docs --data "$data/tiering"
  rm -rf "$data/tiering"
fi

if wanted redis; then
  echo "+ bench/redis_compare.sh -r $repeats" | tee -a "$out/redis.log" >&2
  bench/redis_compare.sh -r "$repeats" 2>>"$out/redis.log" | tee "$out/redis.md"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo "results in $out" >&2
