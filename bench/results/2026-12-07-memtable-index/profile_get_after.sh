#!/bin/bash
# Profiles `ebb serve` (EBB, default build/release/bin/ebb) during pipelined
# GETs right after a million pipelined SETs: perf record -g of the whole
# process for 2 s, 0.3 s into the GETs, into ./perf.data. Then:
#   perf report -i perf.data --no-children --sort comm,sym --stdio -g none
d=$(mktemp -d)
"${EBB:-build/release/bin/ebb}" serve --data $d/data --port 7421 --admin-port 0 "$@" >$d/log 2>&1 &
pid=$!
sleep 1
redis-benchmark -p 7421 -t set -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1
(sleep 0.3; perf record -F 2000 -g -o perf.data -p $pid -- sleep 2 >/dev/null 2>&1) &
redis-benchmark -p 7421 -t get -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1
wait %2 2>/dev/null; sleep 2.5
kill $pid; wait $pid 2>/dev/null
rm -rf $d
