"""Every drill criterion can fail, and a fixture proves it (python3 -m unittest discover -s e2e).

Each case under testdata/ is a small recorded run (see testdata/README.md) with the criteria it must
fail; the test runs the analysis on it and compares the failed criteria, by id, with that list.
"""
import contextlib
import io
import json
import os
import re
import shutil
import tempfile
import unittest

from e2e.drills import analyze as drills
from e2e.lib import fixtures, records

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")

# The criteria every drill has, shown failing once (testdata/generic/, on the common run).
GENERIC = {"no-leaked-hold", "rollout-completed", "load-ran", "per-pod-evidence", "no-orphaned-wait", "sampling"}
COMMON = os.path.join(DATA, "common")


def drill_dirs():
    return sorted(d for d in os.listdir(DATA) if os.path.isdir(os.path.join(DATA, d)) and d not in ("common", "generic"))


def cases():
    """(name, layers): the common run, generic/<case>, and per drill pass and <drill>/<case>."""
    out = [("common", [COMMON])]
    for c in sorted(os.listdir(os.path.join(DATA, "generic"))):
        out.append(("generic/" + c, [COMMON, os.path.join(DATA, "generic", c)]))
    for d in drill_dirs():
        base = [COMMON, os.path.join(DATA, d, "pass")]
        out.append((d + "/pass", base))
        for c in sorted(os.listdir(os.path.join(DATA, d))):
            if c != "pass":
                out.append((d + "/" + c, base + [os.path.join(DATA, d, c)]))
    return out


def analyse(layers):
    """The fixture's spec and the drill record with its criteria."""
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        spec = fixtures.compose(layers, run)
        r, meta, drains = drills.analyze(run)
        drills.check(r, meta, drains, run)
    return spec, r


def failed_ids(r):
    return sorted(c["id"] for c in r["criteria"] if not c["passed"] and not c["informational"])


class DrillCriteria(unittest.TestCase):
    """One test per fixture: exactly the criteria it names fail, and the drill passes iff none."""

    def check_case(self, name, layers):
        spec, r = analyse(layers)
        drill = name.split("/")[0]
        if drill not in ("common", "generic"):
            self.assertEqual(r["name"], drill, "the fixture must be a run of the drill its directory names")
        report = "\n".join("%s %s: %s" % ("ok  " if c["passed"] else "FAIL", c["id"], c["criterion"]) for c in r["criteria"])
        self.assertEqual(failed_ids(r), sorted(spec["fails"]), "%s (%s)\n%s" % (name, spec.get("why"), report))
        self.assertEqual(r["passed"], not spec["fails"])
        self.assertTrue(spec.get("why"), "every fixture says what it stands for")


fixtures.add_case_tests(DrillCriteria, cases())


class EveryCriterionCanFail(unittest.TestCase):
    def test_every_drill_of_run_sh_has_fixtures(self):
        all_drills = re.search(r'^ALL="([^"]+)"', fixtures.text(os.path.join(HERE, "run.sh")), re.M).group(1).split(",")
        self.assertEqual(sorted(all_drills), drill_dirs())

    def test_every_criterion_has_a_failing_fixture(self):
        generic_fails = set()
        for name, layers in cases():
            if name.startswith("generic/"):
                generic_fails |= set(fixtures.spec(layers[-1])["fails"])
        self.assertEqual(GENERIC - generic_fails, set(), "generic criteria without a failing fixture")
        for d in drill_dirs():
            _, r = analyse([COMMON, os.path.join(DATA, d, "pass")])
            ids = {c["id"] for c in r["criteria"] if not c["informational"]}
            self.assertTrue(GENERIC <= ids | {"no-orphaned-wait"}, d)
            fails = set()
            for c in os.listdir(os.path.join(DATA, d)):
                fails |= set(fixtures.spec(os.path.join(DATA, d, c)).get("fails", []))
            self.assertEqual(ids - GENERIC - fails, set(), "%s: criteria without a failing fixture" % d)


