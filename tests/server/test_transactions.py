"""MULTI / EXEC / DISCARD / WATCH / UNWATCH through raw RESP and python3-redis:
Redis 7's replies and errors, EXECABORT, WATCH against every write path of
the server, read-your-writes and read-modify-write inside EXEC, atomicity
under concurrent clients and across a kill, and the limits."""

import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, ServerTestCase, _read_reply, redis_client  # noqa: E402

import redis  # noqa: E402

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    """One connection: replies exactly as sent (errors as RuntimeError
    objects, nil as None, simple strings as str)."""

    def __init__(self, server, db=None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        self.f = self.sock.makefile("rb")
        if db is not None:
            assert self.call("SELECT", db) == "OK"

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return _read_reply(self.f)

    def pipeline(self, *commands):
        """Sends every command in one write, then reads every reply."""
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [_read_reply(self.f) for _ in commands]

    def close(self):
        self.f.close()
        self.sock.close()


def err(reply):
    assert isinstance(reply, RuntimeError), f"expected an error, got {reply!r}"
    return str(reply)


class TransactionTest(ServerTestCase):
    def setUp(self):
        self.db = self.id().split(".")[-1]
        self.c = Conn(self.server, self.db)
        self.other = Conn(self.server, self.db)

    def tearDown(self):
        self.c.close()
        self.other.close()

    def test_queued_commands_run_in_order_and_exec_answers_their_replies(self):
        c = self.c
        self.assertEqual(c.call("MULTI"), "OK")
        for cmd in (("SET", "a", "1"), ("INCR", "a"), ("INCRBY", "a", "10"), ("GET", "a"), ("PING",),
                    ("ECHO", "hi"), ("MGET", "a", "nope"), ("EXISTS", "a", "a", "nope")):
            self.assertEqual(c.call(*cmd), "QUEUED", cmd)
        # Not visible before EXEC.
        self.assertIsNone(self.other.call("GET", "a"))
        self.assertEqual(c.call("EXEC"), ["OK", 2, 12, b"12", "PONG", b"hi", [b"12", None], 2])
        self.assertEqual(self.other.call("GET", "a"), b"12")
        self.assertEqual(c.call("EXEC").args[0], "ERR EXEC without MULTI")
        self.assertEqual(c.call("MULTI"), "OK")
        self.assertEqual(c.call("EXEC"), [])  # an empty transaction

    def test_reads_see_the_transactions_own_writes(self):
        c = self.c
        c.call("SET", "s", "abc")
        replies = c.pipeline(("MULTI",), ("APPEND", "s", "def"), ("GET", "s"), ("STRLEN", "s"),
                             ("GETRANGE", "s", "-3", "-1"), ("SETRANGE", "s", "0", "X"), ("GET", "s"),
                             ("RENAME", "s", "t"), ("EXISTS", "s"), ("TYPE", "t"), ("GETDEL", "t"), ("TYPE", "t"),
                             ("SET", "n", "5"), ("INCRBYFLOAT", "n", "0.5"), ("GETSET", "n", "new"),
                             ("SET", "n", "x", "NX"), ("SET", "n", "y", "XX", "GET"), ("DEL", "n", "n", "absent"),
                             ("SETNX", "n", "again"), ("MSETNX", "n", "1", "m", "1"), ("TOUCH", "n", "m"),
                             ("COPY", "n", "n2"), ("MGET", "n", "n2"), ("EXEC",))
        self.assertEqual(replies[1:-1], ["QUEUED"] * 22)
        self.assertEqual(replies[-1], [6, b"abcdef", 6, b"def", 6, b"Xbcdef", "OK", 0, "string", b"Xbcdef", "none",
                                       "OK", b"5.5", b"5.5", None, b"new", 1, 1, 0, 1, 1, [b"again", b"again"]])
        self.assertEqual(self.other.call("MGET", "s", "t", "n", "n2", "m"), [None, None, b"again", b"again", None])

    def test_a_commands_runtime_error_is_its_element_and_the_others_run(self):
        c = self.c
        c.call("SET", "text", "abc")
        replies = c.pipeline(("MULTI",), ("INCR", "text"), ("SET", "ok", "1"), ("INCRBY", "ok", "notanumber"),
                             ("SET", "ttl", "v", "EX", "0"), ("RENAME", "absent", "x"), ("GETRANGE", "ok", "a", "1"),
                             ("PING", "a", "b"), ("INCR", "ok"), ("EXEC",))
        self.assertEqual(replies[:-1], ["OK"] + ["QUEUED"] * 8)
        result = replies[-1]
        self.assertEqual(len(result), 8)
        self.assertEqual(err(result[0]), "ERR value is not an integer or out of range")
        self.assertEqual(result[1], "OK")
        self.assertEqual(err(result[2]), "ERR value is not an integer or out of range")
        self.assertEqual(err(result[3]), "ERR invalid expire time in 'set' command")
        self.assertEqual(err(result[4]), "ERR no such key")
        self.assertEqual(err(result[5]), "ERR value is not an integer or out of range")
        self.assertEqual(err(result[6]), "ERR wrong number of arguments for 'ping' command")
        self.assertEqual(result[7], 2)
        self.assertEqual(self.other.call("MGET", "text", "ok"), [b"abc", b"2"])

    def test_a_queueing_error_discards_the_transaction(self):
        c = self.c
        cases = [
            (("NOSUCHCOMMAND", "x"), "ERR unknown command 'NOSUCHCOMMAND'"),
            (("SET", "k"), "ERR wrong number of arguments for 'set' command"),
            (("GET",), "ERR wrong number of arguments for 'get' command"),
            (("SELECT", "1"), "ERR Command not allowed inside a transaction: 'select'"),
            (("FLUSHDB",), "ERR Command not allowed inside a transaction: 'flushdb'"),
            (("KEYS", "*"), "ERR Command not allowed inside a transaction: 'keys'"),
            (("SCAN", "0"), "ERR Command not allowed inside a transaction: 'scan'"),
            (("CONFIG", "GET", "x"), "ERR Command not allowed inside a transaction: 'config'"),
            (("COPY", "a", "b", "DB", "elsewhere"), "ERR Command not allowed inside a transaction: COPY ... DB"),
        ]
        for command, error in cases:
            with self.subTest(command=command):
                self.assertEqual(c.call("MULTI"), "OK")
                self.assertEqual(c.call("SET", "written", "no"), "QUEUED")
                self.assertTrue(err(c.call(*command)).startswith(error), command)
                # Later commands are still answered QUEUED, as in Redis.
                self.assertEqual(c.call("SET", "also", "no"), "QUEUED")
                self.assertEqual(err(c.call("EXEC")), EXECABORT)
                self.assertEqual(self.other.call("EXISTS", "written", "also"), 0)
                self.assertEqual(err(c.call("EXEC")), "ERR EXEC without MULTI")
        # COPY into the selected database by name is fine.
        self.assertEqual(c.pipeline(("SET", "a", "v"), ("MULTI",), ("COPY", "a", "b", "DB", self.db), ("EXEC",))[-1],
                         [1])

    def test_nested_multi_and_watch_inside_multi_are_refused_without_discarding(self):
        c = self.c
        self.assertEqual(c.call("MULTI"), "OK")
        self.assertEqual(err(c.call("MULTI")), "ERR MULTI calls can not be nested")
        self.assertEqual(err(c.call("WATCH", "k")), "ERR WATCH inside MULTI is not allowed")
        self.assertEqual(c.call("SET", "k", "1"), "QUEUED")
        self.assertEqual(c.call("EXEC"), ["OK"])

    def test_exec_and_discard_without_multi(self):
        self.assertEqual(err(self.c.call("EXEC")), "ERR EXEC without MULTI")
        self.assertEqual(err(self.c.call("DISCARD")), "ERR DISCARD without MULTI")
        self.assertEqual(err(self.c.call("MULTI", "x")), "ERR wrong number of arguments for 'multi' command")
        self.assertEqual(err(self.c.call("WATCH")), "ERR wrong number of arguments for 'watch' command")

    def test_discard_drops_the_queue_and_the_watches(self):
        c = self.c
        self.assertEqual(c.call("WATCH", "k"), "OK")
        self.assertEqual(c.call("MULTI"), "OK")
        self.assertEqual(c.call("SET", "k", "mine"), "QUEUED")
        self.assertEqual(c.call("DISCARD"), "OK")
        self.assertIsNone(self.other.call("GET", "k"))
        self.other.call("SET", "k", "theirs")
        # Not watched any more: this transaction runs.
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "k", "mine"), ("EXEC",)), ["OK", "QUEUED", ["OK"]])

    def test_quit_inside_multi_closes_and_runs_nothing(self):
        c = Conn(self.server, self.db)
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "q", "1"), ("QUIT",)), ["OK", "QUEUED", "OK"])
        self.assertEqual(c.f.read(), b"")  # closed
        c.close()
        self.assertIsNone(self.other.call("GET", "q"))

    def watched_keys(self):
        r = redis_client(self.server)
        try:
            return r.info("clients")["total_watched_keys"]
        finally:
            r.close()

    def test_a_closed_connection_drops_its_transaction_and_watches(self):
        info = self.watched_keys
        before = info()
        c = Conn(self.server, self.db)
        self.assertEqual(c.call("WATCH", "w1", "w2", "w1"), "OK")
        self.assertEqual(c.call("CLIENT", "INFO").split(b" ")[-2:], [b"multi=-1", b"watch=2\n"])
        self.assertEqual(info(), before + 2)
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "gone", "1")), ["OK", "QUEUED"])
        c.close()
        deadline = time.monotonic() + 20
        while info() != before and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(info(), before)
        self.assertIsNone(self.other.call("GET", "gone"))

    def test_watch_unmodified_runs_and_exec_unwatches(self):
        c = self.c
        c.call("SET", "k", "0")
        self.assertEqual(c.call("WATCH", "k", "absent"), "OK")
        self.other.call("SET", "unrelated", "1")
        self.other.call("SET", "k", "x", "NX")     # does not write: not a modification
        self.other.call("DEL", "absent")           # nothing to delete
        self.other.call("GET", "k")
        self.assertEqual(c.pipeline(("MULTI",), ("INCR", "k"), ("EXEC",))[-1], [1])
        # EXEC unwatched: a write now does not abort the next transaction.
        self.other.call("SET", "k", "5")
        self.assertEqual(c.pipeline(("MULTI",), ("INCR", "k"), ("EXEC",))[-1], [6])
        # UNWATCH too.
        self.assertEqual(c.call("WATCH", "k"), "OK")
        self.assertEqual(c.call("UNWATCH"), "OK")
        self.other.call("SET", "k", "10")
        self.assertEqual(c.pipeline(("MULTI",), ("INCR", "k"), ("EXEC",))[-1], [11])
        # UNWATCH inside MULTI is queued (and answers OK in the array).
        self.assertEqual(c.pipeline(("MULTI",), ("UNWATCH",), ("EXEC",))[-1], ["OK"])

    def assertWatchAborts(self, key, *writes, watcher_db=None, setup=()):
        """`key` watched by one connection (after the `setup` commands), `writes`
        made by another: EXEC answers nil and runs nothing."""
        c = Conn(self.server, watcher_db or self.db)
        writer = Conn(self.server, self.db)
        try:
            for command in setup:
                self.assertNotIsInstance(c.call(*command), RuntimeError, command)
            self.assertEqual(c.call("WATCH", key), "OK")
            for w in writes:
                if isinstance(w[0], tuple):  # a pipeline of writes: one batch
                    for reply in writer.pipeline(*w):
                        self.assertNotIsInstance(reply, RuntimeError, w)
                else:
                    self.assertNotIsInstance(writer.call(*w), RuntimeError, w)
            replies = c.pipeline(("MULTI",), ("SET", "ran", key), ("EXEC",))
            self.assertEqual(replies, ["OK", "QUEUED", None], writes)
            self.assertIsNone(c.call("GET", "ran"))
            # The EXEC unwatched: the same transaction now runs.
            self.assertEqual(c.pipeline(("MULTI",), ("DEL", "ran"), ("EXEC",))[-1], [0])
        finally:
            c.close()
            writer.close()

    def test_watch_sees_every_write_path(self):
        self.other.call("SET", "src", "v")
        families = {
            "set (inline lone write)": ("k", [("SET", "k", "1")]),
            "set nx/xx/get": ("k", [("SET", "k", "2", "XX", "GET")]),
            "mset": ("k", [("MSET", "a", "1", "k", "2")]),
            "pipelined batch": ("k", [(("SET", "a", "1"), ("INCR", "n"), ("SET", "k", "3"))]),
            "del": ("k", [("DEL", "k")]),
            "unlink": ("k", [("SET", "k", "1"), ("UNLINK", "k")]),
            "incr": ("n", [("INCR", "n")]),
            "decrby": ("n", [("DECRBY", "n", "3")]),
            "incrbyfloat": ("n", [("INCRBYFLOAT", "n", "1.5")]),
            "append": ("k", [("APPEND", "k", "x")]),
            "setrange": ("k", [("SETRANGE", "k", "3", "x")]),
            "getdel": ("k", [("GETDEL", "k")]),
            "getset": ("k", [("GETSET", "k", "g")]),
            "setnx (writing)": ("fresh", [("SETNX", "fresh", "1")]),
            "msetnx": ("fresh2", [("MSETNX", "fresh2", "1", "fresh3", "1")]),
            "rename (source)": ("src", [("RENAME", "src", "dst")]),
            "rename (destination)": ("dst", [("SET", "src", "v"), ("RENAME", "src", "dst")]),
            "renamenx": ("dst2", [("SET", "src", "v"), ("RENAMENX", "src", "dst2")]),
            "copy": ("cp", [("SET", "src", "v"), ("COPY", "src", "cp")]),
            "copy replace": ("cp", [("COPY", "src", "cp", "REPLACE")]),
            "flushdb": ("k", [("FLUSHDB",)]),
            "a transaction": ("k", [(("MULTI",), ("SET", "k", "t"), ("EXEC",))]),
        }
        for family, (key, writes) in families.items():
            with self.subTest(family=family):
                self.assertWatchAborts(key, *writes, setup=[("SET", key, "0")] if family == "flushdb" else [])

    def test_watch_sees_writes_made_on_the_connections_thread(self):
        """A lone small SET runs on the I/O thread (server.inline_writes):
        that path marks watched keys too."""
        r = redis_client(self.server)
        before = r.info("stats")["inline_writes"]
        self.other.call("SET", "warm", "1")  # the database's handle is cached
        self.assertWatchAborts("inl", ("SET", "inl", "1"))
        self.assertGreater(r.info("stats")["inline_writes"], before)
        r.close()

    def test_watch_sees_a_copy_into_its_database_and_not_other_databases(self):
        watched_db = self.db + "-target"
        self.other.call("SET", "src", "v")
        # COPY from this database into the watcher's.
        self.assertWatchAborts("k", ("COPY", "src", "k", "DB", watched_db), watcher_db=watched_db)
        # The same key name written in another database is another key.
        c = Conn(self.server, watched_db)
        self.assertEqual(c.call("WATCH", "k"), "OK")
        self.other.call("SET", "k", "elsewhere")
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "k", "mine"), ("EXEC",))[-1], ["OK"])
        c.close()

    def test_a_watchers_own_write_aborts_its_exec(self):
        c = self.c
        self.assertEqual(c.call("WATCH", "own"), "OK")
        self.assertEqual(c.call("SET", "own", "1"), "OK")
        self.assertIsNone(c.pipeline(("MULTI",), ("SET", "own", "2"), ("EXEC",))[-1])
        self.assertEqual(c.call("GET", "own"), b"1")

    def test_a_watched_key_that_expires_before_exec_aborts_it(self):
        # As Redis 7: alive when watched, expired by EXEC: aborted.
        c = self.c
        c.call("SET", "lease", "mine", "PX", "300")
        self.assertEqual(c.call("WATCH", "lease"), "OK")
        time.sleep(0.5)
        self.assertIsNone(c.pipeline(("MULTI",), ("SET", "ran", "1"), ("EXEC",))[-1])
        self.assertIsNone(c.call("GET", "ran"))
        # Already expired (or absent) when watched: nothing changed since.
        self.assertEqual(c.call("WATCH", "lease"), "OK")
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "ran", "1"), ("EXEC",))[-1], ["OK"])
        # A deadline still ahead at EXEC: runs.
        c.call("SET", "lease", "mine", "EX", "100")
        self.assertEqual(c.call("WATCH", "lease"), "OK")
        self.assertEqual(c.pipeline(("MULTI",), ("SET", "ran", "2"), ("EXEC",))[-1], ["OK"])
        # In another database than the one EXEC runs in.
        c.call("SELECT", "other")
        c.call("SET", "lease", "theirs", "PX", "300")
        self.assertEqual(c.call("WATCH", "lease"), "OK")
        c.call("SELECT", self.db)
        time.sleep(0.5)
        self.assertIsNone(c.pipeline(("MULTI",), ("SET", "ran", "3"), ("EXEC",))[-1])
        self.assertEqual(c.call("GET", "ran"), b"2")

    def test_optimistic_increments_with_watch_never_lose_an_update(self):
        """redis-py's transaction helper: WATCH, GET, MULTI, SET, EXEC, retried
        on a nil EXEC. Concurrent clients incrementing one counter this way
        lose no increment."""
        threads, per_thread = 6, 40
        retries = []

        def work():
            r = redis_client(self.server, db=self.db)
            for _ in range(per_thread):
                attempts = [0]

                def incr(pipe):
                    attempts[0] += 1
                    value = int(pipe.get("counter") or 0)
                    pipe.multi()
                    pipe.set("counter", value + 1)
                r.transaction(incr, "counter")
                retries.append(attempts[0] - 1)
            r.close()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(self.other.call("GET", "counter"), str(threads * per_thread).encode())
        print(f"optimistic increments: {sum(retries)} retries for {threads * per_thread}", file=sys.stderr)

    def test_concurrent_transactions_are_atomic(self):
        """Writers run MULTI; INCR a; INCR b; EXEC while readers check a == b
        with MGET (one snapshot) and with a read-only transaction."""
        writers, rounds = 4, 150
        stop = threading.Event()
        mismatches = []
        observations = [0]

        def write():
            w = Conn(self.server, self.db)
            for _ in range(rounds):
                replies = w.pipeline(("MULTI",), ("INCR", "a"), ("INCR", "b"), ("EXEC",))
                if replies[-1] is None or len(replies[-1]) != 2 or replies[-1][0] != replies[-1][1]:
                    mismatches.append(("exec", replies))
            w.close()

        def read():
            r = Conn(self.server, self.db)
            while not stop.is_set():
                a, b = r.call("MGET", "a", "b")
                if a != b:
                    mismatches.append(("mget", a, b))
                tx = r.pipeline(("MULTI",), ("GET", "a"), ("GET", "b"), ("EXEC",))[-1]
                if tx[0] != tx[1]:
                    mismatches.append(("transaction", tx))
                observations[0] += 2
            r.close()

        readers = [threading.Thread(target=read) for _ in range(2)]
        ws = [threading.Thread(target=write) for _ in range(writers)]
        for t in readers + ws:
            t.start()
        for t in ws:
            t.join()
        stop.set()
        for t in readers:
            t.join()
        self.assertEqual(mismatches, [])
        self.assertGreater(observations[0], 0)
        total = str(writers * rounds).encode()
        self.assertEqual(self.other.call("MGET", "a", "b"), [total, total])

    def test_redis_py_pipelines_with_transaction(self):
        r = redis_client(self.server, db=self.db)
        pipe = r.pipeline()  # transaction=True: MULTI ... EXEC in one packet
        pipe.set("p", "1").incr("p").get("p").mget("p", "q")
        self.assertEqual(pipe.execute(), [True, 2, b"2", [b"2", None]])
        pipe = r.pipeline()
        pipe.set("p", "x").execute_command("NOSUCHCOMMAND")
        with self.assertRaises(redis.ResponseError):
            pipe.execute()
        self.assertEqual(r.get("p"), b"2")
        with r.pipeline() as pipe:
            pipe.watch("p")
            self.other.call("SET", "p", "changed")
            pipe.multi()
            pipe.set("p", "mine")
            with self.assertRaises(redis.WatchError):
                pipe.execute()
        self.assertEqual(r.get("p"), b"changed")
        r.close()

    def test_stats(self):
        c = self.c
        r = redis_client(self.server)
        before = r.info("stats")
        c.pipeline(("MULTI",), ("PING",), ("EXEC",))
        c.pipeline(("MULTI",), ("NOSUCHCOMMAND",), ("EXEC",))
        c.call("WATCH", "s")
        self.other.call("SET", "s", "1")
        c.pipeline(("MULTI",), ("PING",), ("EXEC",))
        after = r.info("stats")
        for field in ("transactions_executed", "transactions_error_aborted", "transactions_watch_aborted"):
            self.assertEqual(after[field], before[field] + 1, field)
        self.assertEqual(c.pipeline(("MULTI",), ("PING",), ("PING",))[1:], ["QUEUED", "QUEUED"])
        self.assertEqual(c.call("DISCARD"), "OK")
        r.close()


