"""The timing records behind the README's two-command table (e2e/timings.py)."""
import json
import os
import tempfile
import unittest

from e2e import timings


def record(command="make test", state="cold", passed=True, dirty=False, seconds=1500, commit="abc123def456"):
    return {"command": command, "commit": commit, "uncommittedChanges": dirty, "startedAt": "2026-12-07T07:00:00Z",
            "seconds": seconds, "passed": passed, "state": state, "cpus": 2,
            "cachesAtStart": {k: state == "warm" for k in ("zdt", "maven", "goModules", "goBuild")},
            "steps": [{"name": "packages and binaries", "seconds": seconds - 100, "ok": passed},
                      {"name": "tests", "seconds": 100, "ok": True}]}


class TimingsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.committed = os.path.join(self.dir, "timings.json")

    def add(self, rec):
        path = os.path.join(self.dir, "run.json")
        with open(path, "w") as f:
            json.dump(rec, f)
        timings.add(path, self.committed)
        return timings.load(self.committed)

    def test_aRunIsColdOnlyWhenEveryCacheWasEmpty(self):
        self.assertEqual("cold", timings.classify({"zdt": False, "maven": False, "goModules": False, "goBuild": False}))
        self.assertEqual("partial", timings.classify({"zdt": False, "maven": True, "goModules": False, "goBuild": False}))
        self.assertEqual("warm", timings.classify({"zdt": True, "maven": True, "goModules": True, "goBuild": True}))

    def test_cacheStateSeesAnEmptyHomeAsCold(self):
        home = tempfile.mkdtemp()
        env = {"HOME": home, "ZDT_CACHE": os.path.join(home, "zdt")}
        caches = timings.cache_state(env)["caches"]
        self.assertFalse(caches["zdt"])
        self.assertFalse(caches["maven"])
        os.makedirs(os.path.join(home, "zdt", "bin"))
        os.makedirs(os.path.join(home, ".m2", "repository", "io", "quarkus"))
        caches = timings.cache_state(env)["caches"]
        self.assertTrue(caches["zdt"])
        self.assertTrue(caches["maven"])

    def test_theNewestRunOfEachCommandAndStateIsKept(self):
        self.add(record(seconds=1600))
        self.add(record(state="warm", seconds=900))
        recs = self.add(record(seconds=1500, commit="fedcba987654"))
        self.assertEqual([("make test", "cold", 1500), ("make test", "warm", 900)],
                         [(r["command"], r["state"], r["seconds"]) for r in recs])

    def test_aPartialFailedOrUncommittedRunIsRefused(self):
        for rec, why in ((record(state="partial"), "neither cold nor warm"), (record(passed=False), "failed"),
                         (record(dirty=True), "uncommitted")):
            with self.subTest(why=why):
                with self.assertRaises(SystemExit) as e:
                    self.add(rec)
                self.assertIn(why, str(e.exception))
        self.assertEqual([], timings.load(self.committed))

    def test_theTableShowsEveryCommandAndSaysWhatWasNotMeasured(self):
        text = timings.table([record(seconds=1509), record(command="make demo", state="warm", seconds=480)])
        self.assertIn("| `make test` | **25.1 min** (1509 s, commit `abc123def456`, 2026-12-07) | not measured |", text)
        self.assertIn("| `make demo` | not measured | **8.0 min** (480 s", text)
        self.assertIn("- `make test`, cold: packages and binaries 1409; tests 100", text)

    def test_writeReadsTheStepsAndTheCacheState(self):
        steps = os.path.join(self.dir, "steps.tsv")
        with open(steps, "w") as f:
            f.write("cluster up\t9\t1\nproof\t200\t0\n")
        out = os.path.join(self.dir, "out", "rec.json")
        rec = timings.write("make demo", {"caches": {"zdt": True}, "state": "warm"}, steps, out, 0)
        self.assertEqual([("cluster up", 9, True), ("proof", 200, False)], [(s["name"], s["seconds"], s["ok"]) for s in rec["steps"]])
        self.assertFalse(rec["passed"])
        with open(out) as f:
            self.assertEqual(rec, json.load(f))


if __name__ == "__main__":
    unittest.main()
