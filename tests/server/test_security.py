"""`ebb serve` on a network it does not trust: what a client can make the
server allocate before and after AUTH, secrets that never come back out,
the admin token, protected mode (docs/server.md, "Security")."""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EBB_BIN, EbbServer, redis_client  # noqa: E402
from test_admin_http import dump_dom  # noqa: E402

import redis  # noqa: E402

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


class ScanMemoryTest(unittest.TestCase):
    VALUES = 160          # of 1 MiB each
    BOUND_MIB = 32        # peak RSS growth allowed during SCAN and DBSIZE

    def test_scan_and_dbsize_copy_no_values(self):
        # The values stay in the memtable (no flush: a large memtable and
        # the threshold policy), so reading them touches no mapped file
        # pages and any growth of RSS is memory the server allocated.
        with EbbServer("store.memtable_bytes=512MiB", "work.policy=threshold") as server:
            r = redis_client(server)
            value = b"v" * MIB
            p = r.pipeline(transaction=False)
            for i in range(self.VALUES):
                p.set(f"big{i:04}", value)
            p.execute()
            pid = server.proc.pid
            baseline_kib = proc_status_kib(pid, "VmRSS")
            # Resets VmHWM to the current RSS (Linux >= 4.0).
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            cursor, keys = r.scan(0, count=100000)
            self.assertEqual(cursor, 0)
            self.assertEqual(len(keys), self.VALUES)
            self.assertEqual(r.dbsize(), self.VALUES)
            self.assertEqual(len(list(r.scan_iter(match="big00*", count=100000))), 100)
            grown_kib = proc_status_kib(pid, "VmHWM") - baseline_kib
            bound_kib = self.BOUND_MIB * 1024 * (2 if under_sanitizer() else 1)
            print(f"SCAN/DBSIZE over {self.VALUES} x 1 MiB values: peak RSS grew {grown_kib} KiB "
                  f"(bound {bound_kib} KiB)", file=sys.stderr)
            self.assertLess(grown_kib, bound_kib)
            r.close()


