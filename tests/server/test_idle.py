"""Rest, counted from outside the process: after a burst on a fresh server
and the rush to idle that follows, no thread of `ebb serve` runs at all; and
keys that expire later cost no wakeup until they are due.

Context switches (voluntary and involuntary) of every thread are read from
/proc/<pid>/task/*/status before and after a window of silence. The burst
leaves compaction work queued while the smoosh channels are still in their
wait_secs, so a wait that armed a timer instead of ending in the rush to
idle would wake the process inside the window. In CI: EBB_IDLE_SETS (40000)
SETs over a tenth as many keys with 1 MiB memtables, smoosh.wait_secs at
EBB_IDLE_WAIT_SECS (12 s) and a window of EBB_IDLE_WINDOW_S (15 s). The long
form, with default settings, 200,000 SETs over 20,000 keys and a 60 s window
(docs/BENCHMARKS.md, "Rest under a trickle"):

    EBB_IDLE_WINDOW_S=60 EBB_IDLE_WAIT_SECS=default EBB_IDLE_SETS=200000 \
        python3 -m unittest -v tests/server/test_idle.py
"""

import json
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import EbbServer, redis_client  # noqa: E402

WINDOW_S = float(os.environ.get("EBB_IDLE_WINDOW_S", "15"))
WAIT_SECS = os.environ.get("EBB_IDLE_WAIT_SECS", "12")
SETS = int(os.environ.get("EBB_IDLE_SETS", "40000"))
# Bounds the wait for the rush to idle after the burst.
QUIESCENCE_TIMEOUT_S = 120


