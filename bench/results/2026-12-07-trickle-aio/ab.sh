#!/usr/bin/env bash
# A/B of the journal's started sync (Linux native AIO) against waiting for
# fdatasync on the writing thread, on one binary: fs.aio-max-nr = 0 makes
# io_setup fail, and the journal then syncs as before. Alternates the two,
# ROUNDS rounds, on this machine's disk and on a fresh ext4 with a journal
# (bench/trickle_fs.sh). Needs root (sysctl, mount).
#
#   bench/results/2026-12-07-trickle-aio/ab.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=bench/results/2026-12-07-trickle-aio
rounds=${1:-3}
saved=$(cat /proc/sys/fs/aio-max-nr)
trap 'echo "$saved" > /proc/sys/fs/aio-max-nr' EXIT
for round in $(seq 1 "$rounds"); do
  for variant in wait started; do
    if [ "$variant" = wait ]; then echo 0 > /proc/sys/fs/aio-max-nr; else echo "$saved" > /proc/sys/fs/aio-max-nr; fi
    echo "round $round $variant $(date -u +%FT%TZ) load $(cut -d' ' -f1 /proc/loadavg)" >&2
    python3 bench/trickle_server.py --json | sed "s/^{/{\"variant\": \"$variant\", \"round\": $round, /" >> "$out/trickle_server.jsonl"
    bash bench/trickle_fs.sh --json | sed "s/^{/{\"variant\": \"$variant\", \"round\": $round, /" >> "$out/trickle_server-ext4-journal.jsonl"
  done
done
