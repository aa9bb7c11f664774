#!/usr/bin/env bash
# The test command: installs what is missing, builds the release preset and
# runs every unit and integration test, then a short run of each fuzz target
# (scripts/fuzz.sh ci: about a minute each; EBB_SKIP_FUZZ=1 skips it).
# Extra arguments go to ctest and skip the fuzz run (e.g. scripts/test.sh -R
# Journal). Use PRESET=asan or PRESET=tsan for the sanitizer builds (no fuzz
# run: the fuzz targets have their own sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-release}"
scripts/setup.sh test
scripts/build.sh "$preset"
ctest --preset "$preset" "$@"
if [ "$#" -eq 0 ] && [ "$preset" = release ] && [ "${EBB_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh ci
fi