def http_get(server, path, token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
        return response.read().decode()


class SecretsTest(unittest.TestCase):
    """A secret set in any way never comes back out."""

    # Distinct, greppable values; none is a substring of another output.
    PASSWORD = "planted-password-6d1f0c"
    S3_SECRET = "planted-s3-secret-91ab2e"
    S3_ACCESS = "planted-s3-access-44c7d9"
    ADMIN_TOKEN = "planted-admin-token-0f3a77"

    def outputs(self, server, client):
        """Everything the server shows about itself."""
        out = {}
        out["CONFIG GET *"] = json.dumps({k: v for k, v in client.config_get("*").items()})
        out["CONFIG GET requirepass"] = json.dumps(client.config_get("requirepass"))
        out["INFO all"] = json.dumps(client.info("all"))
        out["INFO everything"] = json.dumps(client.execute_command("INFO", "everything"))
        out["EBB.STATUS"] = client.execute_command("EBB.STATUS").decode()
        out["/status"] = http_get(server, "/status?pretty=1", token=self.ADMIN_TOKEN)
        out["/metrics"] = http_get(server, "/metrics", token=self.ADMIN_TOKEN)
        out["ebb config get"] = subprocess.run(
            [EBB_BIN, "config", "get", "*", "--port", str(server.port), "-a", self.PASSWORD],
            capture_output=True, text=True, timeout=DEADLINE_S).stdout
        out["ebb status --json"] = subprocess.run(
            [EBB_BIN, "status", "--json", "--port", str(server.port), "-a", self.PASSWORD],
            capture_output=True, text=True, timeout=DEADLINE_S).stdout
        # Error messages that name the secret settings.
        errors = []
        for name, value in (("tiering.s3_secret_key", self.S3_SECRET), ("tiering.s3_access_key", self.S3_ACCESS),
                            ("server.port", self.PASSWORD)):
            try:
                client.config_set(name, value)
            except redis.ResponseError as e:
                errors.append(str(e))
        out["CONFIG SET errors"] = "\n".join(errors)
        return out

    def test_planted_secrets_appear_in_no_output_and_no_log(self):
        server = EbbServer(f"tiering.s3_secret_key={self.S3_SECRET}", f"tiering.s3_access_key={self.S3_ACCESS}",
                           f"server.admin_token={self.ADMIN_TOKEN}", requirepass=self.PASSWORD).start()
        try:
            client = redis_client(server, password=self.PASSWORD)
            outputs = self.outputs(server, client)
            self.assertIn("(set)", outputs["CONFIG GET requirepass"])
            self.assertEqual(client.config_get("tiering.s3_secret_key"), {"tiering.s3_secret_key": "(set)"})
            self.assertEqual(client.config_get("server.requirepass_file"), {"server.requirepass_file": ""})
            self.assertEqual(client.config_get("server.admin_token"), {"server.admin_token": "(set)"})
            self.assertEqual(outputs["CONFIG SET errors"].count("nothing was changed"), 3)
            self.assertIn("tiering.s3_secret_key", outputs["CONFIG GET *"])
            self.assertTrue(outputs["ebb config get"].strip(), "ebb config get printed nothing")
            json.loads(outputs["ebb status --json"])
            # A password changed at run time is not shown either.
            self.assertTrue(client.config_set("requirepass", self.PASSWORD + "-2"))
            client.close()
            client = redis_client(server, password=self.PASSWORD + "-2")
            self.assertEqual(client.config_get("requirepass"), {"requirepass": "(set)"})
            self.assertTrue(client.config_set("requirepass", self.PASSWORD))
            client.close()
        finally:
            code, log = server.finish()
        self.assertEqual(code, 0)
        for secret in (self.PASSWORD, self.S3_SECRET, self.S3_ACCESS, self.ADMIN_TOKEN):
            for where, text in list(outputs.items()) + [("the log", log)]:
                self.assertNotIn(secret, text, f"{secret} appears in {where}")

    def test_password_from_a_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "password")
            with open(path, "w") as f:
                f.write(self.PASSWORD + "\n")
            with EbbServer(f"server.requirepass_file={path}") as server:
                with self.assertRaisesRegex(redis.AuthenticationError, "Authentication required"):
                    redis_client(server).get("k")
                client = redis_client(server, password=self.PASSWORD)
                self.assertTrue(client.set("k", "v"))
                self.assertEqual(client.config_get("requirepass"), {"requirepass": "(set)"})
                self.assertEqual(client.config_get("server.requirepass_file"), {"server.requirepass_file": path})
                # An unreadable file is refused, and nothing changes.
                missing = os.path.join(tmp, "missing")
                with self.assertRaisesRegex(redis.ResponseError, f"server.requirepass_file: cannot read {missing}"):
                    client.config_set("server.requirepass_file", missing)
                # Both the setting and the file: refused, naming both.
                with self.assertRaisesRegex(redis.ResponseError, "requirepass and server.requirepass_file"):
                    client.config_set("requirepass", "other")
                self.assertTrue(redis_client(server, password=self.PASSWORD).ping())
                # The file is read again when the setting is set, also to
                # the same path.
                with open(path, "w") as f:
                    f.write("rotated-password\n")
                self.assertTrue(client.config_set("server.requirepass_file", path))
                self.assertTrue(redis_client(server, password="rotated-password").ping())
                with self.assertRaises((redis.AuthenticationError, redis.ResponseError)):
                    redis_client(server, password=self.PASSWORD).ping()
                client.close()
            # A server whose password file cannot be read does not start.
            bad = EbbServer(f"server.requirepass_file={os.path.join(tmp, 'missing')}")
            with self.assertRaisesRegex(RuntimeError, "cannot read"):
                bad.start()
            bad.cleanup()


