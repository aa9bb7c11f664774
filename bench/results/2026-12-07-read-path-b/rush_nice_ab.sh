#!/bin/bash
# An experiment, not a setting: what GET right after a write burst gains
# when the background runtime's threads (ebb-bg-*) run at a lower CPU
# priority. Starts `ebb serve` (EBB, default build/release/bin/ebb) on a
# temporary directory, renices its ebb-bg-* threads to NICE, runs a million
# pipelined SETs, a million GETs right after, rests 8 s, a million GETs.
#   for r in 1 2 3; do for n in 0 10 19; do rush_nice_ab.sh nice$n $n; done; done
# Extra arguments after NICE go to `ebb serve` (the work.nice rounds:
#   rush_nice_ab.sh nice19 0 --set work.nice=19).
label=$1; nice=$2; shift 2
d=$(mktemp -d)
"${EBB:-build/release/bin/ebb}" serve --data $d/data --port 7421 --admin-port 0 "$@" >$d/log 2>&1 &
pid=$!
sleep 1
for t in /proc/$pid/task/*; do case "$(cat $t/comm)" in ebb-bg-*) renice -n $nice -p $(basename $t) >/dev/null;; esac; done
s=$(redis-benchmark -p 7421 -t set -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2)
g=$(redis-benchmark -p 7421 -t get -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2)
sleep 8
g2=$(redis-benchmark -p 7421 -t get -r 1000000 -d 100 -c 50 -P 16 -n 1000000 --csv | tail -1 | cut -d, -f2)
kill $pid; wait $pid 2>/dev/null
rm -rf $d
echo "$label set=$s get=$g settled=$g2" | tr -d '"'
