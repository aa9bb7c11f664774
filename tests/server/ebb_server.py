"""Starts and stops `ebb serve` for the integration tests.

Each EbbServer runs the real binary (EBB_BIN) on free loopback ports with a
fresh data directory, waits for its "ready" line, and stops it with SIGTERM,
checking that it exits cleanly.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

EBB_BIN = os.environ.get("EBB_BIN", "build/release/bin/ebb")
# Bounds every wait in these tests.
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thread_stacks(pid):
    """Every thread's stack of a process that hangs, through gdb when the
    machine has it: what a test prints before it kills the process."""
    if shutil.which("gdb") is None:
        return "(gdb is not installed)"
    try:
        out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout[-30000:]
    except (OSError, subprocess.SubprocessError) as e:
        return f"(gdb failed: {e})"


class EbbServer:
    def __init__(self, *settings, requirepass=None, admin=True, config=None, env=None):
        """`config`: a configuration file for --config; `env`: variables added
        to the server's environment."""
        self.data_dir = tempfile.mkdtemp(prefix="ebb-server-test-")
        self.settings = list(settings)
        self.requirepass = requirepass
        self.admin = admin
        self.config = config
        self.env = env
        self.proc = None
        self.port = None
        self.admin_port = None
        self.log_path = os.path.join(self.data_dir, "serve.log")

    def start(self):
        # A port picked free may be taken before the server binds it: retry.
        for _ in range(5):
            self.port = free_port()
            self.admin_port = free_port() if self.admin else 0
            args = [EBB_BIN, "serve", "--data", os.path.join(self.data_dir, "data"),
                    "--port", str(self.port), "--admin-port", str(self.admin_port)]
            if self.requirepass is not None:
                args += ["--requirepass", self.requirepass]
            if self.config is not None:
                args += ["--config", self.config]
            for s in self.settings:
                args += ["--set", s]
            env = None if self.env is None else {**os.environ, **self.env}
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
            line = self._read_ready_line()
            if line is not None and "ready" in line:
                return self
            self.proc.wait(timeout=STOP_TIMEOUT_S)
            self.proc.stdout.close()
            self.log.close()
        self.proc = None
        raise RuntimeError(f"ebb serve did not start: {self.stderr_text()}")

    def _read_ready_line(self):
        return self.read_stdout_line(START_TIMEOUT_S)

    def read_stdout_line(self, timeout_s):
        """The next line the server prints on stdout, or None if it prints
        none within `timeout_s` or exits."""
        deadline = time.monotonic() + timeout_s
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                line = self.proc.stdout.readline()
                if not line:
                    return None
                return line
            if self.proc.poll() is not None:
                return None
        return None

    def stop(self):
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stacks = thread_stacks(self.proc.pid)
            self.proc.kill()
            self.proc.communicate()
            self.log.close()
            raise AssertionError("ebb serve did not stop within %d s after SIGTERM; its stderr:\n%s\n"
                                 "its threads:\n%s" % (STOP_TIMEOUT_S, self.stderr_text()[-5000:], stacks))
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        if code != 0:
            # Sanitizer reports and errors go to stderr: show them before the
            # directory holding them is removed.
            print(f"ebb serve exited with {code}; its stderr:\n{self.stderr_text()[-20000:]}", file=sys.stderr)
        return code

    def finish(self):
        """Stops the server and removes its directory; returns its exit code
        and everything it logged."""
        code = self.stop()
        log = self.stderr_text()
        self.cleanup()
        return code, log

    def cleanup(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def stderr_text(self):
        with open(self.log_path) as f:
            return f.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        code = self.stop()
        self.cleanup()
        if exc[0] is None and code != 0:
            raise AssertionError(f"ebb serve exited with {code}")
        return False


class ServerTestCase(unittest.TestCase):
    """One `ebb serve` for the whole test class, started before its first test
    and stopped (it must exit cleanly) after its last."""

    @classmethod
    def setUpClass(cls):
        cls.server = EbbServer().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.cleanup()
        assert code == 0, f"ebb serve exited with {code}"


def redis_client(server, **kwargs):
    try:
        import redis
    except ImportError as e:
        raise SystemExit("python3-redis is missing: run scripts/setup.sh test") from e
    return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=20, **kwargs)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("the server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ValueError(f"bad reply line {line!r}")


def resp_call(server, *args):
    """Sends one command and returns its reply without any client library's
    interpretation: simple strings as str, errors as RuntimeError objects,
    bulk strings as bytes, nil as None."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        payload = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            payload += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(payload)
        with s.makefile("rb") as f:
            return _read_reply(f)
