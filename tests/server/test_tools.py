"""redis-cli and redis-benchmark (Debian's redis-tools) against `ebb serve`."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import ServerTestCase  # noqa: E402


def cli(server, *args, stdin=None):
    out = subprocess.run(["redis-cli", "-p", str(server.port), *args], input=stdin, capture_output=True, text=True,
                         timeout=60)
    # Only the final newline goes: a nil prints as an empty line.
    stdout = out.stdout[:-1] if out.stdout.endswith("\n") else out.stdout
    return stdout, out.stderr.strip(), out.returncode


class RedisToolsTest(ServerTestCase):
    def test_redis_cli(self):
        s = self.server
        self.assertEqual(cli(s, "PING")[0], "PONG")
        self.assertEqual(cli(s, "SET", "greeting", "hello world")[0], "OK")
        self.assertEqual(cli(s, "GET", "greeting")[0], "hello world")
        self.assertEqual(cli(s, "-n", "7", "SET", "x", "in seven")[0], "OK")
        self.assertEqual(cli(s, "-n", "7", "GET", "x")[0], "in seven")
        self.assertEqual(cli(s, "GET", "x")[0], "")
        self.assertEqual(cli(s, "MSET", "a", "1", "b", "2")[0], "OK")
        self.assertEqual(cli(s, "MGET", "a", "b", "c")[0].split("\n"), ["1", "2", ""])
        self.assertEqual(cli(s, "DBSIZE")[0], "4")
        self.assertIn("redis_version:", cli(s, "INFO", "server")[0])
        self.assertEqual(cli(s, "--scan", "--pattern", "gr*")[0], "greeting")
        out, err, code = cli(s, "NOSUCH")
        self.assertIn("unknown command", out + err)
        # Interactive-style input (commands on stdin), as a user would type them.
        out, _, code = cli(s, stdin="SET piped 1\nGET piped\nDEL piped\n")
        self.assertEqual(out.splitlines(), ["OK", "1", "1"])
        self.assertEqual(code, 0)

    def test_redis_benchmark_finishes_without_errors(self):
        out = subprocess.run(["redis-benchmark", "-p", str(self.server.port), "-n", "20000", "-t", "set,get,mset",
                              "-P", "16", "-c", "20", "-q"], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout.replace("\r", "\n")
        self.assertNotIn("ERR", text + out.stderr)
        self.assertNotIn("WARNING", out.stderr)
        for test in ("SET", "GET", "MSET"):
            self.assertRegex(text, re.compile(rf"^{test}.*: [0-9.]+ requests per second", re.M))


if __name__ == "__main__":
    unittest.main()
