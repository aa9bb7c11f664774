#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, and
# runs `ebb serve` on a store in ./ebb-data: the Redis protocol on
# 127.0.0.1:6380 (try `redis-cli -p 6380`), admin HTTP and the dashboard on
# http://127.0.0.1:8380/. Ctrl-C stops it. Extra arguments go to `ebb serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/build.sh release
exec build/release/bin/ebb serve --data ./ebb-data "$@"
