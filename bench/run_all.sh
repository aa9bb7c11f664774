#!/usr/bin/env bash
# Every benchmark docs/BENCHMARKS.md quotes, in one run, with the commands it
# quotes. Results go to OUT (default bench/results/<date>): one JSON-lines
# file per benchmark, the commands and stderr beside it (NAME.log), the
# machine, commit and load (machine.txt), and the idle, smoosh and tiering
# CSVs and plots (OUT/plots; --plots-to-docs writes them into docs/ instead,
# to update the plots the docs show). bench/summarize.py OUT prints every
# table.
#
#   bench/run_all.sh [OUT] [--only NAME[,NAME...]] [--repeats N] [--plots-to-docs] [--smoke]
#
# NAMEs (all by default):
#   core           fillrandom/readrandom/readzipfian/overwrite/compact, and
#                  fillrandom + compact end to end, for Ebb (layouts native
#                  and peer), RocksDB and LevelDB at memory budgets of 8 MiB
#                  and 128 MiB
#   core-more      fillseq, readseq, readwhilewriting (4 threads)
#   core-sync      fillrandom with sync always (all) and batch (Ebb, RocksDB)
#   dbbench        RocksDB's own db_bench beside ebb-bench --engine rocksdb
#   writers readisolation idle smoosh tiering manydbs redis
#   writers-peers  8 and 32 threads writing into one database: Ebb
#                  (op_lock and db_lock), RocksDB (enable_pipelined_write)
#                  and LevelDB (sync none only), 128 MiB budget, sync batch
#                  and none
#   tiering-ceph   the tiering workload against a one-node Ceph RADOS
#                  Gateway (tests/s3/ceph_rgw.sh; needs scripts/setup.sh test)
#   trickle        what a lone write costs at one write every 0.1-10 s,
#                  embedded per policy and through ebb serve (context
#                  switches, which load barely moves: run once)
#   soak           ten minutes of SETs and GETs against ebb serve, per minute
#   expiry         1,000,000 keys with TTLs over an hour, then ten idle
#                  minutes: ebb serve's memory and CPU against redis-server's
# Everything repeated runs N rounds (default 3), round-robin between the
# engines (the first engine rotates each round), so that the tables are
# medians with min-max. Takes about three hours on the project's
# 2-core machine; run it when nothing else runs. Build first:
# scripts/setup.sh bench && scripts/build.sh release.
#
# --smoke checks that everything runs, in a few minutes: one round, small
# sizes (numbers from it mean nothing), and by default only the parts that
# take a size: core core-more core-sync dbbench writers-peers manydbs redis.
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench/results/$(date +%Y-%m-%d)"
only="core,core-more,core-sync,dbbench,writers,writers-peers,readisolation,idle,trickle,soak,expiry,smoosh,tiering,tiering-ceph,manydbs,redis"
repeats=3
plots=""
smoke=""
only_given=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; shift ;;
    --only) only="$2"; only_given=1; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --plots-to-docs) plots=docs; shift ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    -*) echo "usage: $0 [OUT] [--only NAME,...] [--repeats N] [--plots-to-docs] [--smoke]" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
# Sizes (the published ones, or --smoke's).
num=1000000 sync_always_num=50000 sync_batch_num=200000 manydbs=(--manydbs 10000 --manydbs 100000)
redis_sizes=() db_bench_num=1000000 writers_peers_num=1000000
if [ -n "$smoke" ]; then
  num=20000 sync_always_num=500 sync_batch_num=5000 manydbs=(--manydbs 300 --manydbs 1000 --num 5000)
  redis_sizes=(-n 20000 -N 5000) db_bench_num=20000 writers_peers_num=20000 repeats=1
  [ -n "$only_given" ] || only="core,core-more,core-sync,dbbench,writers-peers,manydbs,redis"
