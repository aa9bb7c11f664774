"""The TLS listener (server.tls_port) with redis-cli --tls and redis-py's
ssl=True, against certificates this test makes with the openssl CLI: a CA,
server and client certificates, and a second CA the server does not trust."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, free_port, redis_client  # noqa: E402

import redis  # noqa: E402

DEADLINE_S = 30


def openssl(*args, cwd):
    binary = shutil.which("openssl")
    if binary is None:
        raise SystemExit("openssl is missing: run scripts/setup.sh test")
    out = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=DEADLINE_S)
    if out.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {out.stderr}")


class Certificates:
    """CA `ca`, server certificates `server1` and `server2` (for 127.0.0.1 and
    localhost), client `client` (signed by `ca`) and `rogue_client` (signed by
    another CA). Each name has name.pem and name.key in `dir`."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ebb-tls-test-")
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ("ca", "rogue_ca"):
            openssl("req", "-x509", *key, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                    "-subj", f"/CN=Ebb test {ca}", cwd=self.dir)
        with open(os.path.join(self.dir, "server.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        with open(os.path.join(self.dir, "client.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        for name, ca, ext in (("server1", "ca", "server.ext"), ("server2", "ca", "server.ext"),
                              ("client", "ca", "client.ext"), ("rogue_client", "rogue_ca", "client.ext")):
            openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=ebb-{name}",
                    cwd=self.dir)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                    "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext, cwd=self.dir)

    def path(self, name, kind="pem"):
        return os.path.join(self.dir, f"{name}.{kind}")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_server(certs, *settings, requirepass=None):
    tls_port = free_port()
    return EbbServer(f"server.tls_port={tls_port}", f"server.tls_cert_file={certs.path('server1')}",
                     f"server.tls_key_file={certs.path('server1', 'key')}",
                     f"server.tls_ca_cert_file={certs.path('ca')}", *settings, requirepass=requirepass), tls_port


def tls_client(certs, port, client=None, **kwargs):
    extra = {}
    if client is not None:
        extra = {"ssl_certfile": certs.path(client), "ssl_keyfile": certs.path(client, "key")}
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certs.path("ca"),
                       ssl_cert_reqs="required", socket_timeout=DEADLINE_S, **extra, **kwargs)


