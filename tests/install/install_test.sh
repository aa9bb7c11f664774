#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then what a user of the install
# does: examples/embed built with find_package(Ebb) and with
# `pkg-config --cflags --libs ebb`, each run against a fresh data directory;
# the programs, the systemd unit (checked by systemd-analyze verify) and the
# docs where README.md ("Install") says they are.
#
#   install_test.sh BUILD_DIR SOURCE_DIR LIBDIR CXX SANITIZE WITH_BENCH
# LIBDIR is CMAKE_INSTALL_LIBDIR; SANITIZE is EBB_SANITIZE (address, thread or
# empty): an instrumented libebb needs an instrumented program.
set -euo pipefail
build_dir=$1 source_dir=$2 libdir=$3 cxx=$4 sanitize=$5 with_bench=$6

work=$(mktemp -d "${TMPDIR:-/tmp}/ebb-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "--- $*"; }

case "$sanitize" in
  address) san_flags="-fsanitize=address,undefined" ;;
  thread) san_flags="-fsanitize=thread" ;;
  "") san_flags="" ;;
  *) fail "unknown sanitizer '$sanitize'" ;;
esac

step "cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "install"; }

step "installed layout"
expect=(
  bin/ebb
  include/ebb/ebb.h include/ebb/version.h include/ebb/store.h include/ebb/export.h
  "$libdir/cmake/Ebb/EbbConfig.cmake" "$libdir/cmake/Ebb/EbbConfigVersion.cmake" "$libdir/cmake/Ebb/EbbTargets.cmake"
  "$libdir/pkgconfig/ebb.pc"
  lib/systemd/system/ebb.service etc/ebb/ebb.toml share/man/man1/ebb.1
  share/doc/ebb/operations.md share/doc/ebb/configuration.md share/doc/ebb/server.md share/doc/ebb/README.md
)
[ "$with_bench" = 1 ] && expect+=(bin/ebb-bench)
for f in "${expect[@]}"; do
  [ -e "$prefix/$f" ] || fail "$f is not installed under $prefix"
done
# libebb.a for a static build, libebb.so.<version> for a shared one.
compgen -G "$prefix/$libdir/libebb.a" >/dev/null || compgen -G "$prefix/$libdir/libebb.so.*" >/dev/null ||
  fail "no libebb in $prefix/$libdir"
# The public headers stand alone: they include only each other and the
# standard library, never src/.
if grep -n '#include "' "$prefix"/include/ebb/*.h | grep -v '#include "ebb/'; then
  fail "an installed header includes something outside include/ebb/"
fi

step "ebb --version"
version=$("$prefix/bin/ebb" --version)
echo "$version"
[[ "$version" =~ ^ebb\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-f]{12}(-dirty)?\)$ ]] ||
  [[ "$version" =~ ^ebb\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ unknown\)$ ]] || fail "unexpected --version: $version"

step "the systemd unit"
unit=$prefix/lib/systemd/system/ebb.service
grep -qx "ExecStart=$prefix/bin/ebb serve --config $prefix/etc/ebb/ebb.toml --data /var/lib/ebb" "$unit" ||
  fail "the installed unit does not start $prefix/bin/ebb with $prefix/etc/ebb/ebb.toml: $(grep ExecStart "$unit")"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing: run scripts/setup.sh test"
# verify exits 0 on most problems it reports (an unknown Type=, a bad
# directive): any output is a failure.
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify reported: $out"

step "the configuration file"
cmp -s "$prefix/etc/ebb/ebb.toml" <("$prefix/bin/ebb" config template) ||
  fail "$prefix/etc/ebb/ebb.toml is not what ebb config template prints"
# An operator's file survives a reinstall.
echo "# edited by the operator" >>"$prefix/etc/ebb/ebb.toml"
cmake --install "$build_dir" --prefix "$prefix" --component server >"$work/reinstall.log" ||
  { cat "$work/reinstall.log"; fail "reinstall"; }
tail -n 1 "$prefix/etc/ebb/ebb.toml" | grep -qx "# edited by the operator" || fail "a reinstall replaced the edited configuration"
grep -q "Keeping: $prefix/etc/ebb/ebb.toml" "$work/reinstall.log" || fail "the reinstall did not say it kept the configuration"

check_run() {  # check_run PROGRAM DATA_DIR
  local out
  out=$("$1" "$2") || fail "$1 exited with $?: $out"
  echo "$out"
  local want
  for want in "de = hallo" "en = hello" "fr = bonjour" "get fr: bonjour" "closed"; do
    grep -qxF "$want" <<<"$out" || fail "$1 did not print '$want'"
  done
  grep -qE "^status: data_dir .*, journal sync always, 1 database\(s\)$" <<<"$out" || fail "$1: no status line"
  [ -f "$2/CURRENT" ] || fail "$1 left no store in $2"
}

step "examples/embed with find_package(Ebb)"
cmake -S "$source_dir/examples/embed" -B "$work/build-cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$san_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$san_flags" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build-cmake" >"$work/build.log" || { cat "$work/build.log"; fail "build"; }
check_run "$work/build-cmake/embed" "$work/data-cmake"

step "examples/embed with pkg-config"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
[ "$(pkg-config --variable=prefix ebb)" = "$prefix" ] || fail "ebb.pc names prefix $(pkg-config --variable=prefix ebb)"
[ "$(pkg-config --modversion ebb)" = "$(sed -n 's/^#define EBB_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/ebb/version.h")" ] ||
  fail "ebb.pc's version differs from ebb/version.h"
flags=$(pkg-config --cflags --libs ebb)
echo "pkg-config --cflags --libs ebb: $flags"
# shellcheck disable=SC2086  # the flags are words
"$cxx" -std=c++20 $san_flags "$source_dir/examples/embed/main.cc" $flags -o "$work/embed-pc" ||
  fail "building with pkg-config"
# A shared libebb is found through LD_LIBRARY_PATH (pkg-config sets no rpath).
export LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
check_run "$work/embed-pc" "$work/data-pc"

echo "install test passed"
