#!/usr/bin/env bash
# Runs bench/trickle_server.py with the data directories on a fresh ext4
# file system made with mkfs.ext4's defaults (a journal, as most Linux
# installations have), on a loop device. The cost of a lone write depends
# on the file system under the journal: on ext4 without a journal every
# fdatasync after an mmap write also writes the inode (its mtime changed);
# with one, a timestamp-only change rides the file system's own journal.
#
#   bench/trickle_fs.sh [trickle_server.py options...]
#   MOUNT_OPTS=lazytime bench/trickle_fs.sh --json
#
# Needs root (mount) and a free loop device; the image (1 GiB, sparse) lives
# in a temporary directory and is removed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "trickle_fs.sh: mounting a loop device needs root" >&2
  exit 2
fi
work="$(mktemp -d /tmp/ebb-trickle-fs.XXXXXX)"
mnt="$work/mnt"
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s 1G "$work/ext4.img"
mkfs.ext4 -q -F "$work/ext4.img"
mkdir -p "$mnt"
mount -o "loop${MOUNT_OPTS:+,$MOUNT_OPTS}" "$work/ext4.img" "$mnt"
python3 "$here/trickle_server.py" --work-dir "$mnt" "$@"
