"""`ebb serve` as a service (docs/operations.md): readiness and reloads told
to the service manager through $NOTIFY_SOCKET (a datagram socket this test
creates and reads, as systemd would), and SIGHUP reloading the
configuration file: what changes, what waits for a restart, and what a bad
file does."""

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, redis_client  # noqa: E402

# Bounds every wait for a notification or a printed line.
WAIT_S = 30


class NotifySocket:
    """A unix datagram socket standing in for systemd's notify socket."""

    def __init__(self, directory, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "ebb-test-notify-%d-%s" % (os.getpid(), os.path.basename(directory))
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(directory, "notify")
            self.sock.bind(self.address)
        self.sock.settimeout(WAIT_S)

    def receive(self):
        """The next message as a dict of its VAR=VALUE lines."""
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise AssertionError("no notification within %d s" % WAIT_S) from None
        return dict(line.split("=", 1) for line in data.decode().split("\n") if line)

    def close(self):
        self.sock.close()


def fetch_status(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/status", timeout=20) as response:
        return json.loads(response.read())


def fetch_metrics(server):
    """The samples of /metrics whose name starts with ebb_config_, by name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=20) as response:
        text = response.read().decode()
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line.startswith("ebb_config_")}


def config_get(client, setting):
    return client.config_get(setting)[setting]


class ServiceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ebb-service-test-")
        self.config = os.path.join(self.dir, "ebb.toml")
        self.notify = NotifySocket(self.dir)

    def tearDown(self):
        self.notify.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, text):
        # Replaced whole, as an editor or a configuration tool would.
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config)

    def start(self, **kwargs):
        server = EbbServer(config=self.config, env={"NOTIFY_SOCKET": self.notify.address}, **kwargs)
        return server.start()

    def reload(self, server):
        """Sends SIGHUP and returns the READY=1 message that ends the reload."""
        server.proc.send_signal(signal.SIGHUP)
        reloading = self.notify.receive()
        self.assertEqual(reloading.get("RELOADING"), "1", reloading)
        self.assertGreater(int(reloading["MONOTONIC_USEC"]), 0)
        ready = self.notify.receive()
        self.assertEqual(ready.get("READY"), "1", ready)
        return ready

    def stop(self, server):
        code, log = server.finish()
        self.assertEqual(code, 0, log)
        return log

    def test_ready_once_both_listeners_accept_and_stopping_at_sigterm(self):
        self.write_config("[server]\nmax_clients = 100\n")
        server = self.start()
        try:
            ready = self.notify.receive()
            self.assertEqual(ready.get("READY"), "1", ready)
            self.assertEqual(ready["MAINPID"], str(server.proc.pid))
            self.assertEqual(ready["STATUS"], f"RESP on 127.0.0.1:{server.port}, admin HTTP on 127.0.0.1:"
                                              f"{server.admin_port}")
            # Ready means both listeners accept now, with no retry.
            for port in (server.port, server.admin_port):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            self.assertTrue(redis_client(server).ping())
            self.assertEqual(fetch_status(server)["config"]["file"], self.config)
            server.proc.send_signal(signal.SIGTERM)
            stopping = self.notify.receive()
            self.assertEqual(stopping, {"STOPPING": "1", "STATUS": "stopping (SIGTERM)"})
        finally:
            self.stop(server)

    def test_abstract_notify_socket_and_admin_off(self):
        abstract = NotifySocket(self.dir, abstract=True)
        self.write_config("")
        server = EbbServer(config=self.config, admin=False, env={"NOTIFY_SOCKET": abstract.address}).start()
        try:
            ready = abstract.receive()
            self.assertEqual(ready.get("READY"), "1", ready)
            self.assertEqual(ready["STATUS"], f"RESP on 127.0.0.1:{server.port}, admin HTTP off")
        finally:
            self.stop(server)
            abstract.close()

    def test_sighup_applies_runtime_settings_and_reports_the_others(self):
        self.write_config('[server]\nmax_clients = 100\n\n[journal]\nsync = "batch"\n')
        server = self.start()
        try:
            self.assertEqual(self.notify.receive().get("READY"), "1")
            # The only RESP connection until the max_clients check below.
            r = redis_client(server)
            status = fetch_status(server)["config"]
            self.assertEqual((status["reloads"], status["reload_failures"], status["needs_restart"]), (0, 0, False))
            self.assertEqual(config_get(r, "server.max_clients"), "100")

            # A runtime setting (max_clients) and one read only at start
            # (journal.sync).
            self.write_config('[server]\nmax_clients = 3\n\n[journal]\nsync = "always"\n')
            ready = self.reload(server)
            self.assertEqual(ready["STATUS"], "configuration reloaded: 1 changed (server.max_clients), "
                                              "1 need a restart (journal.sync)")
            self.assertEqual(server.read_stdout_line(WAIT_S),
                             "ebb serve: configuration reloaded: 1 changed (server.max_clients), "
                             "1 need a restart (journal.sync)\n")
            self.assertEqual(config_get(r, "server.max_clients"), "3")
            self.assertEqual(config_get(r, "journal.sync"), "batch")
            status = fetch_status(server)["config"]
            self.assertEqual(status["file"], self.config)
            self.assertEqual(status["reloads"], 1)
            self.assertTrue(status["last_reload_ok"])
            self.assertEqual(status["last_reload_error"], "")
            self.assertEqual(status["last_reload_applied"], ["server.max_clients"])
            self.assertEqual(status["restart_required"], ["journal.sync"])
            self.assertTrue(status["needs_restart"])
            self.assertGreater(status["last_reload_unix_s"], 0)

            # The new limit is in force: r's connection and two more, then a
            # refusal.
            self.assertTrue(r.ping())
            held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
            try:
                for s in held:
                    s.sendall(b"PING\r\n")
                    self.assertEqual(s.recv(100), b"+PONG\r\n")
                with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
                    self.assertEqual(extra.recv(100), b"-ERR max number of clients reached\r\n")
            finally:
                for s in held:
                    s.close()

            # A value changed with CONFIG SET since returns to the file's at
            # the next reload; the restart-only setting is still reported.
            r.config_set("server.max_clients", "50")
            self.write_config('[server]\nmax_clients = 40\n\n[journal]\nsync = "always"\n')
            ready = self.reload(server)
            self.assertEqual(ready["STATUS"], "configuration reloaded: 1 changed (server.max_clients), "
                                              "1 need a restart (journal.sync)")
            self.assertEqual(config_get(r, "server.max_clients"), "40")

            # Back to the running value: nothing needs a restart any more.
            self.write_config('[server]\nmax_clients = 40\n\n[journal]\nsync = "batch"\n')
            ready = self.reload(server)
            self.assertEqual(ready["STATUS"], "configuration reloaded: 0 changed (), 0 need a restart ()")
            status = fetch_status(server)["config"]
            self.assertEqual((status["reloads"], status["restart_required"], status["needs_restart"]), (3, [], False))
            r.close()
        finally:
            log = self.stop(server)
        self.assertIn("configuration reload: server.max_clients = 3 (was 100)", log)
        self.assertIn("configuration reload: journal.sync is always in %s but batch in the running server; "
                      "it takes effect at the next restart" % self.config, log)

    def test_a_bad_file_keeps_the_running_configuration_and_says_why(self):
        self.write_config('[server]\nmax_clients = 100\n\n[journal]\nsync = "batch"\n')
        server = self.start()
        try:
            self.assertEqual(self.notify.receive().get("READY"), "1")
            r = redis_client(server)
            self.assertTrue(r.set("before", "1"))
            # A first good reload leaves a setting pending a restart.
            self.write_config('[server]\nmax_clients = 100\n\n[journal]\nsync = "none"\n')
            self.reload(server)
            self.assertEqual(server.read_stdout_line(WAIT_S),
                             "ebb serve: configuration reloaded: 0 changed (), 1 need a restart (journal.sync)\n")

            cases = [
                # (file, what the error must say)
                ("[server]\nmax_clients = 7\nidle_timeout_s = 0\n[server]\n", "%s line 4" % self.config),
                ("[server]\nmax_clients = 0\n", "%s line 2: server.max_clients: 0 is below the minimum 1" % self.config),
                ("[server]\nmax_clients = 7\nmax_clientz = 8\n",
                 "%s line 3: unknown setting server.max_clientz" % self.config),
                ("[server]\nmax_clients = 7\nport = \n", "%s line 3" % self.config),
            ]
            for failures, (text, expected) in enumerate(cases, start=1):
                with self.subTest(text=text):
                    self.write_config(text)
                    ready = self.reload(server)
                    self.assertTrue(ready["STATUS"].startswith(
                        "configuration reload failed, running configuration kept: "), ready)
                    self.assertIn(expected, ready["STATUS"])
                    status = fetch_status(server)["config"]
                    self.assertEqual(status["reload_failures"], failures)
                    self.assertEqual(status["reloads"], 1)
                    self.assertFalse(status["last_reload_ok"])
                    self.assertIn(expected, status["last_reload_error"])
                    self.assertEqual(status["last_reload_applied"], [])
                    # Still pending from the last good reload.
                    self.assertEqual(status["restart_required"], ["journal.sync"])
                    self.assertEqual(fetch_metrics(server)["ebb_config_last_reload_ok"], 0)
                    self.assertEqual(config_get(r, "server.max_clients"), "100")
                    self.assertEqual(r.get("before"), b"1")
                    self.assertTrue(r.set("after", str(failures)))

            # The file removed: the same, and the error names it.
            os.remove(self.config)
            ready = self.reload(server)
            self.assertIn(self.config, ready["STATUS"])
            self.assertFalse(fetch_status(server)["config"]["last_reload_ok"])

            # Fixed: the next reload applies it.
            self.write_config('[server]\nmax_clients = 7\n\n[journal]\nsync = "none"\n')
            ready = self.reload(server)
            self.assertEqual(ready["STATUS"], "configuration reloaded: 1 changed (server.max_clients), "
                                              "1 need a restart (journal.sync)")
            status = fetch_status(server)["config"]
            self.assertTrue(status["last_reload_ok"])
            self.assertEqual(status["last_reload_error"], "")
            self.assertEqual(config_get(r, "server.max_clients"), "7")
            metrics = fetch_metrics(server)
            self.assertEqual(metrics["ebb_config_reloads_total"], 2)
            self.assertEqual(metrics["ebb_config_reload_failures_total"], len(cases) + 1)
            self.assertEqual(metrics["ebb_config_last_reload_ok"], 1)
            self.assertEqual(metrics["ebb_config_needs_restart"], 1)
            self.assertEqual(r.get("after"), str(len(cases)).encode())
            r.close()
        finally:
            log = self.stop(server)
        self.assertIn("ebb serve: configuration reload failed, running configuration kept: ", log)
        self.assertIn("%s line 2: server.max_clients: 0 is below the minimum 1" % self.config, log)

    def test_sighup_without_a_configuration_file_is_a_reported_failure(self):
        server = EbbServer(env={"NOTIFY_SOCKET": self.notify.address}).start()
        try:
            self.assertEqual(self.notify.receive().get("READY"), "1")
            ready = self.reload(server)
            self.assertIn("no configuration file to reload", ready["STATUS"])
            status = fetch_status(server)["config"]
            self.assertEqual((status["file"], status["reload_failures"], status["last_reload_ok"]), ("", 1, False))
            self.assertTrue(redis_client(server).ping())
        finally:
            self.stop(server)


if __name__ == "__main__":
    unittest.main()
