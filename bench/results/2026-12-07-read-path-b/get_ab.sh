#!/bin/bash
# One run of the server GET A/B in readrandom-ab.md: a fresh `ebb serve`
# (binary BIN) on a temporary directory, a million pipelined SETs over a
# million random keys, a million GETs right after, 10 s of rest, two more
# million-GET runs; prints the four rates. Alternate binaries by hand:
#   for r in 1 2 3; do get_ab.sh before OLD/ebb; get_ab.sh after NEW/ebb; done
label=$1; bin=$2; port=${PORT:-7421}
d=$(mktemp -d)
"$bin" serve --data "$d/data" --port "$port" --admin-port 0 >"$d/log" 2>&1 &
pid=$!
sleep 1
run() { redis-benchmark -p "$port" -t "$1" -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2 | tr -d '"'; }
s=$(run set)
g=$(run get)
sleep 10
g2=$(run get)
g3=$(run get)
kill $pid; wait $pid 2>/dev/null
rm -rf "$d"
echo "$label set=$s get=$g settled=$g2 settled2=$g3"