def thread_switches(pid):
    """{(tid, name): voluntary + involuntary context switches}."""
    out = {}
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm") as f:
                name = f.read().strip()
            total = 0
            with open(f"{task_dir}/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            continue
        out[(tid, name)] = total
    return out


def sanitizer_thread(pid, tid, name):
    """ThreadSanitizer's runtime starts a thread of its own before main that
    wakes every 100 ms for the life of the process. It keeps the process
    name (every thread Ebb starts is named for its job), so under the tsan
    preset the one unnamed thread that is not the main thread is not Ebb's."""
    return os.environ.get("EBB_SANITIZE") == "thread" and int(tid) != pid and name == "ebb"


def quiescent(status):
    work = status["work"]
    if work.get("armed_deadline_micros") is not None:
        return False
    return all(c["state"] == "asleep" and c["pending_bytes"] == 0
               for c in work["classes"]) and all(d["memtable_bytes"] == 0 for d in status["databases"])


class RestAfterBurstTest(unittest.TestCase):
    def test_no_thread_runs_after_the_rush_to_idle(self):
        settings = [] if WAIT_SECS == "default" else [f"smoosh.wait_secs={WAIT_SECS}", "store.memtable_bytes=1MiB"]
        keys = SETS // 10
        with EbbServer(*settings) as server:
            r = redis_client(server)
            # A burst: pipelined SETs over a few thousand keys (overwrites, so
            # compaction has something to reclaim), then one MSET into each
            # of 7 more databases.
            value = "v" * 100
            pipe = r.pipeline(transaction=False)
            for i in range(SETS):
                pipe.set(f"key:{i % keys}", value)
                if i % 1000 == 999:
                    pipe.execute()
            pipe.execute()
            for db in range(1, 8):
                r.execute_command("SELECT", db)
                r.mset({f"k{j}": value for j in range(50)})
            r.close()

            def status():
                url = f"http://127.0.0.1:{server.admin_port}/status"
                with urllib.request.urlopen(url, timeout=20) as response:
                    return json.loads(response.read())

            deadline = time.monotonic() + QUIESCENCE_TIMEOUT_S
            while not quiescent(status()):
                self.assertLess(time.monotonic(), deadline, "the server did not reach quiescence")
                time.sleep(0.2)
            time.sleep(1)  # let the admin request that saw it finish
            before = thread_switches(server.proc.pid)
            time.sleep(WINDOW_S)
            after = thread_switches(server.proc.pid)
            busy = {f"{name} ({tid})": after[(tid, name)] - before.get((tid, name), 0)
                    for (tid, name) in after if after[(tid, name)] != before.get((tid, name), 0)
                    and not sanitizer_thread(server.proc.pid, tid, name)}
            self.assertEqual(busy, {}, f"threads that ran during {WINDOW_S:g} s of rest")
            # The compaction the burst queued was done in the rush, and
            # nothing was lost on the way to rest.
            smoosh = status()["compaction"]
            self.assertGreater(sum(c["jobs_succeeded"] for c in smoosh["channels"]), 0, smoosh)
            r = redis_client(server)
            self.assertEqual(r.get(f"key:{keys - 1}"), value.encode())
            r.execute_command("SELECT", 7)
            self.assertEqual(r.get("k49"), value.encode())
            r.close()


def settled(status):
    """Every class asleep with nothing pending and memtables flushed; a
    deadline may be armed (active expiry's, for keys due later)."""
    work = status["work"]
    return all(c["state"] == "asleep" and c["pending_bytes"] == 0
               for c in work["classes"]) and all(d["memtable_bytes"] == 0 for d in status["databases"])


class RestWithExpiringKeysTest(unittest.TestCase):
    """Keys that expire later cost no wakeup until they are due (Redis's
    active expiry wakes ten times a second forever); a due batch costs one
    timer wakeup of one thread, the dispatcher, which runs the pass itself
    and arms the next deadline, and its space is reclaimed."""

    def test_no_wakeup_until_keys_are_due_then_one_timer_per_batch(self):
        with EbbServer("work.max_pending_age_s=2") as server:
            def status():
                url = f"http://127.0.0.1:{server.admin_port}/status"
                with urllib.request.urlopen(url, timeout=20) as response:
                    return json.loads(response.read())

            def wait_settled():
                deadline = time.monotonic() + QUIESCENCE_TIMEOUT_S
                while not settled(status()):
                    self.assertLess(time.monotonic(), deadline, "the server did not settle")
                    time.sleep(0.2)
                time.sleep(1)  # let the admin request that saw it finish

            def busy_threads(before, after):
                return {f"{name} ({tid})": after[(tid, name)] - before.get((tid, name), 0)
                        for (tid, name) in after if after[(tid, name)] != before.get((tid, name), 0)
                        and not sanitizer_thread(server.proc.pid, tid, name)}

            r = redis_client(server)
            # 100,000 keys due over the next hour (none within the test).
            keys = 100000
            pipe = r.pipeline(transaction=False)
            for i in range(keys):
                pipe.set(f"later:{i}", "v" * 100, ex=1800 + i % 1800)
                if i % 2000 == 1999:
                    pipe.execute()
            pipe.execute()
            wait_settled()
            st = status()
            self.assertIsNotNone(st["work"]["armed_deadline_micros"], "the earliest deadline is armed")
            self.assertEqual(st["databases"][0]["expiring"], keys)
            time.sleep(0.3)  # the admin thread's end of that request
            before = thread_switches(server.proc.pid)
            time.sleep(WINDOW_S)
            after = thread_switches(server.proc.pid)
            self.assertEqual(busy_threads(before, after), {}, f"threads that ran during {WINDOW_S:g} s")

            # A batch due in a few seconds, in the same database: nothing
            # runs before it is due; then one timer wakeup, and it is
            # reclaimed (at once when it has a segment of its own, where it
            # is every value with an expiry; within the age limit per 4 MiB
            # of the database when compaction merged it with the keys due
            # later, where it is under an eighth of them).
            due_s = 6
            pipe = r.pipeline(transaction=False)
            for i in range(2000):
                pipe.set(f"soon:{i}", "v" * 100, px=due_s * 1000)
            pipe.execute()
            written = time.monotonic()
            wait_settled()
            if time.monotonic() - written > due_s - 2:
                self.skipTest("the machine took too long to settle before the batch was due")
            work = status()["work"]
            time.sleep(0.3)  # the admin thread's end of that request
            before = thread_switches(server.proc.pid)
            time.sleep(max(0, written + due_s - 0.5 - time.monotonic()))
            after = thread_switches(server.proc.pid)
            self.assertEqual(busy_threads(before, after), {}, "threads that ran before the batch was due")

            due_before = after
            deadline = time.monotonic() + 60
            while status()["databases"][0]["expiring"] != keys:
                self.assertLess(time.monotonic(), deadline, "the due batch was not reclaimed")
                time.sleep(0.5)
            st = status()
            ran = busy_threads(due_before, thread_switches(server.proc.pid))
            # The status polls above ran on the admin threads; nothing else
            # but the dispatcher may have.
            ran = {t: n for t, n in ran.items() if not t.startswith(("ebb-admin",))}
            self.assertEqual([t.split(" ")[0] for t in ran], ["ebb-bg-dispatch"],
                             f"threads that ran for the batch: {ran}")
            db = st["databases"][0]
            self.assertEqual(db["entries"], keys)
            self.assertEqual(db["expired"], 0)
            self.assertEqual(db["expired_bytes"], 0)
            self.assertEqual(st["work"]["deadline_wakeups"] - work["deadline_wakeups"], 1,
                             "one timer wakeup for the batch")
            self.assertEqual(st["work"]["wakeups"] - work["wakeups"], 1,
                             "the timer; the pass and the next deadline in the same round")
            self.assertGreaterEqual(st["work"]["dispatcher_passes"] - work["dispatcher_passes"], 1)
            self.assertIsNone(r.get("soon:0"))
            self.assertEqual(r.get("later:0"), b"v" * 100)
            r.close()


if __name__ == "__main__":
    unittest.main()
