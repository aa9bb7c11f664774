"""`ebb serve` on a network it does not trust: what a client can make the
server allocate before and after AUTH, secrets that never come back out,
the admin token, protected mode (docs/server.md, "Security")."""

import hashlib
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, redis_client  # noqa: E402

PASSWORD = "pre-auth-test-password"
MIB = 1 << 20
# Every wait on the server in these tests.
DEADLINE_S = 30


def proc_status_kib(pid, field):
    """A /proc/<pid>/status memory field (VmRSS, VmHWM) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def poll(condition, what, deadline_s=DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")


def read_all(sock):
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def under_sanitizer():
    return bool(os.environ.get("EBB_SANITIZE"))


class PreAuthMemoryTest(unittest.TestCase):
    # Connections of each kind in the RSS test.
    ATTACKERS = 100       # unauthenticated, declare a 16 MiB bulk: refused
    HOLDERS = 100         # unauthenticated, stay just under the limits
    AUTH_HEADERS = 50     # authenticated, declare 16 MiB and send 1 KiB of it
    # The stated bound: what the server may grow by with all of them open.
    # Each connection holds a 16 KiB read buffer and its state; 64 KiB per
    # connection leaves room for allocator rounding. Before the read buffer
    # grew with bytes received, the 150 declared 16 MiB bulks cost 2.4 GiB.
    BASE_BOUND_MIB = 32
    PER_CONNECTION_KIB = 64

    def test_large_bulk_headers_do_not_grow_memory_and_clients_are_served(self):
        with EbbServer(requirepass=PASSWORD) as server:
            probe = redis_client(server, password=PASSWORD)
            self.assertTrue(probe.set("before", "1"))
            pid = server.proc.pid
            baseline_kib = proc_status_kib(pid, "VmRSS")
            input_before = probe.info("stats")["total_net_input_bytes"]
            sent = 0

            # 1. Unauthenticated, a 16 MiB bulk header alone: refused at once
            # with Redis's error, connection closed.
            attack = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16777216\r\n"
            for _ in range(self.ATTACKERS):
                with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S) as s:
                    s.sendall(attack)
                    sent += len(attack)
                    self.assertEqual(read_all(s), b"-ERR Protocol error: unauthenticated bulk length\r\n")
            # An unauthenticated array of more than 10 elements, likewise.
            with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S) as s:
                s.sendall(b"*11\r\n")
                sent += 5
                self.assertEqual(read_all(s), b"-ERR Protocol error: unauthenticated multibulk length\r\n")

            # 2. Unauthenticated, within the limits, half a 16 KiB argument
            # sent: they stay open.
            hold = b"*2\r\n$4\r\nAUTH\r\n$16384\r\n" + b"x" * 8192
            holders = []
            for _ in range(self.HOLDERS):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S)
                s.sendall(hold)
                sent += len(hold)
                holders.append(s)

            # 3. Authenticated, a 16 MiB bulk declared and 1 KiB of it sent:
            # the buffer grows with what arrives, not with what is declared.
            auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(PASSWORD), PASSWORD.encode())
            partial = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16777216\r\n" + b"y" * 1024
            authed = []
            for _ in range(self.AUTH_HEADERS):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S)
                s.sendall(auth)
                self.assertEqual(s.recv(5), b"+OK\r\n")
                s.sendall(partial)
                sent += len(auth) + len(partial)
                authed.append(s)

            # Everything sent has been read by the server.
            poll(lambda: probe.info("stats")["total_net_input_bytes"] - input_before >= sent,
                 f"the server to read the {sent} bytes sent")

            # Authenticated clients still get service meanwhile.
            other = redis_client(server, password=PASSWORD)
            self.assertTrue(other.set("during", "2"))
            self.assertEqual(other.get("before"), b"1")
            self.assertEqual(probe.get("during"), b"2")

            peak_kib = proc_status_kib(pid, "VmHWM")
            connections = self.ATTACKERS + 1 + self.HOLDERS + self.AUTH_HEADERS
            bound_kib = self.BASE_BOUND_MIB * 1024 + self.PER_CONNECTION_KIB * connections
            if under_sanitizer():
                bound_kib *= 4  # shadow memory, redzones and the quarantine
            grown_kib = peak_kib - baseline_kib
            print(f"RSS baseline {baseline_kib} KiB, peak {peak_kib} KiB: grew {grown_kib} KiB with "
                  f"{connections} connections (bound {bound_kib} KiB)", file=sys.stderr)
            self.assertLess(grown_kib, bound_kib)
            for s in holders + authed:
                s.close()
            other.close()
            probe.close()

    def test_sixteen_mib_values_sent_in_pieces_are_stored(self):
        # Authenticated clients send 16 MiB values (the default limit) in
        # pieces, concurrently; each is stored whole.
        values = [hashlib.sha256(str(i).encode()).digest() * (16 * MIB // 32) for i in range(3)]
        with EbbServer(requirepass=PASSWORD) as server:
            errors = []

            def writer(i):
                try:
                    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S) as s:
                        key = b"big%d" % i
                        # AUTH and the SET in one write: the SET is parsed
                        # with the limits that hold after AUTH.
                        payload = (b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(PASSWORD), PASSWORD.encode()) +
                                   b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n" % (len(key), key, len(values[i])))
                        piece = 61 * 1024 + i
                        for at in range(0, len(values[i]), piece):
                            payload += values[i][at:at + piece]
                            s.sendall(payload)
                            payload = b""
                        s.sendall(b"\r\n")
                        with s.makefile("rb") as f:
                            self.assertEqual(f.readline(), b"+OK\r\n")
                            self.assertEqual(f.readline(), b"+OK\r\n")
                except Exception as e:  # reported by the main thread
                    errors.append(e)

            threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(values))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            r = redis_client(server, password=PASSWORD)
            for i, v in enumerate(values):
                got = r.get(f"big{i}")
                self.assertEqual(len(got), len(v))
                self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(v).digest())
            r.close()


if __name__ == "__main__":
    unittest.main()
