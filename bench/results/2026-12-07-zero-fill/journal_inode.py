#!/usr/bin/env python3
# journal_inode.py EBB N (as root): one ebb serve, N SETs 0.4 s apart; system-wide perf of extent conversions
# and inode dirtying; prints the journal file's extents (filefrag -v) and what touched its inode.
import os, subprocess, sys, tempfile, time, glob
sys.path.insert(0, "bench")  # run from the repository root
from ebb_serve import Resp, Server
ebb, n = sys.argv[1], int(sys.argv[2])
work = tempfile.mkdtemp(prefix="ebb-conv-")
server = Server(ebb, os.path.join(work, "d"), [], os.path.join(work, "log"))
try:
    c = Resp(server.port); c.command("PING")
    time.sleep(3)
    perf = subprocess.Popen(["perf", "record", "-q", "-a", "-e", "ext4:ext4_ext_handle_unwritten_extents",
                             "-e", "writeback:writeback_mark_inode_dirty", "-o", "/tmp/ebb-conv.data"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    for i in range(n):
        time.sleep(0.4)
        c.command("SET", f"k{i}", "v" * 100)
    time.sleep(0.5)
    perf.send_signal(2); perf.wait()
    j = sorted(glob.glob(os.path.join(work, "d", "**", "*.log"), recursive=True))
    print("journal files:", j)
    global ino
    ino = os.stat(j[-1]).st_ino
    for f in j[-1:]:
        print(subprocess.run(["filefrag", "-v", f], capture_output=True, text=True).stdout)
finally:
    server.kill()
out = subprocess.run(["perf", "script", "-i", "/tmp/ebb-conv.data"], capture_output=True, text=True).stdout
conv = [l for l in out.splitlines() if "handle_unwritten" in l and f"ino {ino} " in l]
dirty = [l for l in out.splitlines() if "mark_inode_dirty" in l and f"ino={ino} " in l]
print("journal inode", ino, "dirty marks:", len(dirty)); [print("  ", l.strip()[:160]) for l in dirty[:4]]
print(f"{ebb}: {n} writes, {len(conv)} unwritten-extent conversions")
for l in conv[:5]: print("  ", l.strip()[:200])
