"""Helpers for the benchmark scripts that drive `ebb serve` from outside:
start and stop a server on free loopback ports, a minimal RESP client, and
what /proc says of a process: per-thread context switches, memory, CPU."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request


def thread_switches(pid):
    """{tid: (name, voluntary + involuntary switches)} for every thread of pid."""
    out = {}
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm") as f:
                name = f.read().strip()
            total = 0
            with open(f"{task_dir}/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:") or line.startswith("nonvoluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        out[tid] = (name, total)
    return out


def total_switches(pid):
    """Voluntary + involuntary switches, summed over every thread of pid."""
    return sum(total for _, total in thread_switches(pid).values())


def rss_bytes(pid):
    """Resident memory of pid."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    """User + system CPU time pid has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def involuntary_switches(pid):
    """Involuntary switches (the thread was preempted while it could run),
    summed over every thread of pid."""
    total = 0
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/status") as f:
                for line in f:
                    if line.startswith("nonvoluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def switch_delta(before, after):
    """Per thread name: switches between two snapshots (threads that started count from 0)."""
    per_name = {}
    for tid, (name, total) in after.items():
        base = before.get(tid, (name, 0))[1]
        per_name[name] = per_name.get(name, 0) + total - base
    return per_name


class Resp:
    """A minimal RESP2 client: one connection, one command at a time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def command(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                self.buf += chunk
            value, self.buf = self.buf[:n], self.buf[n + 2:]
            return value
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def close(self):
        self.sock.close()


class Server:
    def __init__(self, ebb, data_dir, sets, log_path):
        self.log = open(log_path, "ab")
        args = [ebb, "serve", "--data", data_dir, "--port", "0", "--admin-port", str(free_port())]
        for s in sets:
            args += ["--set", s]
        self.admin_port = int(args[args.index("--admin-port") + 1])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            m = re.search(r"ebb serve: ready:.*?127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.kill()
            raise RuntimeError(f"ebb serve did not become ready (log: {log_path})")
        self.pid = self.proc.pid

    def status(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/status", timeout=10) as r:
            return json.loads(r.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
