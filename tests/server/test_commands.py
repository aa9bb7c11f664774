"""Every command of `ebb serve` through python3-redis (a real Redis client)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EBB_BIN, EbbServer, ServerTestCase, redis_client, resp_call  # noqa: E402

import redis  # noqa: E402


class CommandsTest(ServerTestCase):
    def setUp(self):
        self.r = redis_client(self.server)
        # Each test uses its own database, so tests do not see each other.
        self.r.execute_command("SELECT", self.id().split(".")[-1])

    def tearDown(self):
        self.r.close()

    def test_ping_echo_quit(self):
        self.assertTrue(self.r.ping())
        self.assertEqual(self.r.echo("hello"), b"hello")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"PING hi\r\nQUIT\r\nPING\r\n")
            data = b""
            while True:
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
            self.assertEqual(data, b"$2\r\nhi\r\n+OK\r\n")  # closed after QUIT; the last PING never answered

    def test_get_set_options(self):
        r = self.r
        self.assertIsNone(r.get("k"))
        self.assertTrue(r.set("k", "v1"))
        self.assertEqual(r.get("k"), b"v1")
        self.assertIsNone(r.set("k", "v2", nx=True))
        self.assertEqual(r.get("k"), b"v1")
        self.assertTrue(r.set("k", "v2", xx=True))
        self.assertIsNone(r.set("absent", "x", xx=True))
        self.assertIsNone(r.get("absent"))
        self.assertEqual(r.set("k", "v3", get=True), b"v2")
        self.assertIsNone(r.set("new", "n", get=True))
        self.assertEqual(r.get("new"), b"n")
        self.assertTrue(r.execute_command("SET", "k", "v4", "KEEPTTL"))
        with self.assertRaisesRegex(redis.ResponseError, "syntax error"):
            r.execute_command("SET", "k", "v", "NX", "XX")
        self.assertTrue(r.set("k", "v", ex=10))  # expiries: test_expiry.py
        self.assertTrue(0 < r.ttl("k") <= 10)
        binary = bytes(range(256)) * 4
        r.set(binary[:100], binary)
        self.assertEqual(r.get(binary[:100]), binary)

    def test_del_exists_mget_mset(self):
        r = self.r
        self.assertTrue(r.mset({"a": "1", "b": "2", "c": "3"}))
        self.assertEqual(r.mget("a", "b", "zz", "c"), [b"1", b"2", None, b"3"])
        self.assertEqual(r.exists("a", "a", "zz"), 2)
        self.assertEqual(r.delete("a", "a", "zz"), 1)
        self.assertEqual(r.exists("a"), 0)
        self.assertEqual(r.delete("b", "c"), 2)
        with self.assertRaisesRegex(redis.ResponseError, "wrong number of arguments"):
            r.execute_command("MSET", "a", "1", "b")

    def test_pipelining_keeps_order_and_sees_earlier_writes(self):
        p = self.r.pipeline(transaction=False)
        for i in range(1000):
            p.set(f"p{i}", i)
            p.get(f"p{i}")
            p.set(f"p{i}", "again", nx=True)
            p.delete(f"p{i}" if i % 2 else "nothing")
            p.exists(f"p{i}")
        results = p.execute()
        for i in range(1000):
            set_, get, nx, deleted, exists = results[5 * i:5 * i + 5]
            self.assertTrue(set_)
            self.assertEqual(get, str(i).encode())
            self.assertIsNone(nx)
            self.assertEqual(deleted, 1 if i % 2 else 0)
            self.assertEqual(exists, 0 if i % 2 else 1)
        self.assertEqual(self.r.dbsize(), 500)

    def test_scan_returns_every_key_exactly_once(self):
        r = self.r
        keys = {f"user:{i:05}".encode() for i in range(3000)} | {f"item:{i}".encode() for i in range(700)}
        p = r.pipeline(transaction=False)
        for k in keys:
            p.set(k, b"x")
        p.execute()
        for count in (1, 7, 100, 5000):
            seen = list(r.scan_iter(count=count))
            self.assertEqual(len(seen), len(keys), f"COUNT {count}")
            self.assertEqual(set(seen), keys)
        users = list(r.scan_iter(match="user:*", count=250))
        self.assertEqual(sorted(users), sorted(k for k in keys if k.startswith(b"user:")))
        tens = set(r.scan_iter(match="user:000[1-2]?"))
        self.assertEqual(tens, {f"user:000{i:02}".encode() for i in range(10, 30)})
        self.assertEqual(list(r.scan_iter(match="*:1?", _type="string")), [b"item:10", b"item:11", b"item:12",
                                                                            b"item:13", b"item:14", b"item:15",
                                                                            b"item:16", b"item:17", b"item:18",
                                                                            b"item:19"])
        self.assertEqual(list(r.scan_iter(_type="hash")), [])
        # Keys written during a scan do not hide the ones present throughout.
        cursor, first = r.scan(0, count=1000)
        for i in range(200):
            r.set(f"aaa{i}", "new")
        rest = set(first)
        while cursor != 0:
            cursor, batch = r.scan(cursor, count=1000)
            rest.update(batch)
        self.assertTrue(keys <= rest)
        with self.assertRaisesRegex(redis.ResponseError, "invalid cursor"):
            r.scan(123456789)

    def test_set_nx_is_atomic_across_connections(self):
        # Racing SET NX on the same keys from many connections: exactly one
        # wins each key, and the value stored is the winner's.
        db = self.id().split(".")[-1]
        keys = [f"race{i}" for i in range(200)]
        wins = {}

        def contender(name):
            c = redis_client(self.server)
            c.execute_command("SELECT", db)
            p = c.pipeline(transaction=False)
            for k in keys:
                p.set(k, name, nx=True)
            for k, won in zip(keys, p.execute()):
                if won:
                    wins.setdefault(k, []).append(name)
            c.close()

        threads = [threading.Thread(target=contender, args=(f"c{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(wins), sorted(keys))
        for k in keys:
            self.assertEqual(len(wins[k]), 1, k)
            self.assertEqual(self.r.get(k).decode(), wins[k][0])

    def test_dbsize_and_flushdb(self):
        r = self.r
        self.assertEqual(r.dbsize(), 0)
        r.mset({f"k{i}": i for i in range(10000)})
        r.set("k1", "overwritten")
        r.delete("k2")
        self.assertEqual(r.dbsize(), 9999)
        self.assertTrue(r.flushdb())
        self.assertEqual(r.dbsize(), 0)
        self.assertIsNone(r.get("k1"))
        r.set("after", "1")
        self.assertEqual(r.dbsize(), 1)
        self.assertTrue(r.flushdb(asynchronous=True))
        self.assertEqual(r.dbsize(), 0)

    def test_select_isolates_databases(self):
        a = redis_client(self.server, db=3)
        b = redis_client(self.server, db=4)
        a.set("shared", "three")
        b.set("shared", "four")
        self.assertEqual(a.get("shared"), b"three")
        self.assertEqual(b.get("shared"), b"four")
        b.flushdb()
        self.assertEqual(a.get("shared"), b"three")
        self.assertIsNone(b.get("shared"))
        self.assertTrue(self.r.execute_command("SELECT", "users.v2"))
        self.r.set("k", "named")
        c = redis_client(self.server)
        c.execute_command("SELECT", "users.v2")
        self.assertEqual(c.get("k"), b"named")
        with self.assertRaisesRegex(redis.ResponseError, "invalid database name"):
            c.execute_command("SELECT", "bad name")
        for x in (a, b, c):
            x.close()

    def test_info_sections(self):
        info = self.r.info()
        self.assertIn("redis_version", info)
        self.assertIn("connected_clients", info)
        self.assertGreater(info["total_commands_processed"], 0)
        self.r.set("k", "v")
        self.r.get("k")
        self.r.get("missing")
        stats = self.r.info("stats")
        self.assertGreater(stats["keyspace_hits"], 0)
        self.assertGreater(stats["keyspace_misses"], 0)
        self.assertIn("journal_sync_mode", self.r.info("ebb"))
        self.assertIn("readpool_normal_completed", self.r.info("readpool"))
        self.assertNotIn("redis_version", self.r.info("clients"))

    def test_config_get_set(self):
        r = self.r
        self.assertEqual(r.config_get("journal.sync"), {"journal.sync": "batch"})
        self.assertEqual(r.config_get("save"), {"save": ""})
        self.assertEqual(r.config_get("appendonly"), {"appendonly": "yes"})
        self.assertEqual(r.config_get("appendfsync"), {"appendfsync": "everysec"})
        self.assertEqual(r.config_get("no-such-redis-parameter"), {})
        everything = r.config_get("*")
        self.assertIn("readpool.max_tasks_per_worker_normal", everything)
        self.assertIn("server.max_clients", everything)
        self.assertTrue(r.config_set("readpool.max_tasks_per_worker_low", "123"))
        self.assertEqual(r.config_get("readpool.max_tasks_per_worker_low")["readpool.max_tasks_per_worker_low"], "123")
        status = json.loads(r.execute_command("EBB.STATUS"))
        self.assertEqual(status["read_pool"]["low"]["max_tasks_per_worker"], 123)
        self.assertTrue(r.config_set("maxclients", "500"))
        self.assertEqual(r.config_get("server.max_clients"), {"server.max_clients": "500"})
        with self.assertRaisesRegex(redis.ResponseError, "CONFIG SET failed"):
            r.config_set("journal.no_such_key", "1")
        with self.assertRaisesRegex(redis.ResponseError, "restart|runtime|run time"):
            r.config_set("server.port", "1")
        with self.assertRaisesRegex(redis.ResponseError, "not applicable"):
            r.config_set("save", "900 1")

    def test_config_set_is_checked_by_the_owner_and_applied_all_or_none(self):
        r = self.r
        high = int(r.config_get("work.writeback.band_high_bytes")["work.writeback.band_high_bytes"])
        low = r.config_get("work.writeback.band_low_bytes")["work.writeback.band_low_bytes"]
        # The scheduler refuses a band whose low end is above its high end:
        # refused up front, not stored, and later work.* changes still apply.
        with self.assertRaisesRegex(redis.ResponseError, "nothing was changed.*band_low_bytes"):
            r.config_set("work.writeback.band_low_bytes", str(high + 1))
        self.assertEqual(r.config_get("work.writeback.band_low_bytes")["work.writeback.band_low_bytes"], low)
        self.assertTrue(r.config_set("work.policy", "eager"))
        self.assertTrue(r.config_set("work.policy", "ebb"))
        # Several pairs, one bad: none applied.
        before = r.config_get("readpool.max_tasks_per_worker_low")["readpool.max_tasks_per_worker_low"]
        with self.assertRaisesRegex(redis.ResponseError, "nothing was changed"):
            r.execute_command("CONFIG", "SET", "readpool.max_tasks_per_worker_low", "99",
                              "work.writeback.band_low_bytes", str(high + 1))
        with self.assertRaisesRegex(redis.ResponseError, "nothing was changed"):
            r.execute_command("CONFIG", "SET", "readpool.max_tasks_per_worker_low", "99", "journal.sync", "none")
        self.assertEqual(r.config_get("readpool.max_tasks_per_worker_low")["readpool.max_tasks_per_worker_low"],
                         before)
        # Valid together, though not one at a time: both ends of a band.
        self.assertTrue(r.execute_command("CONFIG", "SET", "work.compaction.band_low_bytes", "1TiB",
                                          "work.compaction.band_high_bytes", "2TiB"))
        status = json.loads(r.execute_command("EBB.STATUS"))
        compaction = [c for c in status["work"]["classes"] if c["name"] == "compaction"][0]
        self.assertEqual(compaction["band_low_bytes"], 1 << 40)
        self.assertTrue(r.execute_command("CONFIG", "SET", "work.compaction.band_low_bytes", "64MiB",
                                          "work.compaction.band_high_bytes", "256MiB"))

    def test_command_client_hello(self):
        r = self.r
        commands = r.command()
        self.assertEqual(r.command_count(), len(commands))
        self.assertEqual(commands["set"]["arity"], -3)
        info = resp_call(self.server, "COMMAND", "INFO", "get", "nosuch")
        self.assertEqual(info[0][:6], [b"get", 2, ["readonly", "fast"], 1, 1, 1])
        self.assertIsNone(info[1])
        self.assertEqual(resp_call(self.server, "COMMAND", "DOCS"), [])
        self.assertIsNone(r.client_getname())
        self.assertTrue(r.client_setname("tester"))
        self.assertEqual(r.client_getname(), "tester")
        self.assertGreater(r.client_id(), 0)
        hello = r.execute_command("HELLO", "2")
        self.assertEqual(hello[hello.index(b"proto") + 1], 2)
        with self.assertRaisesRegex(redis.ResponseError, "NOPROTO"):
            r.execute_command("HELLO", "3")
        with self.assertRaisesRegex(redis.ResponseError, "unknown command 'NOSUCHCMD'"):
            r.execute_command("NOSUCHCMD", "x")

    def test_ebb_commands(self):
        r = self.r
        for i in range(2000):
            r.set(f"c{i % 100}", f"value{i}")
        self.assertEqual(r.execute_command("EBB.COMPACT", self.id().split(".")[-1]), b"OK")
        self.assertEqual(r.get("c5"), b"value1905")
        with self.assertRaisesRegex(redis.ResponseError, "does not exist"):
            r.execute_command("EBB.COMPACT", "never_created")
        status = json.loads(r.execute_command("EBB.STATUS"))
        names = [d["name"] for d in status["databases"]]
        self.assertIn(self.id().split(".")[-1], names)
        self.assertIn("server", status)
        # The compaction daemon's manual controls.
        queued = r.execute_command("EBB.ENQUEUEALL")
        self.assertIsInstance(queued, int)
        self.assertEqual(r.execute_command("EBB.SUSPEND", "ratio_dbs"), b"OK")
        channels = json.loads(r.execute_command("EBB.STATUS"))["compaction"]["channels"]
        self.assertTrue([c for c in channels if c["name"] == "ratio_dbs"][0]["suspended"])
        self.assertEqual(r.execute_command("EBB.SUSPEND", "all"), b"OK")
        self.assertEqual(r.execute_command("EBB.SUSPEND", "all"), b"OK")  # idempotent
        self.assertEqual(r.execute_command("EBB.RESUME", "all"), b"OK")
        self.assertEqual(r.execute_command("EBB.RESUME", "ratio_dbs"), b"OK")
        channels = json.loads(r.execute_command("EBB.STATUS"))["compaction"]["channels"]
        self.assertFalse(any(c["suspended"] for c in channels))
        with self.assertRaisesRegex(redis.ResponseError, "NotFound"):
            r.execute_command("EBB.SUSPEND", "no_such_channel")

    def test_cli_status_and_config(self):
        port = str(self.server.port)
        out = subprocess.run([EBB_BIN, "status", "--port", port], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("read pool", out.stdout)
        self.assertIn("journal.sync batch", out.stdout)
        out = subprocess.run([EBB_BIN, "status", "--port", port, "--json"], capture_output=True, text=True, timeout=30)
        self.assertEqual(json.loads(out.stdout)["journal"]["sync_mode"], "batch")
        out = subprocess.run([EBB_BIN, "config", "set", "readpool.max_tasks_per_worker_high", "77", "--port", port],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = subprocess.run([EBB_BIN, "config", "get", "readpool.max_tasks_per_worker_h*", "--port", port],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.strip(), "readpool.max_tasks_per_worker_high = 77")
        out = subprocess.run([EBB_BIN, "config", "set", "journal.nope", "1", "--port", port],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("journal.nope", out.stderr)


class AuthAndLimitsTest(unittest.TestCase):
    def test_auth_is_enforced(self):
        with EbbServer(requirepass="s3cret pass") as server:
            anon = redis_client(server)
            with self.assertRaisesRegex(redis.AuthenticationError, "Authentication required"):
                anon.get("k")
            with self.assertRaisesRegex((redis.AuthenticationError, redis.ResponseError), "WRONGPASS"):
                redis_client(server, password="wrong").ping()
            good = redis_client(server, password="s3cret pass")
            self.assertTrue(good.set("k", "v"))
            self.assertEqual(good.get("k"), b"v")
            named = redis_client(server, username="default", password="s3cret pass")
            self.assertEqual(named.get("k"), b"v")
            out = subprocess.run([EBB_BIN, "status", "--port", str(server.port)], capture_output=True, text=True,
                                 timeout=30)
            self.assertNotEqual(out.returncode, 0)
            out = subprocess.run([EBB_BIN, "status", "--port", str(server.port), "-a", "s3cret pass"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            # A password set at run time applies to new connections.
            good.config_set("requirepass", "other")
            with self.assertRaisesRegex((redis.AuthenticationError, redis.ResponseError), "WRONGPASS"):
                redis_client(server, password="s3cret pass").ping()
            self.assertTrue(redis_client(server, password="other").ping())
            self.assertTrue(good.ping())  # already authenticated

    def test_busy_when_the_read_pool_is_full(self):
        # One low-priority reader that admits one task: concurrent SCANs from
        # many connections find it full and get -BUSY at once.
        with EbbServer("readpool.threads_low=1", "readpool.max_tasks_per_worker_low=1") as server:
            r = redis_client(server)
            r.mset({f"k{i:05}": "v" * 50 for i in range(20000)})
            busy = []
            # Timing decides how many collide; a bounded number of rounds
            # makes at least one collision certain in practice.
            for _ in range(10):
                sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(20)]
                for s in sockets:
                    s.sendall(b"SCAN 0 COUNT 100000\r\n")
                for s in sockets:
                    with s.makefile("rb") as f:
                        first = f.readline()
                        if first.startswith(b"-"):
                            busy.append(first.decode())
                        else:
                            self.assertEqual(first, b"*2\r\n")
                    s.close()
                if busy:
                    break
            self.assertTrue(busy)
            self.assertRegex(busy[0], r"^-BUSY ReadPool low: .*estimated wait \d+ ms")
            self.assertGreaterEqual(r.info("stats")["busy_rejections"], len(busy))
            # GETs run at normal priority, which is not full.
            self.assertEqual(r.get("k00007"), b"v" * 50)

    def test_a_scan_cursor_answered_busy_can_be_retried(self):
        # The low-priority pool admits one task; a SCAN whose cursor meets a
        # full pool gets -BUSY, and the cursor must still work afterwards.
        with EbbServer("readpool.threads_low=1", "readpool.max_tasks_per_worker_low=1") as server:
            r = redis_client(server)
            r.mset({f"k{i:05}": "v" * 50 for i in range(20000)})
            def scan(cursor):
                # As -BUSY says: retry once the pool has room (a filler's
                # task may still be counted for a moment after its reply).
                deadline = time.monotonic() + 20
                while True:
                    try:
                        return r.scan(cursor, match="k0*", count=3)
                    except redis.ResponseError as e:
                        if not str(e).startswith("BUSY") or time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)

            busy_cursors = 0
            for _ in range(20):
                cursor, first = scan(0)
                self.assertNotEqual(cursor, 0)
                fillers = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(10)]
                for s in fillers:
                    s.sendall(b"SCAN 0 COUNT 100000\r\n")
                with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
                    s.sendall(b"SCAN %d MATCH k0* COUNT 3\r\n" % cursor)
                    with s.makefile("rb") as f:
                        line = f.readline()
                for s in fillers:
                    with s.makefile("rb") as f:
                        f.readline()
                    s.close()
                if line.startswith(b"-BUSY"):
                    busy_cursors += 1
                    # The same cursor, retried, goes on where it was.
                    next_cursor, batch = scan(cursor)
                    self.assertEqual(batch, [b"k00003", b"k00004", b"k00005"])
                    self.assertNotEqual(next_cursor, 0)
                    break
                self.assertEqual(line, b"*2\r\n")
            self.assertGreater(busy_cursors, 0, "no SCAN met a full pool in 20 rounds")
            # A cursor whose reply was produced is used up.
            cursor, _ = scan(0)
            scan(cursor)
            with self.assertRaisesRegex(redis.ResponseError, "invalid cursor"):
                scan(cursor)
            r.close()

    def test_max_databases(self):
        with EbbServer("store.max_databases=3") as server:
            r = redis_client(server)
            for name in ("a", "b", "c"):
                r.execute_command("SELECT", name)
                self.assertTrue(r.set("k", name))
            r.execute_command("SELECT", "d")
            self.assertIsNone(r.get("k"))  # reading creates nothing
            with self.assertRaisesRegex(redis.ResponseError, r"cannot create database 'd'.*store.max_databases \(3\)"):
                r.set("k", "d")
            r.execute_command("SELECT", "a")
            self.assertEqual(r.get("k"), b"a")
            self.assertTrue(r.set("k2", "still writable"))
            self.assertTrue(r.flushdb())  # drops a: room for d
            r.execute_command("SELECT", "d")
            self.assertTrue(r.set("k", "d"))
            r.close()

    def test_lone_writes_run_inline_and_survive_a_kill(self):
        """A lone SET or MSET (nothing else of the connection queued) runs on
        the connection's thread under journal.sync = batch; pipelined
        writes, NX and creating a database go to the write threads; with
        journal.sync = always or server.inline_writes = false none runs
        inline. Every acknowledged write is there after SIGKILL."""
        for settings, inline in ((["journal.sync=batch"], True), (["journal.sync=always"], False),
                                 (["journal.sync=batch", "server.inline_writes=false"], False)):
            with self.subTest(settings=settings):
                server = EbbServer(*settings).start()
                try:
                    r = redis_client(server)
                    self.assertTrue(r.set("first", "creates the database"))  # never inline
                    for i in range(20):
                        self.assertTrue(r.set(f"k{i}", f"v{i}"))
                    self.assertTrue(r.mset({"m1": "a", "m2": "b"}))
                    self.assertTrue(r.set("nx", "1", nx=True))  # reads first: the write threads
                    stats = r.info("stats")
                    self.assertEqual(stats["inline_writes"], 21 if inline else 0, stats)
                    # A pipeline's writes go to the write threads together
                    # (unless TCP splits it: not counted).
                    pipe = r.pipeline(transaction=False)
                    for i in range(10):
                        pipe.set(f"p{i}", i)
                    pipe.execute()
                    r.close()
                    server.proc.kill()
                    server.proc.wait()
                    server.proc = None
                    server.log.close()
                    server.start()  # the same data directory
                    r = redis_client(server)
                    self.assertEqual(r.get("first"), b"creates the database")
                    self.assertEqual(r.mget([f"k{i}" for i in range(20)]), [f"v{i}".encode() for i in range(20)])
                    self.assertEqual(r.mget(["m1", "m2", "nx", "p9"]), [b"a", b"b", b"1", b"9"])
                    r.close()
                finally:
                    code = server.stop()
                    server.cleanup()
                self.assertEqual(code, 0)

    def test_idle_timeout_and_max_clients(self):
        with EbbServer("server.idle_timeout_s=1") as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(100), b"+PONG\r\n")
                start = time.monotonic()
                self.assertEqual(s.recv(100), b"")  # closed by the server
                self.assertLess(time.monotonic() - start, 5)
            r = redis_client(server)
            self.assertGreaterEqual(r.info("stats")["idle_disconnects"], 1)
            r.config_set("server.idle_timeout_s", "0")
            r.config_set("maxclients", "3")  # r's connection and two more
            held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
            for s in held:
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(100), b"+PONG\r\n")
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
                self.assertEqual(extra.recv(100), b"-ERR max number of clients reached\r\n")
            for s in held:
                s.close()


if __name__ == "__main__":
    unittest.main()
