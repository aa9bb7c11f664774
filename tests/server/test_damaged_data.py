"""What clients of `ebb serve` get when the data on disk is damaged: a clear
error naming the segment file, for every read command, never a key reported
absent and never garbled text."""

import glob
import os
import time
import unittest

from ebb_server import EbbServer, redis_client

DEADLINE_S = 60


class DamagedSegmentTest(unittest.TestCase):
    def test_read_errors_name_the_damaged_segment_cleanly(self):
        # Small memtables: the writes below reach segment files quickly.
        server = EbbServer("store.memtable_bytes=64KiB")
        server.start()
        try:
            r = redis_client(server)
            pipe = r.pipeline(transaction=False)
            for i in range(3000):
                pipe.set(f"k{i:05}", "v" * 200)
            pipe.execute()
            seg_dir = os.path.join(server.data_dir, "data", "segments")
            deadline = time.monotonic() + DEADLINE_S
            while not glob.glob(os.path.join(seg_dir, "*.seg")):
                self.assertLess(time.monotonic(), deadline, "writeback flushed nothing")
                time.sleep(0.1)
        finally:
            self.assertEqual(server.stop(), 0)
        segments = sorted(glob.glob(os.path.join(seg_dir, "*.seg")))
        for path in segments:
            with open(path, "r+b") as f:  # inside the first data block
                f.seek(20)
                data = f.read(16)
                f.seek(20)
                f.write(bytes(b ^ 0xFF for b in data))
        server.start()
        try:
            r = redis_client(server)
            # The first key is in the first block of the oldest segment.
            replies = []
            for command in (["GET", "k00000"], ["MGET", "k00000", "k00001"], ["EXISTS", "k00000"]):
                with self.assertRaises(Exception) as ctx:
                    r.execute_command(*command)
                replies.append(str(ctx.exception))
            for text in replies:
                self.assertTrue(text.startswith("Corruption: "), text)
                self.assertRegex(text, r"segment \d{6}\.seg", text)
                self.assertTrue(all(32 <= ord(c) < 127 for c in text), f"garbled: {text!r}")
            # A pipeline of reads gets the same clean text for each.
            pipe = r.pipeline(transaction=False)
            for _ in range(8):
                pipe.get("k00000")
            for reply in pipe.execute(raise_on_error=False):
                self.assertTrue(str(reply).startswith("Corruption: segment"), str(reply))
        finally:
            self.assertEqual(server.stop(), 0)
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
