"""The Traefik sampler and the analysis's reading of its record (python3 -m unittest discover -s e2e).

The sampler is run against a small local HTTP server that answers as Traefik's API does (a JSON
list of services with their servers), so what it asks, how often and over how many connections
is what a real run does.
"""
import http.server
import io
import json
import os
import sys
import threading
import time
import unittest
import urllib.parse
import warnings

from e2e.rollout import analyze as rollout
from e2e.rollout import traefik_sampler as sampler


def setUpModule():
    # The sampler keeps its one keep-alive connection for as long as it runs (its process's life);
    # the tests drop their clients without closing it.
    warnings.filterwarnings("ignore", "unclosed <socket", ResourceWarning)

SERVICES = [
    {"name": "bench-gate-app-http@kubernetes", "loadBalancer": {"servers": [
        {"url": "http://10.0.0.11:8080"}, {"url": "http://10.0.0.12:8080", "fenced": True}]}},
    {"name": "other-app-http@kubernetes", "loadBalancer": {"servers": [{"url": "http://10.0.0.99:8080"}]}},
]


class FakeTraefik:
    """Answers GET /api/http/services like Traefik (filtered by ?search=, case-insensitive), or
    with 500 while failing is set; counts requests and TCP connections."""

    def __init__(self):
        self.queries, self.connections, self.failing = [], 0, False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                outer.connections += 1
                super().setup()

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                outer.queries.append((u.path, q))
                if outer.failing:
                    body, status = b"boom", 500
                else:
                    search = q.get("search", [""])[0].lower()
                    body, status = json.dumps([s for s in SERVICES if search in s["name"].lower()]).encode(), 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sampler(unittest.TestCase):
    def setUp(self):
        self.traefik = FakeTraefik()
        self.addCleanup(self.traefik.close)

    def sample(self, seconds, interval=0.02, during=None):
        out, t0 = io.StringIO(), time.monotonic()
        client = sampler.Client(self.traefik.url, "bench-gate-app-", timeout=2.0)

        def stop():
            if during:
                during(time.monotonic() - t0)
            return time.monotonic() - t0 >= seconds
        samples = sampler.run(client, interval, out, stop)
        return samples, out.getvalue().splitlines()

    def test_asks_only_for_the_app_over_one_connection(self):
        samples, lines = self.sample(0.5)
        self.assertGreaterEqual(len(samples), 5)
        self.assertEqual(self.traefik.connections, 1, "one keep-alive connection for every sample")
        path, query = self.traefik.queries[0]
        self.assertEqual((path, query["search"], query["per_page"]), ("/api/http/services", ["bench-gate-app-"], ["1000"]))
        # the fenced server and the other app's are not listed
        self.assertEqual({tuple(s.servers) for s in samples}, {("http://10.0.0.11:8080",)})
        self.assertTrue(lines[0].startswith("# traefik_sampler:"), lines[0])
        self.assertTrue(lines[-1].startswith("# stopped: %d samples answered, 0 failed" % len(samples)), lines[-1])
        # the record reads back as the samples taken
        back = sampler.read_samples(lines)
        self.assertEqual([(s.wall, s.mono, s.servers) for s in back], [(s.wall, s.mono, s.servers) for s in samples])

    def test_keeps_its_schedule_without_bursts(self):
        samples, _ = self.sample(1.0, interval=0.05)
        gaps = [b.mono - a.mono for a, b in zip(samples, samples[1:])]
        # 20 Hz for 1 s: about 20 samples, never two at once to catch up after a late one
        self.assertLessEqual(len(samples), 22)
        self.assertGreaterEqual(len(samples), 10)
        # A sample that starts late (its own overrun, or a wake-up the loaded machine delayed) is
        # followed at once by the next, by design: a short gap only right after a long one, and
        # never two short ones in a row (that would be a burst to catch up).
        for i, g in enumerate(gaps):
            if g <= 0.02:
                self.assertTrue(i > 0 and gaps[i - 1] > 0.05 and (i + 1 == len(gaps) or gaps[i + 1] > 0.02), gaps)

    def test_no_answer_is_a_gap_not_an_empty_list(self):
        def fail_between(t):
            self.traefik.failing = 0.2 <= t < 0.4
        samples, lines = self.sample(0.7, during=fail_between)
        failed = [s for s in samples if s.error]
        self.assertTrue(failed, "some samples fell in the failing window")
        self.assertTrue(all(s.servers == [] and s.error == "HTTP 500" for s in failed))
        self.assertTrue(samples[-1].error is None and samples[-1].servers, "recovers after the failures")
        self.assertIn(" ! HTTP 500", "\n".join(lines))
        back = sampler.read_samples(lines)
        self.assertEqual(sum(1 for s in back if s.error), len(failed))
        # a failed sample does not say the pod is gone
        self.assertFalse(any(s.lists("//10.0.0.11:") for s in failed))
        st = sampler.stats(back)
        self.assertEqual((st["samples"], st["failedSamples"]), (len(samples) - len(failed), len(failed)))
        self.assertGreaterEqual(st["intervalMsMax"], 150, "the failing window is one gap between answered samples")

    def test_several_replicas_are_one_union_and_one_silent_replica_is_a_gap(self):
        second = FakeTraefik()
        self.addCleanup(second.close)
        both = sampler.Replicas([sampler.Client(self.traefik.url, "bench-gate-app-", 2.0),
                                 sampler.Client(second.url, "bench-gate-app-", 2.0)])
        self.assertEqual(both.servers(), ["http://10.0.0.11:8080"])
        second.failing = True
        out = io.StringIO()
        samples = sampler.run(both, 0.02, out, lambda: len(out.getvalue().splitlines()) > 3)
        self.assertTrue(samples and all(x.error for x in samples), "a replica that does not answer makes a gap")

    def test_once_and_bad_arguments(self):
        out = io.StringIO()
        sys.stdout, saved = out, sys.stdout
        try:
            self.assertEqual(sampler.main(["--api", self.traefik.url, "--prefix", "bench-gate-app-", "--once"]), 0)
        finally:
            sys.stdout = saved
        self.assertEqual(out.getvalue(), "http://10.0.0.11:8080\n")
        err = io.StringIO()
        sys.stderr, saved = err, sys.stderr
        try:
            with self.assertRaises(SystemExit):
                sampler.main(["--api", self.traefik.url, "--prefix", "x", "--interval-ms", "0"])
        finally:
            sys.stderr = saved
        self.assertIn("--interval-ms must be positive, got 0", err.getvalue())