class TransactionLimitsTest(unittest.TestCase):
    def test_queue_and_watch_limits(self):
        with EbbServer("server.multi_max_commands=3", "server.multi_max_bytes=4096") as server:
            c = Conn(server)
            self.assertEqual(c.pipeline(("MULTI",), ("SET", "a", "1"), ("SET", "b", "1"), ("SET", "c", "1")),
                             ["OK", "QUEUED", "QUEUED", "QUEUED"])
            self.assertIn("server.multi_max_commands (3)", err(c.call("SET", "d", "1")))
            self.assertEqual(err(c.call("EXEC")), EXECABORT)
            self.assertEqual(c.call("EXISTS", "a", "b", "c", "d"), 0)
            # Bytes: one big argument.
            self.assertEqual(c.call("MULTI"), "OK")
            self.assertIn("over server.multi_max_bytes (4096)", err(c.call("SET", "big", "x" * 5000)))
            self.assertEqual(err(c.call("EXEC")), EXECABORT)
            # Watched keys count too.
            self.assertIn("over server.multi_max_bytes (4096)", err(c.call("WATCH", "k" * 5000)))
            self.assertEqual(c.call("CLIENT", "INFO").split(b" ")[-1], b"watch=0\n")
            # The limits change at run time.
            r = redis_client(server)
            r.config_set("server.multi_max_commands", "10")
            self.assertEqual(c.pipeline(("MULTI",), *[("INCR", "n")] * 10, ("EXEC",))[-1], list(range(1, 11)))
            r.close()
            c.close()

    def test_exec_output_limit_writes_nothing(self):
        with EbbServer("server.multi_max_bytes=4096") as server:
            c = Conn(server)
            c.call("SET", "big", "v" * 3000)
            replies = c.pipeline(("MULTI",), ("SET", "x", "1"), ("GET", "big"), ("GET", "big"), ("EXEC",))
            self.assertEqual(replies[:-1], ["OK", "QUEUED", "QUEUED", "QUEUED"])
            self.assertIn("EXEC aborted, nothing was written", err(replies[-1]))
            self.assertIsNone(c.call("GET", "x"))
            # Writes count: APPENDs growing a value past the limit.
            replies = c.pipeline(("MULTI",), ("APPEND", "big", "w" * 1000), ("APPEND", "big", "w" * 1000),
                                 ("EXEC",))
            self.assertIn("EXEC aborted, nothing was written", err(replies[-1]))
            self.assertEqual(c.call("STRLEN", "big"), 3000)
            c.close()


