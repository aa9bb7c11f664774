#!/usr/bin/env bash
# The test command: installs what is missing, builds the release preset and
# runs every unit and integration test (the S3 ones against s3rver), then the
# S3 and tiering suites again against a one-node Ceph RADOS Gateway
# (tests/s3/ceph_rgw.sh, about 90 s; EBB_SKIP_CEPH=1 skips it), then a short
# run of each fuzz target (scripts/fuzz.sh ci: about a minute each;
# EBB_SKIP_FUZZ=1 skips it). An S3 test that cannot reach its service fails
# here instead of skipping (EBB_REQUIRE_S3=0 lets it skip). Extra arguments
# go to ctest and skip the Ceph and fuzz runs (e.g. scripts/test.sh -R
# Journal). Use PRESET=asan or PRESET=tsan for the sanitizer builds (no Ceph
# or fuzz run: the fuzz targets have their own sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${PRESET:-release}"
scripts/setup.sh test
scripts/build.sh "$preset"
export EBB_REQUIRE_S3="${EBB_REQUIRE_S3:-1}"
ctest --preset "$preset" "$@"
if [ "$#" -eq 0 ] && [ "$preset" = release ] && [ "${EBB_SKIP_CEPH:-0}" != 1 ]; then
  tests/s3/ceph_rgw.sh run -- ctest --preset release -R 'S3|Tiering'
fi
if [ "$#" -eq 0 ] && [ "$preset" = release ] && [ "${EBB_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh ci
fi
