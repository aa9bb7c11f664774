#!/usr/bin/env bash
# Installs the Debian packages Ebb needs that are not installed yet.
# Idempotent: when everything is present it changes nothing and needs no root.
#
#   scripts/setup.sh build   # compilers, libraries, benchmark peers
#   scripts/setup.sh test    # build + what the tests drive (redis-cli, redis-py,
#                            # redis-server, the Prometheus client's parser,
#                            # chromium, openssl for test certificates,
#                            # clang and libFuzzer for scripts/fuzz.sh,
#                            # node/npm for s3rver, systemd-analyze to
#                            # check the service unit, dpkg-dev, groff and
#                            # col for the Debian package test, Ceph's
#                            # monitor, OSD and RADOS Gateway for the S3
#                            # tests against a real object store)
#   scripts/setup.sh bench   # test + what bench/run_all.sh also runs
#                            # (RocksDB's own db_bench, from rocksdb-tools)
set -euo pipefail

profile="${1:-build}"

build_packages=(
  cmake ninja-build g++ pkg-config ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libzstd-dev libsodium-dev libarchive-dev libxxhash-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libasio-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev
  librocksdb-dev libleveldb-dev
)
test_packages=(
  redis-tools redis-server python3 python3-redis python3-prometheus-client chromium openssl
  clang libclang-rt-14-dev systemd dpkg-dev groff-base bsdextrautils
  ceph-mon ceph-osd radosgw ceph-common
)
bench_packages=(
  rocksdb-tools
)

case "$profile" in
  build) wanted=("${build_packages[@]}") ;;
  test) wanted=("${build_packages[@]}" "${test_packages[@]}") ;;
  bench) wanted=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
# Node.js and npm run s3rver, the S3 server the tiering tests start; any
# installed node will do, Debian's is the fallback.
if [ "$profile" != build ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

# s3rver (npm), the local S3 server of the S3ObjectStore and tiering tests,
# pinned by tests/s3/package-lock.json. Runs after the Debian packages (it
# needs npm); does nothing when node_modules is already there.
install_s3rver() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/s3"
  if [ "$profile" != build ] && [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/s3rver" ]; then
    echo "setup: npm ci in $dir (s3rver)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#wanted[@]} packages present"
  install_s3rver
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "setup: missing packages ${missing[*]}; run as root or install sudo" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_s3rver
