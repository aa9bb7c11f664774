"""The string and key commands (INCR family, APPEND, STRLEN, GETRANGE,
SETRANGE, GETDEL, SETNX, MSETNX, GETSET, TYPE, RENAME, RENAMENX, COPY,
UNLINK, TOUCH, RANDOMKEY, KEYS) through python3-redis, with Redis 7's
replies and error texts."""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, ServerTestCase, redis_client, resp_call  # noqa: E402

import redis  # noqa: E402

NOT_INTEGER = "^value is not an integer or out of range$"
NOT_FLOAT = "^value is not a valid float$"


class StringCommandsTest(ServerTestCase):
    def setUp(self):
        self.r = redis_client(self.server)
        self.r.execute_command("SELECT", self.id().split(".")[-1])

    def tearDown(self):
        self.r.close()

    def test_incr_decr(self):
        r = self.r
        self.assertEqual(r.incr("n"), 1)
        self.assertEqual(r.incr("n"), 2)
        self.assertEqual(r.incrby("n", 10), 12)
        self.assertEqual(r.decr("n"), 11)
        self.assertEqual(r.decrby("n", 20), -9)
        self.assertEqual(r.get("n"), b"-9")
        self.assertEqual(r.decr("fresh"), -1)
        r.set("big", str(2**63 - 1))
        with self.assertRaisesRegex(redis.ResponseError, "^increment or decrement would overflow$"):
            r.incr("big")
        self.assertEqual(r.get("big"), str(2**63 - 1).encode())  # unchanged
        r.set("small", str(-2**63))
        with self.assertRaisesRegex(redis.ResponseError, "^increment or decrement would overflow$"):
            r.decr("small")
        with self.assertRaisesRegex(redis.ResponseError, "^decrement would overflow$"):
            r.decrby("n", -2**63)
        for bad in ["abc", "1.5", " 1", "01", "+1", "-0", "", "99999999999999999999", "1\x00"]:
            r.set("bad", bad)
            with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER, msg=repr(bad)):
                r.incr("bad")
            self.assertEqual(r.get("bad"), bad.encode())
        for bad in ["x", "1.0", "", "9223372036854775808"]:
            with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER, msg=repr(bad)):
                r.incrby("n", bad)
        self.assertEqual(r.get("n"), b"-9")
        r.set("zero", "0")
        self.assertEqual(r.incrby("zero", -5), -5)

    def test_incrbyfloat(self):
        r = self.r
        self.assertEqual(r.incrbyfloat("f", 10.5), 10.5)
        # The text stored and returned is Redis's: 17 decimals, trailing zeros cut.
        r.execute_command("INCRBYFLOAT", "f", "0.1")
        self.assertEqual(r.get("f"), b"10.6")
        r.execute_command("INCRBYFLOAT", "f", "-5")
        self.assertEqual(r.get("f"), b"5.6")
        r.set("g", "5.0e3")
        r.execute_command("INCRBYFLOAT", "g", "2.0e2")
        self.assertEqual(r.get("g"), b"5200")
        r.set("i", "3")
        r.execute_command("INCRBYFLOAT", "i", "1.5")
        self.assertEqual(r.get("i"), b"4.5")
        r.execute_command("INCRBYFLOAT", "neg", "-0")
        self.assertEqual(r.get("neg"), b"0")
        self.assertEqual(resp_call(self.server, "INCRBYFLOAT", "raw_float_reply", "1.25"), b"1.25")
        with self.assertRaisesRegex(redis.ResponseError, NOT_FLOAT):
            r.execute_command("INCRBYFLOAT", "f", "abc")
        with self.assertRaisesRegex(redis.ResponseError, NOT_FLOAT):
            r.execute_command("INCRBYFLOAT", "f", "nan")
        r.set("s", "hello")
        with self.assertRaisesRegex(redis.ResponseError, NOT_FLOAT):
            r.execute_command("INCRBYFLOAT", "s", "1")
        with self.assertRaisesRegex(redis.ResponseError, "^increment would produce NaN or Infinity$"):
            r.execute_command("INCRBYFLOAT", "f", "inf")
        self.assertEqual(r.get("f"), b"5.6")

    def test_incr_is_atomic_across_connections(self):
        threads, per_thread = 8, 200

        def work():
            c = redis_client(self.server)
            c.execute_command("SELECT", "atomic_incr")
            p = c.pipeline(transaction=False)
            for _ in range(per_thread):
                p.incr("counter")
                p.incrbyfloat("fcounter", 0.5)
            p.execute()
            c.close()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.r.execute_command("SELECT", "atomic_incr")
        self.assertEqual(self.r.get("counter"), str(threads * per_thread).encode())
        self.assertEqual(float(self.r.get("fcounter")), threads * per_thread * 0.5)

    def test_append_strlen_getrange_setrange(self):
        r = self.r
        self.assertEqual(r.append("s", "Hello"), 5)
        self.assertEqual(r.append("s", " World"), 11)
        self.assertEqual(r.strlen("s"), 11)
        self.assertEqual(r.strlen("absent"), 0)
        self.assertEqual(r.getrange("s", 0, 4), b"Hello")
        self.assertEqual(r.getrange("s", -5, -1), b"World")
        self.assertEqual(r.getrange("s", 0, -1), b"Hello World")
        self.assertEqual(r.getrange("s", 6, 1000), b"World")
        self.assertEqual(r.getrange("s", -100, 2), b"Hel")
        self.assertEqual(r.getrange("s", 5, 3), b"")
        self.assertEqual(r.getrange("s", -1, -5), b"")
        self.assertEqual(r.getrange("s", 20, 30), b"")
        self.assertEqual(r.getrange("absent", 0, -1), b"")
        with self.assertRaisesRegex(redis.ResponseError, NOT_INTEGER):
            r.getrange("s", "a", 2)
        self.assertEqual(r.setrange("s", 6, "Redis"), 11)
        self.assertEqual(r.get("s"), b"Hello Redis")
        self.assertEqual(r.setrange("pad", 3, "x"), 4)
        self.assertEqual(r.get("pad"), b"\x00\x00\x00x")
        self.assertEqual(r.setrange("none", 5, ""), 0)
        self.assertEqual(r.exists("none"), 0)  # an empty SETRANGE creates nothing
        with self.assertRaisesRegex(redis.ResponseError, "^offset is out of range$"):
            r.setrange("s", -1, "x")
        with self.assertRaisesRegex(redis.ResponseError, "store.max_value_bytes"):
            r.setrange("s", 2**40, "x")
        binary = bytes(range(256))
        self.assertEqual(r.append("bin", binary), 256)
        self.assertEqual(r.append("bin", binary), 512)
        self.assertEqual(r.getrange("bin", 250, 260), binary[250:] + binary[:5])

    def test_getdel_getset_setnx_msetnx(self):
        r = self.r
        r.set("k", "v")
        self.assertEqual(r.getdel("k"), b"v")
        self.assertIsNone(r.getdel("k"))
        self.assertEqual(r.exists("k"), 0)
        self.assertIsNone(r.getset("g", "1"))
        self.assertEqual(r.getset("g", "2"), b"1")
        self.assertEqual(r.get("g"), b"2")
        self.assertTrue(r.setnx("n", "a"))
        self.assertFalse(r.setnx("n", "b"))
        self.assertEqual(r.get("n"), b"a")
        self.assertTrue(r.msetnx({"m1": "1", "m2": "2"}))
        self.assertFalse(r.msetnx({"m2": "x", "m3": "3"}))
        self.assertEqual(r.mget("m1", "m2", "m3"), [b"1", b"2", None])  # all or none
        with self.assertRaisesRegex(redis.ResponseError, "wrong number of arguments for 'msetnx'"):
            r.execute_command("MSETNX", "a", "1", "b")

    def test_type_touch_unlink(self):
        r = self.r
        r.set("k", "v")
        self.assertEqual(r.type("k"), b"string")
        self.assertEqual(r.type("absent"), b"none")
        self.assertEqual(r.touch("k", "k", "absent"), 2)
        r.mset({"a": "1", "b": "2"})
        self.assertEqual(r.unlink("a", "b", "absent", "a"), 2)
        self.assertEqual(r.exists("a", "b"), 0)

    def test_rename_renamenx(self):
        r = self.r
        r.set("a", "1")
        self.assertTrue(r.rename("a", "b"))
        self.assertEqual((r.get("a"), r.get("b")), (None, b"1"))
        with self.assertRaisesRegex(redis.ResponseError, "^no such key$"):
            r.rename("a", "c")
        self.assertTrue(r.rename("b", "b"))
        r.set("c", "3")
        self.assertTrue(r.rename("b", "c"))  # overwrites
        self.assertEqual(r.get("c"), b"1")
        r.set("d", "4")
        self.assertFalse(r.renamenx("c", "d"))
        self.assertEqual((r.get("c"), r.get("d")), (b"1", b"4"))
        self.assertTrue(r.renamenx("c", "e"))
        self.assertEqual((r.get("c"), r.get("e")), (None, b"1"))
        self.assertFalse(r.renamenx("e", "e"))
        with self.assertRaisesRegex(redis.ResponseError, "^no such key$"):
            r.renamenx("c", "f")

    def test_copy(self):
        r = self.r
        r.set("src", "v")
        self.assertTrue(r.copy("src", "dst"))
        self.assertEqual(r.get("dst"), b"v")
        r.set("src", "w")
        self.assertFalse(r.copy("src", "dst"))
        self.assertEqual(r.get("dst"), b"v")
        self.assertTrue(r.copy("src", "dst", replace=True))
        self.assertEqual(r.get("dst"), b"w")
        self.assertFalse(r.copy("absent", "x"))
        with self.assertRaisesRegex(redis.ResponseError, "^source and destination objects are the same$"):
            r.copy("src", "src")
        with self.assertRaisesRegex(redis.ResponseError, "^syntax error$"):
            r.execute_command("COPY", "src", "x", "BOGUS")
        db = self.id().split(".")[-1]
        other = db + "_other"
        self.assertTrue(r.execute_command("COPY", "src", "src", "DB", other))
        self.assertFalse(r.execute_command("COPY", "src", "src", "DB", other))
        r.execute_command("SELECT", other)
        self.assertEqual(r.get("src"), b"w")
        r.execute_command("SELECT", db)

    def test_pipelined_commands_see_each_other(self):
        p = self.r.pipeline(transaction=False)
        p.set("x", "10")
        p.incr("x")
        p.append("x", "0")
        p.incrby("x", 5)
        p.getrange("x", 0, 1)
        p.rename("x", "y")
        p.get("x")
        p.getdel("y")
        p.setnx("y", "again")
        p.strlen("y")
        p.incr("y")  # an error for this command only
        p.get("y")
        replies = p.execute(raise_on_error=False)
        self.assertEqual(replies[:10], [True, 11, 3, 115, b"11", True, None, b"115", True, 5])
        self.assertIsInstance(replies[10], redis.ResponseError)
        self.assertEqual(replies[11], b"again")

    def test_keys_and_randomkey(self):
        r = self.r
        self.assertEqual(r.keys("*"), [])
        self.assertIsNone(r.randomkey())
        r.mset({f"user:{i}": i for i in range(50)})
        r.mset({f"item:{i}": i for i in range(20)})
        self.assertEqual(sorted(r.keys("user:*")), sorted(f"user:{i}".encode() for i in range(50)))
        self.assertEqual(sorted(r.keys("*:1?")), sorted([f"user:1{i}".encode() for i in range(10)] +
                                                         [f"item:1{i}".encode() for i in range(10)]))
        self.assertEqual(len(r.keys("*")), 70)
        self.assertEqual(r.keys("nothing*"), [])
        seen = set()
        for _ in range(100):
            k = r.randomkey()
            self.assertTrue(k.startswith(b"user:") or k.startswith(b"item:"), k)
            seen.add(k)
        self.assertGreater(len(seen), 5)

    def test_errors_in_a_run_leave_the_others_alone(self):
        # A bad argument is answered alone; the commands around it run.
        p = self.r.pipeline(transaction=False)
        p.set("a", "1")
        p.execute_command("INCRBY", "a", "x")
        p.incr("a")
        replies = p.execute(raise_on_error=False)
        self.assertEqual(replies[0], True)
        self.assertIsInstance(replies[1], redis.ResponseError)
        self.assertEqual(replies[2], 2)

    def test_command_reports_the_new_commands(self):
        info = resp_call(self.server, "COMMAND", "INFO", "incr", "rename", "msetnx", "keys")
        self.assertEqual([i[:6] for i in info], [[b"incr", 2, ["write", "denyoom", "fast"], 1, 1, 1],
                                                 [b"rename", 3, ["write"], 1, 2, 1],
                                                 [b"msetnx", -3, ["write", "denyoom"], 1, -1, 2],
                                                 [b"keys", 2, ["readonly"], 0, 0, 0]])
        names = set(resp_call(self.server, "COMMAND", "LIST"))
        for name in ["incr", "decr", "incrby", "decrby", "incrbyfloat", "append", "strlen", "getrange",
                     "setrange", "getdel", "setnx", "msetnx", "getset", "type", "rename", "renamenx", "copy",
                     "unlink", "touch", "randomkey", "keys"]:
            self.assertIn(name.encode(), names)


class KeysLimitTest(unittest.TestCase):
    def test_keys_refuses_past_keys_max_and_points_to_scan(self):
        with EbbServer("server.keys_max=10") as server:
            r = redis_client(server)
            r.mset({f"k{i}": i for i in range(11)})
            r.mset({f"other{i}": i for i in range(20)})
            with self.assertRaisesRegex(redis.ResponseError, r"more than 10 keys \(server.keys_max\).*SCAN"):
                r.keys("k*")
            self.assertEqual(len(r.keys("k1*")), 2)  # k1, k10
            r.delete("k10")
            self.assertEqual(len(r.keys("k*")), 10)
            r.config_set("server.keys_max", "100")
            self.assertEqual(len(r.keys("*")), 30)
            r.close()


if __name__ == "__main__":
    unittest.main()