def peer_common_name(certs, port):
    """The CN of the certificate the server presents on a new connection, and
    that connection's answer to PING."""
    context = ssl.create_default_context(cafile=certs.path("ca"))
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            subject = dict(field[0] for field in s.getpeercert()["subject"])
            s.sendall(b"PING\r\n")
            return subject["commonName"], s.recv(100)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def test_redis_cli_and_redis_py_over_tls(self):
        server, tls_port = tls_server(self.certs)
        with server:
            cli = subprocess.run(["redis-cli", "--tls", "--cacert", self.certs.path("ca"), "-h", "127.0.0.1",
                                  "-p", str(tls_port), "SET", "over", "tls"],
                                 capture_output=True, text=True, timeout=DEADLINE_S)
            self.assertEqual(cli.stdout.strip(), "OK", cli.stderr)
            cli = subprocess.run(["redis-cli", "--tls", "--cacert", self.certs.path("ca"), "-h", "127.0.0.1",
                                  "-p", str(tls_port), "GET", "over"],
                                 capture_output=True, text=True, timeout=DEADLINE_S)
            self.assertEqual(cli.stdout.strip(), "tls", cli.stderr)
            r = tls_client(self.certs, tls_port)
            self.assertEqual(r.get("over"), b"tls")
            big = os.urandom(3 << 20)
            self.assertTrue(r.set("big", big))
            self.assertEqual(r.get("big"), big)
            p = r.pipeline(transaction=False)
            for i in range(2000):
                p.set(f"k{i}", i)
                p.get(f"k{i}")
            results = p.execute()
            self.assertEqual(results[1::2], [str(i).encode() for i in range(2000)])
            # The plain port serves the same data.
            self.assertEqual(redis_client(server).get("k1999"), b"1999")
            status = json.loads(r.execute_command("EBB.STATUS"))
            self.assertEqual(status["server"]["tls_port"], tls_port)
            # A client certificate is optional; one the CA did not sign fails
            # the handshake, one it signed is accepted.
            self.assertEqual(tls_client(self.certs, tls_port, client="client").get("over"), b"tls")
            with self.assertRaises(redis.ConnectionError):
                tls_client(self.certs, tls_port, client="rogue_client").ping()
            # A client speaking plain RESP to the TLS port is closed.
            with socket.create_connection(("127.0.0.1", tls_port), timeout=DEADLINE_S) as s:
                s.sendall(b"PING\r\n")
                self.assertNotIn(b"PONG", s.recv(100))
            self.assertGreaterEqual(r.info("stats")["tls_handshake_failures"], 2)
            r.close()

    def test_required_client_certificates_and_auth(self):
        server, tls_port = tls_server(self.certs, "server.tls_auth_clients=yes", requirepass="tls-pass")
        with server:
            with self.assertRaises(redis.ConnectionError):
                tls_client(self.certs, tls_port, password="tls-pass").ping()
            with self.assertRaises(redis.ConnectionError):
                tls_client(self.certs, tls_port, client="rogue_client", password="tls-pass").ping()
            # A verified certificate does not replace AUTH.
            with self.assertRaisesRegex(redis.AuthenticationError, "Authentication required"):
                tls_client(self.certs, tls_port, client="client").get("k")
            r = tls_client(self.certs, tls_port, client="client", password="tls-pass")
            self.assertTrue(r.set("k", "v"))
            cli = subprocess.run(["redis-cli", "--tls", "--cacert", self.certs.path("ca"),
                                  "--cert", self.certs.path("client"), "--key", self.certs.path("client", "key"),
                                  "-h", "127.0.0.1", "-p", str(tls_port), "-a", "tls-pass", "--no-auth-warning",
                                  "GET", "k"],
                                 capture_output=True, text=True, timeout=DEADLINE_S)
            self.assertEqual(cli.stdout.strip(), "v", cli.stderr)
            r.close()

    def test_certificates_reload_with_config_set(self):
        server, tls_port = tls_server(self.certs)
        with server:
            self.assertEqual(peer_common_name(self.certs, tls_port), ("ebb-server1", b"+PONG\r\n"))
            held = tls_client(self.certs, tls_port)
            self.assertTrue(held.set("k", "v"))
            admin = redis_client(server)
            # A file that does not load is refused; nothing changes.
            missing = os.path.join(self.certs.dir, "missing.pem")
            with self.assertRaisesRegex(redis.ResponseError, f"nothing was changed.*server.tls_cert_file {missing}"):
                admin.config_set("server.tls_cert_file", missing)
            # A key that does not belong to the certificate, likewise.
            with self.assertRaisesRegex(redis.ResponseError, "nothing was changed.*tls_key_file"):
                admin.config_set("server.tls_cert_file", self.certs.path("server2"))
            self.assertEqual(admin.config_get("server.tls_cert_file"),
                             {"server.tls_cert_file": self.certs.path("server1")})
            self.assertEqual(peer_common_name(self.certs, tls_port)[0], "ebb-server1")
            # Certificate and key together: new connections get the new one.
            self.assertTrue(admin.execute_command("CONFIG", "SET", "server.tls_cert_file", self.certs.path("server2"),
                                                  "server.tls_key_file", self.certs.path("server2", "key")))
            self.assertEqual(peer_common_name(self.certs, tls_port), ("ebb-server2", b"+PONG\r\n"))
            # Connections made before go on with theirs.
            self.assertEqual(held.get("k"), b"v")
            # Setting a file to the path it already has reloads it (a
            # certificate renewed in place).
            for kind in ("pem", "key"):
                shutil.copy(self.certs.path("server1", kind), self.certs.path("server2", kind))
            self.assertTrue(admin.config_set("server.tls_cert_file", self.certs.path("server2")))
            self.assertEqual(peer_common_name(self.certs, tls_port)[0], "ebb-server1")
            held.close()
            admin.close()

    def test_a_server_whose_certificate_does_not_load_does_not_start(self):
        tls_port = free_port()
        bad = EbbServer(f"server.tls_port={tls_port}", f"server.tls_cert_file={self.certs.path('server1')}",
                        f"server.tls_key_file={self.certs.path('client', 'key')}")
        with self.assertRaisesRegex(RuntimeError, "server.tls_key_file .*client.key"):
            bad.start()
        bad.cleanup()
        bad = EbbServer(f"server.tls_port={tls_port}")
        with self.assertRaisesRegex(RuntimeError, "needs server.tls_cert_file and server.tls_key_file"):
            bad.start()
        bad.cleanup()


if __name__ == "__main__":
    unittest.main()