fi
bench=build/release/bin/ebb-bench
[ -x "$bench" ] || { echo "$0: $bench is missing: run scripts/build.sh release" >&2; exit 1; }
mkdir -p "$out"
[ -n "$plots" ] || plots="$out/plots"
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
# rotate N WORD...: the words, starting at the Nth (round-robin order).
rotate() {
  local n="$1"; shift
  local words=("$@") i
  for i in $(seq 0 $(( ${#words[@]} - 1 ))); do echo "${words[$(( (i + n) % ${#words[@]} ))]}"; done
}

# Appended, so that a partial rerun (--only) into the same OUT keeps the
# record of the first run.
{
  echo "run: --only $only --repeats $repeats"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "kernel: $(uname -r)"
  echo "peers: rocksdb $(dpkg-query -W -f='${Version}' librocksdb-dev 2>/dev/null), leveldb $(dpkg-query -W -f='${Version}' libleveldb-dev 2>/dev/null), redis-server $(dpkg-query -W -f='${Version}' redis-server 2>/dev/null)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >> "$out/machine.txt"

# The engines of the core tables: NAME:ebb-bench flags.
core_engines=("ebb:--engine ebb --ebb-layout native" "ebb-peer:--engine ebb --ebb-layout peer"
              "rocksdb:--engine rocksdb" "leveldb:--engine leveldb")
common=(--num "$num" --key-size 16 --value-size 100 --threads 1 --sync none --json)

if wanted core; then
  for r in $(seq 1 "$repeats"); do
    for budget in 8MiB 128MiB; do
      while read -r spec; do
        name="${spec%%:*}"
        read -r -a flags <<< "${spec#*:}"
        # As the fill leaves the store: reads, overwrite, then compaction.
        run core "$bench" fillrandom readrandom readzipfian overwrite compact "${flags[@]}" --memory-budget "$budget" \
          "${common[@]}" --data "$data/core-$name"
        rm -rf "$data/core-$name"
        # End to end: fill, then flush and compact everything; reads of the
        # compacted store.
        run core "$bench" fillrandom compact readrandom readzipfian "${flags[@]}" --memory-budget "$budget" \
          "${common[@]}" --data "$data/core-$name"
        rm -rf "$data/core-$name"
      done < <(rotate $(( r - 1 )) "${core_engines[@]}")
    done
  done
fi

if wanted core-more; then
  for r in $(seq 1 "$repeats"); do
    while read -r spec; do
      name="${spec%%:*}"
      read -r -a flags <<< "${spec#*:}"
      run core-more "$bench" fillseq readseq readwhilewriting "${flags[@]}" --memory-budget 128MiB --num "$num" \
        --threads 4 --sync none --json --data "$data/more-$name"
      rm -rf "$data/more-$name"
    done < <(rotate $(( r - 1 )) "${core_engines[@]}")
  done
fi

if wanted core-sync; then
  # always: every write waits for fdatasync (group commit across 8 threads).
  # batch: acknowledged in the page cache, synced within 100 ms beside the
  # writers; LevelDB cannot do that and is left out.
  for r in $(seq 1 "$repeats"); do
    while read -r spec; do
      name="${spec%%:*}"
      read -r -a flags <<< "${spec#*:}"
      run core-sync "$bench" fillrandom "${flags[@]}" --memory-budget 128MiB --num "$sync_always_num" --threads 8 --sync always \
        --json --data "$data/sync-$name"
      rm -rf "$data/sync-$name"
      if [ "$name" != leveldb ]; then
        run core-sync "$bench" fillrandom "${flags[@]}" --memory-budget 128MiB --num "$sync_batch_num" --threads 8 --sync batch \
          --json --data "$data/sync-$name"
        rm -rf "$data/sync-$name"
      fi
    done < <(rotate $(( r - 1 )) "${core_engines[@]}")
  done
fi

if wanted dbbench; then
  echo "+ bench/rocksdb_db_bench.sh -r $repeats $out/dbbench.jsonl" | tee -a "$out/dbbench.log" >&2
  bench/rocksdb_db_bench.sh -r "$repeats" --num "$db_bench_num" --data "$data" "$out/dbbench.jsonl" 2>>"$out/dbbench.log"
fi

if wanted writers; then
  for r in $(seq 1 "$repeats"); do
    run writers "$bench" writers --num 1000000 --json --data "$data/writers"
  done
  # The same with one write(2) per group commit instead of the journal's
  # mapping: what the op lock gains when the journal write is a system call
  # (one round).
  run writers-write "$bench" writers --num 1000000 --set journal.mmap_writes=false --json --data "$data/writers"
  rm -rf "$data/writers"
fi

if wanted writers-peers; then
  # Many writers into one database against the peers: every engine at the
  # 128 MiB budget of the core tables, sync batch and none (LevelDB cannot
  # sync beside its writers and runs none only), RocksDB with its pipelined
  # write path; one process per engine, thread count and round, round-robin.
  writer_engines=("ebb-op_lock:--engine ebb --completion op_lock" "ebb-db_lock:--engine ebb --completion db_lock"
                  "rocksdb:--engine rocksdb" "leveldb:--engine leveldb")
  for r in $(seq 1 "$repeats"); do
    for threads in 8 32; do
      while read -r spec; do
        name="${spec%%:*}"
        read -r -a flags <<< "${spec#*:}"
        run writers-peers "$bench" writers "${flags[@]}" --threads "$threads" --dbs 1 --num "$writers_peers_num" \
          --memory-budget 128MiB --json --data "$data/wp-$name"
        rm -rf "$data/wp-$name"
      done < <(rotate $(( r - 1 )) "${writer_engines[@]}")
    done
  done
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
    # The write pool ebb serve derives on two cores with sync batch
    # (server.write_threads = cores - 1: one core left for reads).
    run readisolation "$bench" readisolation --read-exec readpool --sync batch --duration 5 --read-rate 2000 --json \
      --set server.write_threads=1 --data "$data/ri"
    # Admission by a tight wait bound: the overload scenario's admitted
    # tail against the unloaded one (bench/results/2026-12-07-readpool-wait,
    # 2026-12-07-readpool-spin), with read threads polling (the default)
    # and, at 0.3, without (readpool.spin_us=0).
    for mw in 0.3 0.2; do
      run readisolation "$bench" readisolation --read-exec readpool --sync batch --duration 3 --read-rate 2000 --json \
        --set readpool.max_wait_ms_normal=$mw --data "$data/ri"
    done
    run readisolation "$bench" readisolation --read-exec readpool --sync batch --duration 3 --read-rate 2000 --json \
      --set readpool.max_wait_ms_normal=0.3 --set readpool.spin_us=0 --data "$data/ri"
  done
  rm -rf "$data/ri"
fi

if wanted idle; then
  # The plots are the last round's.
  for r in $(seq 1 "$repeats"); do
    run idle "$bench" idle --trace bursty,sustained --duration 60 --json --out "$plots" --data "$data/idle"
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
  # The same on a fresh ext4 with its default journal (loop device; root only).
  if [ "$(id -u)" -eq 0 ]; then
    echo "+ bench/trickle_fs.sh --seconds 60 --json" | tee -a "$out/trickle_server.log" >&2
    bench/trickle_fs.sh --seconds 60 --json 2>>"$out/trickle_server.log" | tee -a "$out/trickle_server.jsonl"
  fi
fi

if wanted expiry; then
  # 1,000,000 keys with TTLs over an hour in ebb serve and redis-server,
  # then ten idle minutes: memory, CPU, context switches (run once).
  echo "+ bench/expiry_idle.py --json" | tee -a "$out/expiry_idle.log" >&2
  bench/expiry_idle.py --json 2>>"$out/expiry_idle.log" | tee -a "$out/expiry_idle.jsonl"
fi

if wanted soak; then
  # Ten minutes of redis-benchmark SETs and GETs side by side against ebb serve.
  echo "+ bench/soak_server.py --minutes 10 --json" | tee -a "$out/soak.log" >&2
  bench/soak_server.py --minutes 10 --json 2>>"$out/soak.log" | tee -a "$out/soak.jsonl"
fi

if wanted smoosh; then
  for r in $(seq 1 "$repeats"); do
    run smoosh "$bench" smoosh --num 1000000 --json --out "$plots" --data "$data/smoosh"
    rm -rf "$data/smoosh"
  done
fi

if wanted tiering; then
  for r in $(seq 1 "$repeats"); do
    run tiering "$bench" tiering --json --out "$plots" --data "$data/tiering"
    rm -rf "$data/tiering"
  done
fi

if wanted tiering-ceph; then
  # The same, against a one-node Ceph RADOS Gateway on loopback.
  for r in $(seq 1 "$repeats"); do
    run tiering tests/s3/ceph_rgw.sh run -- "$bench" tiering --tier-store s3 --json --out "$plots/ceph" \
      --data "$data/tiering"
    rm -rf "$data/tiering"
  done
fi

if wanted manydbs; then
  for round in $(seq 1 "$repeats"); do
    run manydbs "$bench" manydbs "${manydbs[@]}" --json --data "$data/manydbs"
    rm -rf "$data/manydbs"
  done
fi

if wanted redis; then
  echo "+ bench/redis_compare.sh -r $repeats --jsonl $out/redis.jsonl" | tee -a "$out/redis.log" >&2
  bench/redis_compare.sh -r "$repeats" "${redis_sizes[@]}" --jsonl "$out/redis.jsonl" 2>>"$out/redis.log" |
    tee "$out/redis.md"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo "results in $out; tables: bench/summarize.py $out" >&2
