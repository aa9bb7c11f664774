#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, and
# runs Ebb's demo on a store in ./ebb-data (writes, reads back, prints
# per-database statistics). Extra arguments go to `ebb demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/build.sh release
exec build/release/bin/ebb demo --data ./ebb-data "$@"
