#!/bin/bash
# ReadPool read threads polling before they sleep (readpool.spin_us):
# alternated rounds with polling off (0) and at its default (20 us).
#   bench/results/2026-12-07-readpool-spin/run.sh readisolation > readisolation.jsonl   # 3 rounds, ~5 min
#   bench/results/2026-12-07-readpool-spin/run.sh overload > overload-max-wait-0.2.jsonl  # ~2.5 min
#   bench/results/2026-12-07-readpool-spin/run.sh get-after > get_after_ab.txt          # 6 rounds, ~5 min
#   python3 bench/results/2026-12-07-readpool-spin/summarize.py readisolation.jsonl
# EBB_BENCH and EBB name the binaries (default build/release/bin/...).
cd "$(dirname "$0")/../../.."
bench=${EBB_BENCH:-build/release/bin/ebb-bench}
case "$1" in
  readisolation)
    for r in 1 2 3; do for sp in 0 20; do
      timeout 300 "$bench" readisolation --sync batch --duration 3 --json \
          --set readpool.max_wait_ms_normal=0.3 --set readpool.spin_us=$sp 2>/dev/null | grep '"scenario"' |
          sed "s/^{/{\"spin_us\": $sp, \"round\": $r, /"
    done; done ;;
  overload)
    for r in 1 2 3; do
      timeout 300 "$bench" readisolation --sync batch --duration 3 --json \
          --set readpool.max_wait_ms_normal=0.2 2>/dev/null | grep '"overload"' |
          sed "s/^{/{\"spin_us\": 20, \"max_wait_ms_normal\": 0.2, \"round\": $r, /"
    done ;;
  get-after)
    s=bench/results/2026-12-07-read-path-b/rush_nice_ab.sh
    for r in 1 2 3 4 5 6; do
      bash $s spin0 0 --set readpool.spin_us=0
      bash $s spin20 0
    done ;;
  *) echo "usage: $0 readisolation|overload|get-after" >&2; exit 2 ;;
esac
