"""The admin HTTP listener: /status JSON, /metrics parsed by the Prometheus
client library's own parser, and the dashboard rendered by headless Chromium
(started here with no network) showing live values from the server."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from ebb_server import ServerTestCase, redis_client  # noqa: E402


def fetch(server, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}{path}", timeout=20) as response:
        return response.status, response.headers, response.read().decode()


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("chromium is missing: run scripts/setup.sh test")


def dump_dom(url):
    """The page at `url` as headless Chromium renders it after 5 s of virtual
    time, and Chromium's stderr. No network beyond loopback."""
    profile = tempfile.mkdtemp(prefix="ebb-chromium-")
    try:
        out = subprocess.run(
            [chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-extensions", "--disable-default-apps",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=direct://",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--enable-logging=stderr", "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out.stdout, out.stderr


class AdminHttpTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = redis_client(cls.server)
        r.execute_command("SELECT", "dashboard_db_7f3")
        for i in range(500):
            r.set(f"key{i}", "v" * 100)
        for i in range(300):
            r.get(f"key{i}")
        r.close()

    def test_status_json(self):
        code, headers, body = fetch(self.server, "/status")
        self.assertEqual(code, 200)
        self.assertIn("application/json", headers["Content-Type"])
        status = json.loads(body)
        for section in ("databases", "read_pool", "journal", "server"):
            self.assertIn(section, status)
        db = next(d for d in status["databases"] if d["name"] == "dashboard_db_7f3")
        self.assertGreaterEqual(db["entries"], 500)
        self.assertGreaterEqual(status["read_pool"]["normal"]["completed"], 1)

    def test_metrics_parse_as_prometheus_text(self):
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError as e:
            raise SystemExit("python3-prometheus-client is missing: run scripts/setup.sh test") from e
        code, headers, body = fetch(self.server, "/metrics")
        self.assertEqual(code, 200)
        self.assertIn("text/plain", headers["Content-Type"])
        families = {f.name: f for f in text_string_to_metric_families(body)}
        # Counters appear without their _total suffix in the parsed family.
        self.assertEqual(families["ebb_server_commands_processed"].type, "counter")
        self.assertEqual(families["ebb_databases_disk_bytes"].type, "gauge")
        labels = [s.labels for s in families["ebb_databases_entries"].samples]
        self.assertIn({"database": "dashboard_db_7f3"}, labels)
        pending = {s.labels["class"] for s in families["ebb_work_classes_pending_bytes"].samples}
        self.assertIn("compaction", pending)
        completed = {s.labels["priority"]: s.value for s in families["ebb_read_pool_completed"].samples}
        self.assertEqual(set(completed), {"high", "normal", "low"})
        self.assertGreaterEqual(completed["normal"], 1)

    def test_unknown_path_is_404(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            fetch(self.server, "/nope")
        self.assertEqual(e.exception.code, 404)

    def test_dashboard_renders_live_values_in_headless_chromium(self):
        code, headers, html = fetch(self.server, "/")
        self.assertEqual(code, 200)
        self.assertNotRegex(html, r"(src|href)=\"https?://")  # nothing from the internet
        status = json.loads(fetch(self.server, "/status")[2])
        dom, stderr = dump_dom(f"http://127.0.0.1:{self.server.admin_port}/?interval=500")
        self.assertIn("<h2>Read pool</h2>", dom, stderr[-2000:])
        # Polled more than once: the charts have history.
        polls = int(re.search(r'data-polls="(\d+)"', dom).group(1))
        self.assertGreaterEqual(polls, 2)
        # Values that came from /status, in the rendered page.
        self.assertIn('data-database="dashboard_db_7f3"', dom)
        self.assertIn(f'data-path="data_dir">{status["data_dir"]}<', dom)
        threads = status["read_pool"]["normal"]["threads"]
        self.assertIn(f'data-path="read_pool.normal.threads">{threads}<', dom)
        self.assertIn(f'data-path="journal.sync_mode">{status["journal"]["sync_mode"]}<', dom)
        # Each background work class and each compaction channel has its card.
        classes = status["work"]["classes"]
        self.assertTrue(classes)
        for c in classes:
            self.assertIn(f'data-class="{c["name"]}"', dom)
            self.assertIn(f'data-path="work_classes.{c["name"]}.state"', dom)
        channels = status["compaction"]["channels"]
        self.assertTrue(channels)
        for ch in channels:
            self.assertIn(f'data-channel="{ch["name"]}"', dom)
        # The page's Content-Security-Policy forbids inline styles.
        self.assertNotIn(' style="', dom)
        # Every chart drew points.
        points = [int(p) for p in re.findall(r'<canvas[^>]*data-points="(\d+)"', dom)]
        self.assertGreaterEqual(len(points), 4)
        self.assertTrue(all(p > 0 for p in points), points)
        self.assertNotIn('class="error"', re.sub(r'<div id="error" class="error" hidden=""', "", dom))


if __name__ == "__main__":
    unittest.main()
