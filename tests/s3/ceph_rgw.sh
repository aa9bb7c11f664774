#!/usr/bin/env bash
# A one-node Ceph cluster with the RADOS Gateway (S3) on loopback, for Ebb's
# S3 tests: one monitor, one OSD keeping objects in memory (memstore), one
# radosgw, a user and a bucket. No systemd, no containers: the daemons run
# from a temporary directory that holds their configuration, keys, data,
# logs and pid files, and are killed at the end.
#
#   tests/s3/ceph_rgw.sh run [--] COMMAND [ARGS...]
#       starts a cluster, runs COMMAND with the variables below exported,
#       stops the cluster (also on failure or Ctrl-C) and exits with
#       COMMAND's status
#   tests/s3/ceph_rgw.sh start DIR    starts a cluster in DIR (must not exist);
#                                     prints the variables, also in DIR/env
#   tests/s3/ceph_rgw.sh stop DIR     stops it and removes DIR
#
# Exported to COMMAND (and written to DIR/env):
#   EBB_TEST_S3_ENDPOINT   http://127.0.0.1:PORT
#   EBB_TEST_S3_BUCKET     ebb-test
#   EBB_TEST_S3_ACCESS_KEY, EBB_TEST_S3_SECRET_KEY
#   EBB_TEST_S3_KIND       ceph-rgw
#
# Needs the Debian packages ceph-mon, ceph-osd, radosgw and ceph-common
# (scripts/setup.sh test installs them), python3 (free ports) and curl
# (the bucket). Exit status 77 when they are missing.
set -euo pipefail

readonly BUCKET=ebb-test
readonly ACCESS_KEY=EBBTESTACCESSKEY000
readonly SECRET_KEY=ebb-test-secret-key-0123456789abcdefghij
readonly RGW_NAME=client.rgw.ebb
# Bounds on how long each stage may take before the script gives up.
readonly START_TIMEOUT_S=90

log() { echo "ceph_rgw: $*" >&2; }

need_tools() {
  local missing=()
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "missing ${missing[*]}: run scripts/setup.sh test (apt-get install ceph-mon ceph-osd radosgw ceph-common)"
    exit 77
  fi
}

free_ports() {  # prints N free TCP ports on 127.0.0.1
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: polls COMMAND until it succeeds
  local what="$1"
  shift
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$what did not happen within ${START_TIMEOUT_S}s"
      return 1
    fi
    sleep 0.1
  done
}

start_cluster() {
  local dir="$1"
  need_tools
  if [ -e "$dir" ]; then
    log "$dir exists; give a new directory"
    exit 2
  fi
  mkdir -p "$dir"/{mon,osd,rgw,run,log}
  dir="$(cd "$dir" && pwd)"
  local mon_port rgw_port
  read -r mon_port rgw_port < <(free_ports 2)
  local fsid
  fsid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
  local conf="$dir/ceph.conf"
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
ms bind msgr2 = false
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon warn on pool no redundancy = false
paxos propose interval = 0.05
[mon]
mon data = $dir/mon/\$cluster-\$id
[osd]
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
[$RGW_NAME]
rgw data = $dir/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw thread pool size = 64
EOF
  export CEPH_CONF="$conf"
  local keyring="$dir/keyring"
  ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$keyring" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' \
    --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool "$keyring" --gen-key -n "$RGW_NAME" --cap mon 'allow rw' --cap osd 'allow rwx' \
    --cap mgr 'allow rw' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$keyring"
  ceph-mon -c "$conf" -i a
  local osd_uuid
  osd_uuid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
  ceph -c "$conf" --connect-timeout 30 osd new "$osd_uuid" >/dev/null
  mkdir -p "$dir/osd/ceph-0"
  # The OSD prints start-up chatter on stderr; keep it with the logs.
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/osd-start.log" 2>&1
  ceph-osd -c "$conf" -i 0 >>"$dir/log/osd-start.log" 2>&1
  radosgw-admin -c "$conf" user create --uid=ebb-test --display-name="Ebb tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  radosgw -c "$conf" -n "$RGW_NAME"
  local endpoint="http://127.0.0.1:$rgw_port"
  wait_for "the gateway answering on $endpoint" curl -fsS -o /dev/null "$endpoint/"
  # The bucket, with a signed request (curl does not send the payload hash
  # header its SigV4 signature covers; the gateway needs it).
  curl -fsS -o /dev/null -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/$BUCKET"
  cat >"$dir/env" <<EOF
EBB_TEST_S3_KIND=ceph-rgw
EBB_TEST_S3_ENDPOINT=$endpoint
EBB_TEST_S3_BUCKET=$BUCKET
EBB_TEST_S3_ACCESS_KEY=$ACCESS_KEY
EBB_TEST_S3_SECRET_KEY=$SECRET_KEY
EOF
  cat "$dir/env"
}

stop_cluster() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  # SIGKILL: memstore keeps nothing worth a clean shutdown, and a gateway
  # takes seconds to stop its threads on SIGTERM.
  local pids=()
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    local pid
    pid="$(cat "$pidfile")"
    # Only our own daemons: the pid must still run a ceph binary whose
    # command line names this cluster's configuration.
    if [ -n "$pid" ] && grep -qa -- "$dir/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # Wait (bounded) until they are gone or zombies.
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
      [ "$SECONDS" -ge "$deadline" ] && break
      sleep 0.05
    done
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start)
    [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
    start_cluster "$2"
    ;;
  stop)
    [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop_cluster "$2"
    ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || { echo "usage: $0 run [--] COMMAND [ARGS...]" >&2; exit 2; }
    need_tools
    cluster_dir="$(mktemp -d "${TMPDIR:-/tmp}/ebb-ceph.XXXXXX")"
    rmdir "$cluster_dir"
    trap 'stop_cluster "$cluster_dir"' EXIT
    trap 'exit 130' INT TERM
    started=$SECONDS
    if ! start_cluster "$cluster_dir" >/dev/null; then
      log "the cluster did not start; logs:"
      tail -n 20 "$cluster_dir"/log/*.log >&2 2>/dev/null || true
      exit 1
    fi
    log "cluster up in $((SECONDS - started))s at $(grep ENDPOINT "$cluster_dir/env" | cut -d= -f2)"
    set -a
    # shellcheck disable=SC1091
    . "$cluster_dir/env"
    set +a
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
  *)
    echo "usage: $0 run [--] COMMAND... | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
