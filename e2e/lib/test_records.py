"""The shared record readers (e2e/lib/records.py): plain and compressed files read alike, JSON lines
and watch streams, RFC 3339 timestamps, nearest-rank percentiles; bad input named, never guessed."""
import gzip
import json
import os
import tempfile
import unittest
from datetime import datetime, timezone

from e2e.lib import records


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, compressed=False):
        with (gzip.open(self.path(name) + ".gz", "wt") if compressed else open(self.path(name), "w")) as f:
            f.write(text)

    def test_plain_and_compressed_read_alike(self):
        self.write("a.txt", "one\ntwo\n")
        self.write("b.txt", "one\ntwo\n", compressed=True)
        for name in ("a.txt", "b.txt"):
            self.assertTrue(records.exists(self.path(name)))
            with records.open_text(self.path(name)) as f:
                self.assertEqual(f.read(), "one\ntwo\n", name)
        self.assertEqual(records.recorded(self.path("b.txt")), self.path("b.txt") + ".gz")

    def test_the_plain_file_wins_over_its_compressed_copy(self):
        self.write("a.txt", "plain\n")
        self.write("a.txt", "compressed\n", compressed=True)
        with records.open_text(self.path("a.txt")) as f:
            self.assertEqual(f.read(), "plain\n")

    def test_a_missing_record_is_named(self):
        self.assertFalse(records.exists(self.path("none.txt")))
        self.assertIsNone(records.recorded(self.path("none.txt")))
        with self.assertRaisesRegex(FileNotFoundError, "none.txt.*none.txt.gz"):
            records.open_text(self.path("none.txt"))
        self.assertEqual(records.read_json(self.path("none.json"), {"d": 1}), {"d": 1})
        self.assertIsNone(records.read_json(self.path("none.json")))
        with self.assertRaisesRegex(FileNotFoundError, "none.json"):
            records.read_json(self.path("none.json"), required=True)
        self.assertEqual(records.jsonl(self.path("none.jsonl")), [])
        self.assertEqual(records.json_stream(self.path("none.json")), [])

    def test_a_cut_multibyte_character_is_replaced_when_asked(self):
        with gzip.open(self.path("x.log") + ".gz", "wb") as f:
            f.write("caf\u00e9\n".encode()[:-2] + b"\n")
        with records.open_text(self.path("x.log"), errors="replace") as f:
            self.assertEqual(f.read(), "caf\ufffd\n")
        with self.assertRaises(UnicodeDecodeError), records.open_text(self.path("x.log")) as f:
            f.read()

    def test_json_and_json_lines_plain_or_compressed(self):
        self.write("m.json", '{"a": 1}', compressed=True)
        self.assertEqual(records.read_json(self.path("m.json")), {"a": 1})
        self.write("r.jsonl", '{"k": 1}\n\n{"k": 2}\n', compressed=True)
        self.assertEqual(records.jsonl(self.path("r.jsonl")), [{"k": 1}, {"k": 2}])

    def test_bad_json_names_the_file_and_line(self):
        self.write("bad.json", "{not json")
        with self.assertRaisesRegex(ValueError, "bad.json: not JSON"):
            records.read_json(self.path("bad.json"))
        self.write("bad.jsonl", '{"k": 1}\n{"k": \n')
        with self.assertRaisesRegex(ValueError, r"bad.jsonl:2: not JSON"):
            records.jsonl(self.path("bad.jsonl"))

    def test_a_watch_stream_cut_mid_object_goes_on_at_the_next_one(self):
        pod = {"metadata": {"name": "p"}}
        text = (json.dumps({"type": "ADDED", "object": pod}) + "\n" + '{"type": "MODIFIED", "obj'
                + "\n" + json.dumps(pod) + "\n")
        self.write("pods.json", text, compressed=True)
        self.assertEqual(records.json_stream(self.path("pods.json")), [{"type": "ADDED", "object": pod}, pod])
        self.assertEqual(list(records.watched_objects(self.path("pods.json"))), [("ADDED", pod), (None, pod)])


class Epoch(unittest.TestCase):
    T = datetime(2026, 12, 2, 4, 12, 20, tzinfo=timezone.utc).timestamp()

    def test_the_forms_the_runs_record(self):
        for text, want in (("2026-12-02T04:12:20Z", self.T),                        # Kubernetes
                           ("2026-12-02T04:12:20.285Z", self.T + 0.285),            # the demo app
                           ("2026-12-02T04:12:20.307017236Z", self.T + 0.307017236),  # the runtime
                           ("2026-12-02T04:12:20.123+0000", self.T + 0.123),        # the operator's log
                           ("2026-12-02T06:12:20.5+02:00", self.T + 0.5),
                           ("2026-12-02T04:12:20", self.T)):                        # no offset: UTC
            self.assertAlmostEqual(records.epoch(text), want, places=6, msg=text)

    def test_nanoseconds_are_kept(self):
        self.assertLess(records.epoch("2026-12-02T04:12:20.000000001Z") - self.T, 2e-6)
        self.assertGreater(records.epoch("2026-12-02T04:12:20.000001Z"), records.epoch("2026-12-02T04:12:20Z"))
        # as exact as the standard library where it parses the stamp
        for text in ("2026-12-02T04:12:20.285Z", "2026-12-02T04:12:20.123456Z"):
            self.assertEqual(records.epoch(text), datetime.fromisoformat(text).timestamp(), text)

    def test_bad_timestamps_are_refused_by_name(self):
        for bad in ("", "2026-12-02", "12:00:00", "2026-13-02T04:12:20Z", "2026-12-02T25:00:00Z",
                    "2026-12-02T04:12:20+25:00", "2026-12-02T04:12:20ZZ", "2026-12-02T04:12:20 DEBUG",
                    "yesterday", None, 1796184740):
            with self.assertRaisesRegex(ValueError, "not an RFC 3339 timestamp", msg=repr(bad)):
                records.epoch(bad)


class Percentile(unittest.TestCase):
    def test_nearest_rank(self):
        self.assertEqual(records.percentile(list(range(1, 101)), 99), 99)
        self.assertEqual(records.percentile(list(range(1, 101)), 100), 100)
        self.assertEqual(records.percentile([4, 1, 3, 2], 50), 2)
        self.assertEqual(records.percentile([4, 1, 3, 2], 51), 3)
        self.assertEqual(records.percentile([1, 2, 3], 1), 1)

    def test_edges(self):
        self.assertIsNone(records.percentile([], 50))
        self.assertEqual(records.percentile([7], 99), 7)
        self.assertEqual(records.percentile([7], 1), 7)
        self.assertEqual(records.percentile(iter([3, 1, 2]), 100), 3)
        # exact: 7% of 100 values is the 7th, not the 8th (7 / 100 * 100 is over 7 as a float)
        self.assertEqual(records.percentile(list(range(1, 101)), 7), 7)
        self.assertEqual(records.percentile(list(range(1, 1001)), 99.9), 999)
        for bad in (0, -1, 100.5):
            with self.assertRaisesRegex(ValueError, "percentile"):
                records.percentile([1, 2], bad)


if __name__ == "__main__":
    unittest.main()
