#!/usr/bin/env bash
# The Debian package (cmake/EbbPackage.cmake): built with cpack from the
# build directory, then checked the way an operator or a package reviewer
# would: dpkg-deb --info (name, version, dependencies found by
# dpkg-shlibdeps, the conffile, the maintainer scripts), dpkg-deb --contents
# (the programs, the unit, the configuration, the manual page, the docs),
# and the unpacked files themselves: the unit passes systemd-analyze verify,
# the programs run, the configuration file is what `ebb config template`
# prints and `ebb serve` accepts it, the manual page renders without a
# warning.
#
#   package_test.sh BUILD_DIR WITH_BENCH
set -euo pipefail
build_dir=$(cd "$1" && pwd) with_bench=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/ebb-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "--- $*"; }
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze groff; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/setup.sh test"
done

step "cpack -G DEB"
(cd "$work" && cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
debs=("$work"/out/ebb_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single ebb_*.deb: $(ls "$work/out")"
deb=${debs[0]}
echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"

step "dpkg-deb --info"
info=$(dpkg-deb --info "$deb")
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = ebb ] || fail "Package: $(field Package)"
version=$(sed -n 's/^#define EBB_VERSION_STRING "\(.*\)"/\1/p' "$build_dir/include/ebb/version.h")
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), ebb/version.h says $version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
echo "Depends: $depends"
# dpkg-shlibdeps found the libraries the programs link, with versions.
for lib in adduser "libc6 (>=" "libstdc++6 (>=" "libzstd1 (>=" "libssl3 (>="; do
  grep -qF "$lib" <<<"$depends" || fail "Depends lacks '$lib': $depends"
done
for script in postinst prerm postrm conffiles; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$script" <<<"$info" || fail "the control archive lacks $script: $info"
done
dpkg-deb --control "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/ebb/ebb.toml ] || fail "conffiles: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "$script is not executable"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done

step "dpkg-deb --contents"
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
expect=(./usr/bin/ebb ./etc/ebb/ebb.toml ./usr/lib/systemd/system/ebb.service ./usr/share/man/man1/ebb.1
        ./usr/share/doc/ebb/operations.md ./usr/share/doc/ebb/configuration.md ./usr/share/doc/ebb/README.md)
[ "$with_bench" = 1 ] && expect+=(./usr/bin/ebb-bench)
for f in "${expect[@]}"; do
  grep -qxF "$f" <<<"$contents" || fail "$f is not in the package"
done
# Programs and the service only: no headers, no static library, no test.
if grep -E '^\./usr/(include|lib/[^s])|test' <<<"$contents"; then fail "the package holds development or test files"; fi

step "the unpacked files"
root=$work/root
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/ebb" --version | grep -q "^ebb $version " || fail "the packaged ebb --version: $("$root/usr/bin/ebb" --version)"
cmp -s "$root/etc/ebb/ebb.toml" <("$root/usr/bin/ebb" config template) ||
  fail "/etc/ebb/ebb.toml is not what the packaged ebb's config template prints"
unit=$root/usr/lib/systemd/system/ebb.service
grep -qx "ExecStart=/usr/bin/ebb serve --config /etc/ebb/ebb.toml --data /var/lib/ebb" "$unit" ||
  fail "the packaged unit: $(grep ExecStart "$unit")"
# systemd-analyze checks that ExecStart's program exists: verify a copy
# that starts the unpacked one.
sed "s|^ExecStart=/usr/bin/ebb |ExecStart=$root/usr/bin/ebb |" "$unit" >"$work/ebb.service"
out=$(systemd-analyze verify "$work/ebb.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify reported: $out"
out=$(groff -man -Tutf8 -ww -z "$root/usr/share/man/man1/ebb.1" 2>&1) || fail "groff: $out"
[ -z "$out" ] || fail "the manual page has roff warnings: $out"
page=$(groff -man -Tascii "$root/usr/share/man/man1/ebb.1" 2>/dev/null | col -b)
for want in "ebb serve" "ebb config template" "ebb tier" "/etc/ebb/ebb.toml" "--requirepass"; do
  grep -qF -- "$want" <<<"$page" || fail "the manual page does not mention '$want'"
done

step "the packaged configuration starts a server"
data=$work/data
"$root/usr/bin/ebb" serve --config "$root/etc/ebb/ebb.toml" --data "$data" --port 0 --admin-port 0 \
  >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "^ebb serve: ready:" "$work/serve.out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$work/serve.err"; fail "ebb serve exited with the packaged configuration"; }
  sleep 0.1
done
kill -TERM $pid
wait $pid || fail "ebb serve with the packaged configuration exited with $?: $(cat "$work/serve.err")"
grep -q "^ebb serve: ready:" "$work/serve.out" || fail "ebb serve never said it was ready: $(cat "$work/serve.err")"
[ -f "$data/CURRENT" ] || fail "ebb serve made no store in $data"

echo "package test passed"