class Record(unittest.TestCase):
    """The record's two line formats, and what the analysis makes of the samples."""

    def test_formats(self):
        new = sampler.parse_line("1796000010950 4010957 3 http://10.0.0.11:8080 http://10.0.0.12:8080\n")
        self.assertEqual((new.wall, new.mono, new.took, new.error), (1796000010.95, 4010.957, 0.003, None))
        self.assertTrue(new.lists("//10.0.0.12:"))
        failed = sampler.parse_line("1796000011000 4011007 2000 ! timed out")
        self.assertEqual((failed.servers, failed.error), ([], "timed out"))
        old = sampler.parse_line("1796000011000 http://10.0.0.12:8080 ")
        self.assertEqual((old.wall, old.mono, old.servers), (1796000011.0, None, ["http://10.0.0.12:8080"]))
        empty_old = sampler.parse_line("1796000011000 ")
        self.assertEqual((empty_old.servers, empty_old.error), ([], None))
        self.assertIsNone(sampler.parse_line("# a comment"))
        self.assertIsNone(sampler.parse_line("\n"))

    def test_stats(self):
        lines = ["%d %d 1 http://a:1" % (1796000000000 + t, t) for t in (0, 50, 100, 150, 400, 450)]
        st = sampler.stats(sampler.read_samples(lines + ["1796000000500 500 1 ! refused"]))
        self.assertEqual(st, {"samples": 6, "failedSamples": 1, "clock": "monotonic", "intervalMsMedian": 50,
                              "intervalMsP99": 250, "intervalMsMax": 250})

    def test_routing_around_a_removal(self):
        base = 1796000000000
        lines = ["%d %d 2 http://10.0.0.11:8080" % (base + t, t) for t in (0, 50, 100)] + \
            ["%d %d 2000 ! timed out" % (base + 150, 150)] + \
            ["%d %d 2 http://10.0.0.12:8080" % (base + t, t) for t in (2150, 2200)]
        seen = rollout.routing(sampler.read_samples(lines), "10.0.0.11", stop_at=base / 1000.0)
        # dropped between the last listing (0.1 s) and the next answered sample (2.15 s + 2 ms):
        # the failed sample at 0.15 s shows nothing
        self.assertAlmostEqual(seen.pop("unlistedBy"), (base + 2152) / 1000.0, places=6)
        self.assertEqual(seen, {"lastListedAt": (base + 100) / 1000.0, "unlistedAt": (base + 2150) / 1000.0,
                                "gapMs": 2052, "removedAt": (base + 2150) / 1000.0})

    def test_release_verdict(self):
        v = rollout.release_verdict
        self.assertEqual(v(None, 10.0, 10.1), "unknown")
        self.assertEqual(v(11.0, None, None), "unknown")
        self.assertEqual(v(9.99, 10.0, 10.05), "early")
        self.assertEqual(v(10.0, 10.0, 10.05), "ok", "at the last listing sample's stamp is not before it")
        self.assertEqual(v(10.02, 10.0, 10.25), "ok", "inside a 250 ms window")
        self.assertEqual(v(10.02, 10.0, 10.26), "unresolved", "inside a 260 ms window")
        self.assertEqual(v(10.3, 10.0, 10.26), "ok", "after the drop was seen, whatever the window")
        self.assertEqual(v(10.3, 10.0, None), "unresolved", "still listed when the recording ended")

    def test_runtime_stamps(self):
        at, rest = rollout.runtime_stamp("2026-11-30T00:53:34.150000412Z zdt-drain: pod=a outcome=Released")
        self.assertAlmostEqual(at, 1796000014.150000412, places=6)
        self.assertEqual(rest, "zdt-drain: pod=a outcome=Released")
        at, rest = rollout.runtime_stamp("2026-11-30T00:53:34.200300412Z 2026-11-30T00:53:34.200Z event=sigterm")
        self.assertEqual(rest, "2026-11-30T00:53:34.200Z event=sigterm")
        # a log recorded without --timestamps: the app's own timestamp stays the line's
        line = "2026-11-30T00:53:34.200Z event=sigterm pod=a"
        self.assertEqual(rollout.runtime_stamp(line), (None, line))
        self.assertEqual(rollout.runtime_stamp("zdt-drain: pod=a outcome=Released"), (None, "zdt-drain: pod=a outcome=Released"))


if __name__ == "__main__":
    unittest.main()
