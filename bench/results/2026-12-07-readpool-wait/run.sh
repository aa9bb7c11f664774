#!/bin/bash
# ebb-bench readisolation (sync batch, 3 s phases) three rounds, alternated
# between readpool.max_wait_ms_normal settings; prints the `overload`
# scenario's JSON line of each run, tagged with the setting and the round.
#   bench/results/2026-12-07-readpool-wait/run.sh > overload.jsonl
cd "$(dirname "$0")/../../.."
for r in 1 2 3; do for mw in 0.5 0.3 0; do
  timeout 300 "${EBB_BENCH:-build/release/bin/ebb-bench}" readisolation --sync batch --duration 3 --json \
      --set readpool.max_wait_ms_normal=$mw 2>/dev/null | grep '"overload"' |
      sed "s/^{/{\"max_wait_ms_normal\": $mw, \"round\": $r, /"
done; done