class TransactionCrashTest(unittest.TestCase):
    def test_a_transaction_is_all_or_nothing_across_a_kill(self):
        """SIGKILL while clients run MULTI; INCR a; INCR b; SET c ...; EXEC:
        after restart a == b, and every acknowledged transaction is there
        (journal.sync = always acknowledges after fdatasync)."""
        server = EbbServer("journal.sync=always").start()
        try:
            acknowledged = []
            stop = threading.Event()

            def work():
                c = Conn(server)
                try:
                    while not stop.is_set():
                        replies = c.pipeline(("MULTI",), ("INCR", "a"), ("INCR", "b"), ("SET", "c", "x" * 100),
                                             ("EXEC",))
                        acknowledged.append(replies[-1][0])
                except (OSError, ConnectionError, IndexError, TypeError, ValueError):
                    pass  # the server was killed mid-transaction
                finally:
                    c.close()
            ts = [threading.Thread(target=work) for _ in range(3)]
            for t in ts:
                t.start()
            deadline = time.monotonic() + 30
            while len(acknowledged) < 200 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.proc.kill()
            server.proc.wait()
            stop.set()
            for t in ts:
                t.join()
            server.proc.stdout.close()
            server.proc = None
            server.log.close()
            self.assertGreater(len(acknowledged), 0)
            server.start()  # the same data directory
            c = Conn(server)
            a, b = c.call("MGET", "a", "b")
            self.assertEqual(a, b)
            self.assertGreaterEqual(int(a), max(acknowledged))
            c.close()
        finally:
            code = server.stop()
            server.cleanup()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
