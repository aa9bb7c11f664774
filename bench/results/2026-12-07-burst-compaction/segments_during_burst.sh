#!/bin/bash
# Starts `ebb serve` (EBB) with the admin port on 7422, waits WARM seconds
# (default 1), samples database 0's disk bytes and segment count from
# /metrics every second into OUT (default segments.txt: seconds since the
# sampling began, disk bytes, segments) while a million pipelined 1 KB SETs,
# the GETs right after, 10 s of rest and the GETs again run.
d=$(mktemp -d)
${EBB:-build/release/bin/ebb} serve --data $d/data --port 7421 --admin-port 7422 "$@" >$d/log 2>&1 &
pid=$!
sleep ${WARM:-1}
( t0=$(date +%s.%N); while kill -0 $pid 2>/dev/null; do s=$(curl -s localhost:7422/metrics | grep -E '^ebb_databases_(segments|disk_bytes)\{' | grep 'database="0"' | awk '{print $2}' | tr '\n' ' '); echo "$(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) $s"; sleep 1; done ) > ${OUT:-segments.txt} &
redis-benchmark -p 7421 -t set -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1
echo "GET start $(date +%s.%N)"
redis-benchmark -p 7421 -t get -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1
sleep 10
redis-benchmark -p 7421 -t get -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1
kill $pid; wait $pid 2>/dev/null
cp $d/log ${OUT:-segments.txt}.server-log
rm -rf $d
