#!/bin/bash
# One round at 1 KB: a million pipelined SETs (-r 1000000 -c 50 -P 16), a
# million GETs right after, 8 s of rest, a million GETs. LABEL, then extra
# arguments for `ebb serve`; EBB names the binary.
label=$1; shift
d=$(mktemp -d)
${EBB:-build/release/bin/ebb} serve --data $d/data --port 7421 --admin-port 0 "$@" >$d/log 2>&1 &
pid=$!
sleep 1
s=$(redis-benchmark -p 7421 -t set -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2)
gl=$(redis-benchmark -p 7421 -t get -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1); g=$(echo "$gl" | cut -d, -f2); gmax=$(echo "$gl" | cut -d, -f8)
sleep 8
g2=$(redis-benchmark -p 7421 -t get -r 1000000 -d 1000 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2)
kill $pid; wait $pid 2>/dev/null
rm -rf $d
echo "$label set=$s get=$g settled=$g2 getmax=$gmax" | tr -d '"'
