#!/usr/bin/env bash
# The test command: installs what is missing, builds the release preset and
# runs every unit and integration test. Extra arguments go to ctest
# (e.g. scripts/test.sh -R Journal). Use PRESET=asan or PRESET=tsan for the
# sanitizer builds.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-release}"
scripts/setup.sh test
scripts/build.sh "$preset"
ctest --preset "$preset" "$@"
