"""Keys that expire, through python3-redis: SET's EX/PX/EXAT/PXAT/KEEPTTL,
SETEX, PSETEX, the EXPIRE family with NX/XX/GT/LT, TTL, PTTL, EXPIRETIME,
PEXPIRETIME, PERSIST and GETEX, with Redis 7's replies and errors; expired
keys absent from every command; expiries kept by the commands that change a
value and across a restart and a kill -9; compaction dropping expired
values.

Deadlines that must pass in a test are short (a few hundred milliseconds)
and waited for by polling with a generous bound, never by a fixed sleep
that a slow machine could outrun."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, ServerTestCase, redis_client  # noqa: E402

import redis  # noqa: E402

NOT_INTEGER = "^value is not an integer or out of range$"
HOUR = 3600


def wait_until_absent(r, key, limit_s=20):
    deadline = time.monotonic() + limit_s
    while r.exists(key):
        if time.monotonic() > deadline:
            raise AssertionError(f"{key!r} did not expire within {limit_s} s")
        time.sleep(0.05)


class ExpiryCommandsTest(ServerTestCase):
    def setUp(self):
        self.r = redis_client(self.server)
        self.r.execute_command("SELECT", self.id().split(".")[-1])

    def tearDown(self):
        self.r.close()

    def test_set_with_an_expiry(self):
        r = self.r
        now = time.time()
        self.assertTrue(r.set("ex", "v", ex=HOUR))
        self.assertIn(r.ttl("ex"), (HOUR - 1, HOUR))
        self.assertTrue(HOUR * 1000 - 5000 <= r.pttl("ex") <= HOUR * 1000)
        self.assertTrue(r.set("px", "v", px=HOUR * 1000))
        self.assertIn(r.ttl("px"), (HOUR - 1, HOUR))
        at = int(now) + 2 * HOUR
        self.assertTrue(r.set("exat", "v", exat=at))
        self.assertEqual(r.expiretime("exat"), at)
        self.assertEqual(r.execute_command("PEXPIRETIME", "exat"), at * 1000)
        self.assertTrue(r.set("pxat", "v", pxat=at * 1000 + 123))
        self.assertEqual(r.execute_command("PEXPIRETIME", "pxat"), at * 1000 + 123)
        self.assertEqual(r.get("pxat"), b"v")
        # Absent keys and keys without an expiry.
        self.assertEqual(r.ttl("missing"), -2)
        self.assertEqual(r.pttl("missing"), -2)
        self.assertEqual(r.expiretime("missing"), -2)
        r.set("plain", "v")
        self.assertEqual(r.ttl("plain"), -1)
        self.assertEqual(r.execute_command("PEXPIRETIME", "plain"), -1)
        # SET without KEEPTTL clears the expiry; with it, keeps it.
        r.set("ex", "w")
        self.assertEqual(r.ttl("ex"), -1)
        r.set("px", "w", keepttl=True)
        self.assertIn(r.ttl("px"), (HOUR - 1, HOUR))
        self.assertEqual(r.get("px"), b"w")
        self.assertTrue(r.set("kt", "new", keepttl=True))  # no key: no expiry
        self.assertEqual(r.ttl("kt"), -1)
        # NX / XX / GET combine with an expiry.
        self.assertEqual(r.set("nx", "1", nx=True, ex=HOUR), True)
        self.assertIsNone(r.set("nx", "2", nx=True, ex=HOUR))
        self.assertEqual(r.set("nx", "3", xx=True, px=5000, get=True), b"1")
        self.assertTrue(0 < r.pttl("nx") <= 5000)

    def test_set_expiry_errors(self):
        r = self.r
        for args in (["EX", "0"], ["EX", "-1"], ["PX", "0"], ["EXAT", "0"], ["PXAT", "-5"],
                     ["EX", str(2**62)], ["PX", str(2**63 - 1)]):
            with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'set' command$", msg=args):
                r.execute_command("SET", "k", "v", *args)
        for args in (["EX", "x"], ["PX", "1.5"], ["EX", ""]):
            with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER, msg=args):
                r.execute_command("SET", "k", "v", *args)
        for args in (["EX", "10", "PX", "10"], ["EX", "10", "KEEPTTL"], ["KEEPTTL", "PX", "5"], ["EX"],
                     ["NX", "XX"]):
            with self.assertRaisesRegex(redis.ResponseError, "^syntax error$", msg=args):
                r.execute_command("SET", "k", "v", *args)
        self.assertEqual(r.exists("k"), 0)

    def test_setex_and_psetex(self):
        r = self.r
        self.assertTrue(r.setex("s", HOUR, "v"))
        self.assertEqual(r.get("s"), b"v")
        self.assertIn(r.ttl("s"), (HOUR - 1, HOUR))
        self.assertTrue(r.psetex("p", 100000, "v"))
        self.assertTrue(0 < r.pttl("p") <= 100000)
        with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'setex' command$"):
            r.setex("s", 0, "v")
        with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'psetex' command$"):
            r.psetex("p", -1, "v")
        with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER):
            r.execute_command("SETEX", "s", "ten", "v")
        with self.assertRaisesRegex(redis.ResponseError, "wrong number of arguments"):
            r.execute_command("SETEX", "s", "10")

    def test_expire_family_and_conditions(self):
        r = self.r
        self.assertEqual(r.expire("missing", 100), False)
        r.set("k", "v")
        self.assertTrue(r.expire("k", HOUR))
        self.assertIn(r.ttl("k"), (HOUR - 1, HOUR))
        self.assertTrue(r.pexpire("k", 2 * HOUR * 1000))
        self.assertIn(r.ttl("k"), (2 * HOUR - 1, 2 * HOUR))
        at = int(time.time()) + 3 * HOUR
        self.assertTrue(r.expireat("k", at))
        self.assertEqual(r.expiretime("k"), at)
        self.assertTrue(r.pexpireat("k", at * 1000 + 7))
        self.assertEqual(r.execute_command("PEXPIRETIME", "k"), at * 1000 + 7)
        self.assertEqual(r.get("k"), b"v")
        # NX: only without an expiry; XX: only with one.
        r.set("c", "v")
        self.assertEqual(r.execute_command("EXPIRE", "c", 100, "XX"), 0)
        self.assertEqual(r.execute_command("EXPIRE", "c", 100, "NX"), 1)
        self.assertEqual(r.execute_command("EXPIRE", "c", 200, "NX"), 0)
        self.assertEqual(r.execute_command("EXPIRE", "c", 200, "XX"), 1)
        # GT / LT: no expiry counts as forever.
        self.assertEqual(r.execute_command("EXPIRE", "c", 100, "GT"), 0)
        self.assertEqual(r.execute_command("EXPIRE", "c", 300, "GT"), 1)
        self.assertEqual(r.execute_command("EXPIRE", "c", 400, "LT"), 0)
        self.assertEqual(r.execute_command("EXPIRE", "c", 250, "lt"), 1)
        self.assertIn(r.ttl("c"), (249, 250))
        r.set("forever", "v")
        self.assertEqual(r.execute_command("EXPIRE", "forever", 100, "GT"), 0)
        self.assertEqual(r.ttl("forever"), -1)
        self.assertEqual(r.execute_command("EXPIRE", "forever", 100, "LT"), 1)
        # Errors.
        with self.assertRaisesRegex(redis.ResponseError,
                                    "^NX and XX, GT or LT options at the same time are not compatible$"):
            r.execute_command("EXPIRE", "c", 10, "NX", "GT")
        with self.assertRaisesRegex(redis.ResponseError, "^GT and LT options at the same time are not compatible$"):
            r.execute_command("EXPIRE", "c", 10, "GT", "LT")
        with self.assertRaisesRegex(redis.ResponseError, "^Unsupported option FOO$"):
            r.execute_command("EXPIRE", "c", 10, "FOO")
        with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER):
            r.execute_command("EXPIRE", "c", "soon")
        with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'pexpire' command$"):
            r.execute_command("PEXPIRE", "c", str(2**63 - 1))
        with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'expire' command$"):
            r.execute_command("EXPIRE", "c", str(2**62))
        self.assertIn(r.ttl("c"), (249, 250), "errors change nothing")
        # A time already past deletes the key.
        r.set("gone", "v")
        self.assertTrue(r.expire("gone", 0))
        self.assertEqual(r.exists("gone"), 0)
        r.set("gone", "v")
        self.assertTrue(r.expireat("gone", 1))
        self.assertIsNone(r.get("gone"))
        r.set("gone", "v")
        self.assertTrue(r.pexpire("gone", -1000))
        self.assertEqual(r.ttl("gone"), -2)

    def test_persist_and_getex(self):
        r = self.r
        r.set("k", "v", ex=HOUR)
        self.assertEqual(r.persist("k"), True)
        self.assertEqual(r.ttl("k"), -1)
        self.assertEqual(r.persist("k"), False)
        self.assertEqual(r.persist("missing"), False)
        self.assertEqual(r.getex("k", ex=HOUR), b"v")
        self.assertIn(r.ttl("k"), (HOUR - 1, HOUR))
        self.assertEqual(r.getex("k"), b"v")  # no option: the expiry stays
        self.assertIn(r.ttl("k"), (HOUR - 1, HOUR))
        self.assertEqual(r.getex("k", px=50000), b"v")
        self.assertTrue(0 < r.pttl("k") <= 50000)
        at = int(time.time()) + HOUR
        self.assertEqual(r.getex("k", exat=at), b"v")
        self.assertEqual(r.expiretime("k"), at)
        self.assertEqual(r.getex("k", persist=True), b"v")
        self.assertEqual(r.ttl("k"), -1)
        self.assertIsNone(r.getex("missing", ex=10))
        with self.assertRaisesRegex(redis.ResponseError, "^invalid expire time in 'getex' command$"):
            r.getex("k", ex=0)
        with self.assertRaisesRegex(redis.ResponseError, "^syntax error$"):
            r.execute_command("GETEX", "k", "EX", "10", "PERSIST")
        with self.assertRaisesRegex(redis.ResponseError, "^syntax error$"):
            r.execute_command("GETEX", "k", "BOGUS")

    def test_commands_that_change_a_value_keep_its_expiry(self):
        r = self.r
        r.set("n", "1", ex=HOUR)
        self.assertEqual(r.incr("n"), 2)
        self.assertEqual(r.incrbyfloat("n", 0.5), 2.5)
        self.assertIn(r.ttl("n"), (HOUR - 1, HOUR))
        r.set("s", "ab", ex=HOUR)
        r.append("s", "cd")
        r.setrange("s", 0, "X")
        self.assertEqual(r.get("s"), b"Xbcd")
        self.assertIn(r.ttl("s"), (HOUR - 1, HOUR))
        # RENAME and COPY carry it; GETSET clears it.
        r.rename("s", "t")
        self.assertIn(r.ttl("t"), (HOUR - 1, HOUR))
        self.assertEqual(r.ttl("s"), -2)
        self.assertTrue(r.copy("t", "u"))
        self.assertIn(r.ttl("u"), (HOUR - 1, HOUR))
        self.assertTrue(r.copy("t", "elsewhere", destination_db="expiry_other_db"))
        other = redis_client(self.server)
        other.execute_command("SELECT", "expiry_other_db")
        self.assertIn(other.ttl("elsewhere"), (HOUR - 1, HOUR))
        other.close()
        self.assertEqual(r.getset("u", "new"), b"Xbcd")
        self.assertEqual(r.ttl("u"), -1)

    def test_expired_keys_are_absent_from_every_command(self):
        r = self.r
        for i in range(20):
            r.set(f"live{i}", "v")
        for i in range(10):
            r.set(f"short{i}", "v", px=300)
        self.assertEqual(r.dbsize(), 30)
        for i in range(10):
            wait_until_absent(r, f"short{i}")
        self.assertIsNone(r.get("short0"))
        self.assertEqual(r.mget(["short1", "live1"]), [None, b"v"])
        self.assertEqual(r.exists("short2", "live2"), 1)
        self.assertEqual(r.dbsize(), 20)
        self.assertEqual(sorted(r.scan_iter()), sorted(f"live{i}".encode() for i in range(20)))
        self.assertEqual(len(r.keys("short*")), 0)
        self.assertEqual(r.ttl("short3"), -2)
        self.assertEqual(r.type("short4"), b"none")
        self.assertEqual(r.strlen("short5"), 0)
        self.assertIsNone(r.getdel("short6"))
        self.assertEqual(r.incr("short7"), 1, "an expired counter starts again")
        self.assertEqual(r.ttl("short7"), -1)
        self.assertTrue(r.set("short8", "x", nx=True), "NX sees the expired key as absent")
        with self.assertRaisesRegex(redis.ResponseError, "^no such key$"):
            r.rename("short9", "elsewhere")

    def test_expiry_commands_in_a_transaction(self):
        r = self.r
        pipe = r.pipeline(transaction=True)
        pipe.set("tx", "v", ex=HOUR)
        pipe.ttl("tx")
        pipe.persist("tx")
        pipe.pexpire("tx", 5000)
        pipe.pttl("tx")
        replies = pipe.execute()
        self.assertEqual(replies[0], True)
        self.assertIn(replies[1], (HOUR - 1, HOUR))
        self.assertEqual(replies[2:4], [True, True])
        self.assertTrue(0 < replies[4] <= 5000)

    def test_a_set_with_a_time_already_past_in_one_pipeline(self):
        """PXAT in the past is accepted (positive) and the key reads as
        absent at once, also to later commands of the same pipeline."""
        r = self.r
        pipe = r.pipeline(transaction=False)
        pipe.set("old", "v", pxat=1000)
        pipe.set("old", "w", nx=True)
        pipe.get("old")
        self.assertEqual(pipe.execute(), [True, True, b"w"])


class ExpiryDurabilityTest(unittest.TestCase):
    def test_expiries_survive_restart_and_kill(self):
        server = EbbServer("journal.sync=always").start()
        try:
            r = redis_client(server)
            r.set("hour", "v", ex=HOUR)
            r.set("soon", "v", px=1500)
            at = r.execute_command("PEXPIRETIME", "hour")
            r.close()
            server.proc.kill()  # kill -9: nothing flushed, the journal has it
            server.proc.wait()
            server.proc = None
            server.log.close()
            server.start()
            r = redis_client(server)
            self.assertEqual(r.execute_command("PEXPIRETIME", "hour"), at)
            wait_until_absent(r, "soon")
            self.assertEqual(r.get("hour"), b"v")
            r.close()
            self.assertEqual(server.stop(), 0)  # a clean stop flushes: the deadline is in a segment now
            server.start()
            r = redis_client(server)
            self.assertEqual(r.execute_command("PEXPIRETIME", "hour"), at)
            r.close()
        finally:
            code = server.stop()
            server.cleanup()
        self.assertEqual(code, 0)

    def test_compaction_drops_expired_values(self):
        """Expired values leave the files: the flush that writeback makes at
        rest (work.max_pending_age_s) writes them as tombstones, and a
        compaction drops them."""
        def database(r):
            status = json.loads(r.execute_command("EBB.STATUS"))
            return next(d for d in status["databases"] if d["name"] == "c")

        with EbbServer("work.max_pending_age_s=1") as server:
            r = redis_client(server)
            r.execute_command("SELECT", "c")
            pipe = r.pipeline(transaction=False)
            for i in range(500):
                pipe.set(f"keep{i}", "v" * 100)
                pipe.set(f"drop{i}", "v" * 100, px=400)
            pipe.execute()
            for i in range(500):
                wait_until_absent(r, f"drop{i}")
            deadline = time.monotonic() + 60
            while database(r)["memtable_bytes"] != 0:
                self.assertLess(time.monotonic(), deadline, "writeback did not flush the database at rest")
                time.sleep(0.1)
            self.assertEqual(r.execute_command("EBB.COMPACT", "c"), b"OK")
            db = database(r)
            self.assertEqual((db["entries"], db["tombstones"]), (500, 0), db)
            self.assertEqual(r.dbsize(), 500)
            r.close()


if __name__ == "__main__":
    unittest.main()
