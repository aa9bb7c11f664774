#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, AddressSanitizer +
# UndefinedBehaviorSanitizer, coverage in every library) and runs them from
# the seed corpus in tests/fuzz/corpus/ with the dictionary tests/fuzz/resp.dict.
#
#   scripts/fuzz.sh ci               # each target for 60 s from the seeds alone
#                                    # (scripts/test.sh runs this; EBB_FUZZ_SECONDS
#                                    # changes the time)
#   scripts/fuzz.sh long [SECONDS]   # each target for SECONDS (default 900) at
#                                    # nice 19, growing build/fuzz/corpus/<target>
#
# A crash, sanitizer report, leak, timeout (10 s per input, 60 s in long
# runs) or out-of-memory (4 GiB) stops the target and fails the script; the input that did it is
# written to build/fuzz/artifacts/ (reproduce: build/fuzz/bin/<target> FILE).
# Every run ends with libFuzzer's statistics (stat::number_of_executed_units).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-ci}"
# libFuzzer's per-input timeout is wall-clock: at nice 19 on a busy machine
# the process can wait longer than that for a CPU, so long runs allow 60 s.
case "$mode" in
  ci) seconds="${EBB_FUZZ_SECONDS:-60}"; niceness=0; timeout=10 ;;
  long) seconds="${2:-900}"; niceness=19; timeout=60 ;;
  *) echo "usage: $0 ci | long [SECONDS]" >&2; exit 2 ;;
esac

scripts/build.sh fuzz
mkdir -p build/fuzz/artifacts
status=0
for target in resp_parser_fuzzer resp_session_fuzzer; do
  seeds="tests/fuzz/corpus/${target%_fuzzer}"
  if [ "$mode" = ci ]; then
    # A fresh corpus each time: CI runs are reproducible from the seeds.
    corpus="$(mktemp -d)"
  else
    corpus="build/fuzz/corpus/$target"
    mkdir -p "$corpus"
  fi
  echo "fuzz: $target for ${seconds}s (corpus $corpus, seeds $seeds)"
  if ! nice -n "$niceness" "build/fuzz/bin/$target" "$corpus" "$seeds" \
      -dict=tests/fuzz/resp.dict -max_total_time="$seconds" -max_len=4096 -timeout="$timeout" -rss_limit_mb=4096 \
      -artifact_prefix="build/fuzz/artifacts/$target-" -print_final_stats=1 \
      >"build/fuzz/$target.log" 2>&1; then
    echo "fuzz: $target FAILED; its log (build/fuzz/$target.log) ends:" >&2
    tail -n 60 "build/fuzz/$target.log" >&2
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)" "build/fuzz/$target.log" | sed "s/^/fuzz: $target /"
  if [ "$mode" = ci ]; then rm -rf "$corpus"; fi
done
exit "$status"