def non_loopback_address():
    """An IPv4 address of this machine that is not loopback, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def http_status(url, token=None):
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


class AdminTokenTest(unittest.TestCase):
    TOKEN = "planted-admin-token-5e0b"

    def test_token_guards_status_and_metrics_and_the_dashboard_asks_for_it(self):
        server = EbbServer(f"server.admin_token={self.TOKEN}").start()
        try:
            base = f"http://127.0.0.1:{server.admin_port}"
            for path in ("/status", "/metrics"):
                code, headers, body = http_status(base + path)
                self.assertEqual(code, 401, path)
                self.assertEqual(headers.get("WWW-Authenticate"), 'Bearer realm="ebb"')
                self.assertIn("Authorization: Bearer", body)
                self.assertEqual(http_status(base + path, token="wrong")[0], 401)
                self.assertEqual(http_status(base + path, token=self.TOKEN)[0], 200, path)
            # The page and its assets hold no data: served without the token.
            for path in ("/", "/dashboard.js", "/dashboard.css"):
                self.assertEqual(http_status(base + path)[0], 200, path)
            status = json.loads(http_status(base + "/status", token=self.TOKEN)[2])
            self.assertTrue(status["server"]["admin_token_required"])
            # Without the token the dashboard asks for it (once: it stops
            # polling) and shows no data.
            dom, stderr = dump_dom(base + "/?interval=200")
            self.assertRegex(dom, r'<form id="token-form" class="token"( data-wrong="0")?>', stderr[-2000:])
            self.assertNotIn("data-polls", dom)
            # Given once, in the fragment, it polls.
            dom, stderr = dump_dom(base + f"/?interval=200#token={self.TOKEN}")
            self.assertGreaterEqual(int(re.search(r'data-polls="(\d+)"', dom).group(1)), 2, stderr[-2000:])
            self.assertIn('<form id="token-form" class="token" hidden=""', dom)
            # Changed at run time: the old token stops working.
            client = redis_client(server)
            self.assertTrue(client.config_set("server.admin_token", "rotated-token"))
            self.assertEqual(client.config_get("server.admin_token"), {"server.admin_token": "(set)"})
            self.assertEqual(http_status(base + "/status", token=self.TOKEN)[0], 401)
            self.assertEqual(http_status(base + "/status", token="rotated-token")[0], 200)
            client.close()
        finally:
            code, log = server.finish()
        self.assertEqual(code, 0)
        self.assertNotIn(self.TOKEN, log)

    def test_admin_listener_has_its_own_bind(self):
        # RESP on 127.0.0.2 (loopback too); the admin listener stays on its
        # default, 127.0.0.1.
        with EbbServer("server.bind=127.0.0.2") as server:
            with socket.create_connection(("127.0.0.2", server.port), timeout=DEADLINE_S) as s:
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(7), b"+PONG\r\n")
            self.assertEqual(http_status(f"http://127.0.0.1:{server.admin_port}/status")[0], 200)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.2", server.admin_port), timeout=DEADLINE_S).close()

    def test_off_loopback_the_admin_listener_needs_a_token(self):
        address = non_loopback_address()
        if address is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        bad = EbbServer(f"server.admin_bind={address}")
        with self.assertRaisesRegex(RuntimeError, "admin_bind is .*not loopback.*admin_token"):
            bad.start()
        bad.cleanup()
        with EbbServer(f"server.admin_bind={address}", f"server.admin_token={self.TOKEN}") as server:
            url = f"http://{address}:{server.admin_port}/status"
            self.assertEqual(http_status(url)[0], 401)
            self.assertEqual(http_status(url, token=self.TOKEN)[0], 200)
            # The token cannot be removed while the listener is exposed.
            client = redis_client(server)
            with self.assertRaisesRegex(redis.ResponseError, "nothing was changed.*not loopback"):
                client.config_set("server.admin_token", "")
            self.assertEqual(http_status(url)[0], 401)
            client.close()


def exchange(host, port, payload, expect_bytes):
    with socket.create_connection((host, port), timeout=DEADLINE_S) as s:
        s.sendall(payload)
        data = b""
        while len(data) < expect_bytes:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


class ProtectedModeTest(unittest.TestCase):
    def test_off_loopback_without_a_password_only_loopback_clients_are_served(self):
        address = non_loopback_address()
        if address is None:
            self.skipTest("this machine has no non-loopback IPv4 address to connect from")
        with EbbServer("server.bind=0.0.0.0") as server:
            self.assertEqual(exchange("127.0.0.1", server.port, b"PING\r\n", 7), b"+PONG\r\n")
            with socket.create_connection((address, server.port), timeout=DEADLINE_S) as s:
                s.sendall(b"PING\r\n")
                denied = read_all(s).decode()
            self.assertRegex(denied, r"^-DENIED Ebb is running in protected mode: server.bind is 0.0.0.0 and no "
                                     r"password is set.*server.requirepass.*server.protected_mode")
            self.assertTrue(denied.endswith("\r\n") and denied.count("\r\n") == 1, denied)
            local = redis_client(server)
            self.assertEqual(local.info("stats")["protected_mode_denials"], 1)
            # A password set from loopback lets the remote client in, with AUTH.
            self.assertTrue(local.config_set("requirepass", PASSWORD))
            auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(PASSWORD), PASSWORD.encode())
            self.assertEqual(exchange(address, server.port, b"PING\r\n", 1).startswith(b"-NOAUTH"), True)
            self.assertEqual(exchange(address, server.port, auth + b"PING\r\n", 12), b"+OK\r\n+PONG\r\n")
            # No password again: denied again; protection off: served.
            self.assertTrue(local.config_set("requirepass", ""))
            self.assertTrue(exchange(address, server.port, b"PING\r\n", 1).startswith(b"-DENIED"))
            self.assertTrue(local.config_set("server.protected_mode", "no"))
            self.assertEqual(exchange(address, server.port, b"PING\r\n", 7), b"+PONG\r\n")
            self.assertTrue(local.config_set("server.protected_mode", "yes"))
            local.close()

    def test_on_loopback_protected_mode_changes_nothing(self):
        with EbbServer() as server:
            self.assertEqual(exchange("127.0.0.1", server.port, b"PING\r\n", 7), b"+PONG\r\n")
            status = json.loads(http_get(server, "/status"))
            self.assertTrue(status["server"]["protected_mode"])
            self.assertEqual(status["server"]["protected_mode_denials"], 0)


if __name__ == "__main__":
    unittest.main()
