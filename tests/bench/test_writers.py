"""ebb-bench writers against each engine the build has, at a tiny size: the
rows, their fields and the refusals (numbers from it mean nothing).

    EBB_BENCH=build/release/bin/ebb-bench python3 -m unittest -v test_writers
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

BENCH = os.environ.get("EBB_BENCH", "build/release/bin/ebb-bench")
SUMMARIZE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "summarize.py")


def engines():
    """The engines this build has, from --help ("Engine: ebb|rocksdb|leveldb")."""
    out = subprocess.run([BENCH, "--help"], capture_output=True, text=True, check=True).stdout
    return re.search(r"Engine: ([a-z|]+)", out).group(1).split("|")


class WritersTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ebb-writers-test-")
        self.addCleanup(self.tmp.cleanup)

    def writers(self, *args):
        return subprocess.run([BENCH, "writers", "--threads", "2", "--dbs", "1", "--num", "2000", "--json",
                               "--data", os.path.join(self.tmp.name, "data"), *args],
                              capture_output=True, text=True, timeout=120)

    def rows(self, *args):
        p = self.writers(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")], p.stderr

    def check_common(self, r, engine):
        self.assertEqual(r["workload"], "writers")
        self.assertEqual(r["engine"], engine)
        self.assertEqual(r["ops"], 2000)
        self.assertEqual((r["threads"], r["dbs"]), (2, 1))
        for field in ("ops_per_sec", "p50_us", "p99_us", "p999_us", "peak_rss_bytes"):
            self.assertGreater(r[field], 0, field)
        self.assertEqual(r["memory_budget_bytes"], 128 << 20)
        self.assertEqual((r["key_size"], r["value_size"]), (16, 100))

    def test_ebb_both_completions_with_lock_acquisitions(self):
        rows, _ = self.rows("--engine", "ebb")
        self.assertEqual(sorted((r["sync"], r["completion"]) for r in rows),
                         [("batch", "db_lock"), ("batch", "op_lock"), ("none", "db_lock"), ("none", "op_lock")])
        for r in rows:
            self.check_common(r, "ebb")
            self.assertEqual(r["settings"]["journal.sync"], r["sync"])
            self.assertEqual(r["settings"]["write.completion"], r["completion"])
            self.assertEqual(r["settings"]["store.compression"], "none")
            # Every write takes the database lock at least to submit.
            self.assertGreaterEqual(r["lock_acquisitions"], 2000)
            self.assertAlmostEqual(r["lock_acquisitions_per_write"], r["lock_acquisitions"] / 2000)
            for field in ("items_per_completion", "records_per_group_commit", "lock_wait_us", "lock_wait_us_per_op"):
                self.assertIn(field, r)

    def test_rocksdb_pipelined(self):
        if "rocksdb" not in engines():
            self.skipTest("this build has no RocksDB")
        rows, _ = self.rows("--engine", "rocksdb")
        self.assertEqual(sorted(r["sync"] for r in rows), ["batch", "none"])
        for r in rows:
            self.check_common(r, "rocksdb")
            self.assertEqual(r["settings"]["enable_pipelined_write"], "true")
            self.assertEqual(r["settings"]["write_buffer_size"], str(64 << 20))
            self.assertNotIn("completion", r)
            self.assertNotIn("lock_acquisitions", r)

    def test_leveldb_skips_batch_in_the_sweep_and_refuses_it_when_asked(self):
        if "leveldb" not in engines():
            self.skipTest("this build has no LevelDB")
        rows, err = self.rows("--engine", "leveldb")
        self.assertEqual([r["sync"] for r in rows], ["none"])
        self.check_common(rows[0], "leveldb")
        self.assertIn("leveldb has no sync batch", err)
        p = self.writers("--engine", "leveldb", "--sync", "batch")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--sync batch is not offered", p.stderr)

    def test_completion_is_ebbs_alone(self):
        peer = next((e for e in engines() if e != "ebb"), None)
        if peer is None:
            self.skipTest("this build has no peer engine")
        p = self.writers("--engine", peer, "--completion", "op_lock")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--completion chooses Ebb's write.completion", p.stderr)
        p = self.writers("--engine", "ebb", "--completion", "op-lock")
        self.assertEqual(p.returncode, 1)
        self.assertIn("'op-lock': op_lock or db_lock", p.stderr)

    def test_summarize_table(self):
        lines = []
        for e in engines():
            flags = ["--engine", e] + (["--completion", "op_lock"] if e == "ebb" else [])
            p = self.writers(*flags)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines += [l for l in p.stdout.splitlines() if l.startswith("{")]
        with open(os.path.join(self.tmp.name, "writers-peers.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
        out = subprocess.run([sys.executable, SUMMARIZE, self.tmp.name], capture_output=True, text=True,
                             check=True).stdout
        self.assertIn("### writers against RocksDB and LevelDB", out)
        self.assertIn("database-lock acquisitions per write (op_lock / db_lock)", out)
        for sync in ("batch", "none"):
            row = next(l for l in out.splitlines() if l.startswith(f"| {sync} | 2 |"))
            # sync, threads, Ebb op_lock, Ebb db_lock, RocksDB, LevelDB, op_lock / faster peer, ...
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            self.assertRegex(cells[2], r"^[0-9,]+$")
            self.assertEqual(cells[3], "-")  # not run here
            if "rocksdb" in engines():
                self.assertRegex(cells[4], r"^[0-9,]+$")
                self.assertRegex(cells[6], r"^[0-9.]+x$")
            if "leveldb" in engines():
                self.assertRegex(cells[5], r"^[0-9,]+$" if sync == "none" else "^not offered$")
            self.assertRegex(cells[-2], r"^[0-9.]+ / -$")  # lock acquisitions per write, op_lock only


if __name__ == "__main__":
    unittest.main()