class EveryPodCriterionJudgesAPod(unittest.TestCase):
    """The criteria over the stopped pods judge at least one or fail saying they judged none; a hold
    that reached its bound is still judged against Traefik's samples (an early end allowed and said)."""

    HELD = [COMMON, os.path.join(DATA, "operator-restart-draining", "pass"),
            os.path.join(DATA, "operator-restart-draining", "held-to-bound")]

    def criteria(self, r, meta):
        return {c["id"]: c for c in drills.criteria(r, meta)}

    def record(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = os.path.join(tmp, "run")
            fixtures.compose(self.HELD, run)
            r, meta, _ = drills.analyze(run)
        return r, meta

    def test_holds_at_their_bound_are_judged_against_the_samples(self):
        r, meta = self.record()
        self.assertTrue(all(p["sigtermAfterDeletionS"] >= 15 for p in r["pods"]), r["pods"])
        c = self.criteria(r, meta)
        for cid in ("no-early-release", "release-resolved"):
            self.assertTrue(c[cid]["passed"], c[cid]["criterion"])
            self.assertIn("3 of 3 served pods judged against Traefik's samples", c[cid]["criterion"])

    def test_an_early_end_at_the_bound_is_allowed_and_said_before_it_is_not(self):
        r, meta = self.record()
        a = r["pods"][0]
        a["traefikLastListedAfterDeletionMs"] = a["releaseAfterDeletionMs"] + 500
        a["traefikUnlistedByAfterDeletionMs"] = a["releaseAfterDeletionMs"] + 550
        c = self.criteria(r, meta)
        self.assertTrue(c["no-early-release"]["passed"], c["no-early-release"]["criterion"])
        self.assertIn("its bound had passed: allowed", c["no-early-release"]["criterion"])
        a["sigtermAfterDeletionS"] = 10.0
        self.assertFalse(self.criteria(r, meta)["no-early-release"]["passed"])

    def test_no_pod_judged_fails_saying_so(self):
        r, meta = self.record()
        for pods, why in (([], "0 stopped"), ([dict(p, wasReady=False) for p in r["pods"]], "3 stopped, 0 had served"),
                          ([{k: v for k, v in p.items() if k != "traefikLastListedAfterDeletionMs"} for p in r["pods"]],
                           "not judged: ")):
            c = self.criteria(dict(r, pods=pods), meta)
            for cid in ("no-early-release", "release-resolved"):
                self.assertFalse(c[cid]["passed"], c[cid]["criterion"])
                self.assertIn("judged no pod against Traefik's samples", c[cid]["criterion"])
                self.assertIn(why, c[cid]["criterion"])
        c = self.criteria(dict(r, pods=[]), meta)
        self.assertFalse(c["no-orphaned-wait"]["passed"])
        self.assertIn("judged no pod", c["no-orphaned-wait"]["criterion"])


class CommandLine(unittest.TestCase):
    """analyze.py as run.sh runs it: drill.json per run, drills.json and drills.md, exit status."""

    def run_drills(self, tmp, cases_by_name, *extra):
        runs, out = os.path.join(tmp, "runs"), os.path.join(tmp, "out")
        for drill, layers in cases_by_name.items():
            fixtures.compose(layers, os.path.join(runs, drill))
        p = fixtures.run_module("e2e.drills.analyze", "--runs", runs, "--out", out, "--drills", ",".join(cases_by_name),
                                *extra)
        return p, runs, out

    def test_pass_and_fail_with_the_same_outputs(self):
        good = [COMMON, os.path.join(DATA, "apiserver-restart", "pass")]
        bad = [COMMON, os.path.join(DATA, "eviction", "pass"), os.path.join(DATA, "eviction", "evicted-gated-same-pod-twice")]
        with tempfile.TemporaryDirectory() as tmp:
            p, runs, out = self.run_drills(tmp, {"apiserver-restart": good})
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p, runs, out = self.run_drills(tmp, {"eviction": bad})
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("FAIL every evicted pod passed the gate", p.stdout)
            results = records.read_json(os.path.join(out, "drills.json"), required=True)
            # drills.json keeps its fields (README's table is made from drills.md, built from them)
            self.assertEqual([r["name"] for r in results], ["apiserver-restart", "eviction"])
            for r in results:
                self.assertEqual(set(r), {"name", "requests", "failed", "failedByKind", "rolloutCompleted", "rolloutSeconds",
                                          "passed", "finding", "servingPodReadinessFlaps", "loadAverageBefore", "loadAverageAfter",
                                          "traefikSampling"})
            self.assertEqual([r["passed"] for r in results], [True, False])
            md = fixtures.text(os.path.join(out, "drills.md"))
            self.assertIn("| drill | requests | failed | rollout completed | passed | finding |", md)
            self.assertIn("| eviction | 44 | **0** | yes, 12.6 s | **no** | FAILED: every evicted pod passed the gate", md)
            record = records.read_json(os.path.join(runs, "eviction", "drill.json"), required=True)
            self.assertEqual(failed_ids(record), ["evicted-gated"])

    def test_recheck_from_committed_files(self):
        """--recheck decides from what is committed (drill.json, meta, summary, zdt.json) as the full analysis did."""
        with tempfile.TemporaryDirectory() as tmp:
            layers = {"traefik-api-down": [COMMON, os.path.join(DATA, "traefik-api-down", "pass"),
                                           os.path.join(DATA, "traefik-api-down", "all-timeout-same-pod-twice")],
                      "operator-down-exec": [COMMON, os.path.join(DATA, "operator-down-exec", "pass"),
                                             os.path.join(DATA, "operator-down-exec", "deleted-pod-no-failed")],
                      "leader-delete": [COMMON, os.path.join(DATA, "leader-delete", "pass")]}
            p, runs, out = self.run_drills(tmp, layers)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            for drill in layers:  # what .gitignore keeps out of the repository
                for f in ("requests.csv", "pods.json", "logs"):
                    path = os.path.join(runs, drill, f)
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            with contextlib.redirect_stdout(io.StringIO()):
                for drill in layers:
                    full = records.read_json(os.path.join(runs, drill, "drill.json"), required=True)
                    r, meta, drains = drills.recorded(os.path.join(runs, drill))
                    drills.check(r, meta, drains)
                    self.assertEqual(r["criteria"], full["criteria"], drill)
            p = fixtures.run_module("e2e.drills.analyze", "--recheck", "--runs", runs, "--drills", ",".join(layers))
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("1 passed, 2 failed", p.stdout)
            self.assertEqual(sorted(os.listdir(out)), ["drills.json", "drills.md"], "--recheck writes nothing")


if __name__ == "__main__":
    unittest.main()
