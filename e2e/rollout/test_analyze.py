"""Every rollout criterion can fail, and a fixture proves it (python3 -m unittest discover -s e2e).

testdata/pass/ is a small recorded benchmark run (plain, sleep30, gate, sleep5, gate-restricted; see
testdata/README.md); every other directory under testdata/ changes it so that the criteria it
names, and only those, fail.
"""
import contextlib
import io
import json
import os
import tempfile
import unittest

from e2e.lib import fixtures, records
from e2e.rollout import analyze as rollout
from e2e.rollout import envoy_sampler
from e2e.rollout import traefik_sampler as sampler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")
PASS = os.path.join(DATA, "pass")


def cases():
    out = [("pass", [PASS])]
    for c in sorted(os.listdir(DATA)):
        if c != "pass" and os.path.isdir(os.path.join(DATA, c)):
            out.append((c, [PASS, os.path.join(DATA, c)]))
    return out


def analyse(layers):
    """The fixture's spec, and the failed criteria's ids and texts, as main() checks them."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = os.path.join(tmp, "runs")
        spec = fixtures.compose(layers, runs)
        results, per_pod = [], {}
        for name in sorted(os.listdir(runs)):
            result, stopped, pods, drains = rollout.analyze(os.path.join(runs, name))
            results.append(result)
            per_pod[name] = {"stopped": stopped, "lastDrains": drains}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            failures = rollout.check(results, "full", per_pod)
    return spec, failures, printed.getvalue()


class RolloutCriteria(unittest.TestCase):
    """One test per fixture: exactly the criteria it names fail."""

    def check_case(self, name, layers):
        spec, failures, printed = analyse(layers)
        self.assertEqual(sorted(f["id"] for f in failures), sorted(spec["fails"]),
                         "%s (%s)\n%s" % (name, spec.get("why"), printed))
        self.assertTrue(spec.get("why"), "every fixture says what it stands for")


fixtures.add_case_tests(RolloutCriteria, cases())


class EveryCriterionCanFail(unittest.TestCase):
    def test_every_criterion_has_a_failing_fixture(self):
        _, failures, printed = analyse([PASS])
        self.assertEqual(failures, [])
        # the criteria check() applies to the passing run: one line each
        kinds = {line for line in printed.splitlines() if line.startswith("PASS  ")}
        self.assertEqual(len(kinds), 77, printed)
        failing = {f.split(":")[1] for _, layers in cases() for f in fixtures.spec(layers[-1]).get("fails", [])}
        self.assertEqual(failing, {"load-ran", "no-failed", "per-pod-evidence", "hold-ends", "shows-problem",
                                   "too-short", "faster-than-sleep30", "helper-drained",
                                   "drains-named-once", "own-prestop-kept", "no-shell", "sampling",
                                   "no-early-release", "release-resolved", "injected", "holds-verified",
                                   "min-ready-stated", "plain-after-delete", "slower-named", "both-halves",
                                   "calibrated", "slower-cleared", "streams-moved", "streams-no-abnormal",
                                   "streams-no-lost", "streams-reconnect-elsewhere", "keepalive-no-failed",
                                   "streams-show-problem"})


class DrainsNamedOnce(unittest.TestCase):
    """What the fixtures (3 stopped pods) cannot show: the bound of lastDrains, and sleep mode."""

    def failed(self, kind, mode, stopped, drains, recorded=True):
        r = {"name": "x", "kind": kind, "mode": mode, "lastDrainsRecorded": recorded, "releasedBy": {}}
        per_pod = {"x": {"stopped": [{"pod": p, "wasReady": True} for p in stopped],
                         "lastDrains": [{"pod": p} for p in drains]}}
        with contextlib.redirect_stdout(io.StringIO()):
            return [f["id"] for f in rollout.check([r], "full", per_pod) if f["id"].endswith(":drains-named-once")]

    def test_only_the_newest_ten_are_required(self):
        pods = ["p%02d" % i for i in range(12)]
        self.assertEqual(self.failed("zdt", "gate", pods, pods[2:]), [])
        self.assertEqual(self.failed("zdt", "gate", pods, pods[3:]), ["x:drains-named-once"])
        self.assertEqual(self.failed("zdt", "gate", pods, pods[2:11] + ["p11", "p11"]), ["x:drains-named-once"])

    def test_sleep_mode_asks_no_gate(self):
        self.assertEqual(self.failed("zdt", "sleep", ["a", "b"], []), [])
        self.assertEqual(self.failed("deploy", "", ["a", "b"], [], recorded=False), [])
        self.assertEqual(self.failed("zdt", "gate", ["a", "b"], [], recorded=False), ["x:drains-named-once"])


class StatefulSetNames(unittest.TestCase):
    """A StatefulSet's replacement pod takes the old one's name: the two are told apart by UID, the old
    one keeping the name its log file has, so its IP and termination are not overwritten."""

    def test_replacement_gets_its_own_key(self):
        with tempfile.TemporaryDirectory() as run:
            events = [
                {"type": "ADDED", "object": {"metadata": {"name": "app-0", "uid": "old"}, "status": {"podIP": "10.0.0.1"}}},
                {"type": "MODIFIED", "object": {"metadata": {"name": "app-0", "uid": "old", "deletionTimestamp":
                                                             "2026-11-30T00:53:40Z", "deletionGracePeriodSeconds": 30},
                                                "status": {"podIP": "10.0.0.1"}}},
                {"type": "ADDED", "object": {"metadata": {"name": "app-0", "uid": "new"}, "status": {"podIP": "10.0.0.9"}}},
            ]
            with open(os.path.join(run, "pods.json"), "w") as f:
                f.write("\n".join(json.dumps(e) for e in events))
            pods = rollout.pod_timeline(run)
        self.assertEqual(sorted(pods), ["app-0", "app-0#2"])
        self.assertEqual(pods["app-0"]["ip"], "10.0.0.1")
        self.assertIn("stopAt", pods["app-0"])
        self.assertEqual(pods["app-0#2"]["ip"], "10.0.0.9")
        self.assertNotIn("stopAt", pods["app-0#2"])


class CommandLine(unittest.TestCase):
    """analyze.py as bench.sh runs it: rollout.json and rollout.md in --out, exit 1 when a criterion fails."""

    def bench(self, tmp, layers, mode="full"):
        runs, out = os.path.join(tmp, "runs"), os.path.join(tmp, "out")
        os.makedirs(out, exist_ok=True)
        fixtures.compose(layers, runs)
        p = fixtures.run_module("e2e.rollout.analyze", "--runs", runs, "--out", out, "--mode", mode,
                                "--scenarios", "plain,sleep30,gate,sleep5,gate-restricted")
        return p, out

    def test_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            p, out = self.bench(tmp, [PASS])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("28 passed, 0 failed", p.stdout)
            results = records.read_json(os.path.join(out, "rollout.json"), required=True)
            self.assertEqual([r["name"] for r in results], ["plain", "sleep30", "gate", "sleep5", "gate-restricted"])
            for r in results:  # the fields rollout.md and the README's table are made from, and the load
                self.assertLessEqual({"name", "title", "change", "requests", "failed", "failedByKind", "rolloutSeconds",
                                      "deploymentCompleteSeconds", "holdSecondsMean", "holdSecondsMax",
                                      "propagationSecondsObserved", "propagationSecondsObservedMax", "releasedBy",
                                      "throttleSeconds", "rate", "load"}, set(r))
            md = fixtures.text(os.path.join(out, "rollout.md")).splitlines()
            self.assertTrue(md[0].endswith(" Traefik's routing sampled every 50 ms or less (median per scenario; largest "
                                           "interval 50 ms), each served pod's removal located to within 53 ms."), md[0])
            self.assertEqual(md[2], "| scenario | change | requests | failed | failed by kind | rollout s (last old pod exited) "
                             "| Deployment complete s | hold s mean / max | Traefik propagation s mean / max | released by |")
            self.assertEqual(md[6], "| (c) ZeroDowntimeApp, gate mode | rolling update v1 -> v2 | 44 | **0** | - | 12.6 | 8.5 "
                             "| 4.2 / 4.2 | 4.0 / 4.0 | Verified 3 |")
            # the sampling achieved and the resolution around the removals, per scenario
            self.assertEqual(results[2]["traefikSampling"], {
                "samples": 540, "failedSamples": 0, "clock": "monotonic", "intervalMsMedian": 50, "intervalMsP99": 50,
                "intervalMsMax": 50, "resolutionMsMax": 53, "resolutionBoundMs": 250})
            # what bench.sh records about the namespace and the template: copied, null when absent
            by = {r["name"]: r for r in results}
            self.assertEqual([by["gate"][k] for k in ("podSecurity", "image", "ownPreStop")], [None, None, None])
            self.assertEqual([by["gate-restricted"][k] for k in ("podSecurity", "image", "ownPreStop")],
                             ["restricted", "localhost/demo-app-noshell:dev", True])
            self.assertEqual(md[8], "| zdt gate, restricted namespace, image without a shell, own preStop kept "
                             "[Pod Security: restricted] | rolling update v1 -> v2 | 44 | **0** | - | 12.6 | 8.5 "
                             "| 4.2 / 4.2 | 4.0 / 4.0 | Verified 3 |")
            # per stopped pod, in the runs' pods.json: the helper's line, the own hook, the lines' order
            a = next(p for p in records.read_json(os.path.join(tmp, "runs", "pods.json"), required=True)["gate-restricted"]["stopped"]
                     if p["pod"] == "app-v1-a")
            self.assertEqual({k: a["helper"][k] for k in ("outcome", "held", "hook", "hook_result")},
                             {"outcome": "Released", "held": 4.05, "hook": "httpGet", "hook_result": "200"})
            self.assertEqual(a["logLine"], {"prestop": 2, "helper": 3, "sigterm": 4})
            # its hold ended when the helper's line was stamped, less its own hook's 0.01 s; Traefik
            # listed it last at 10.95 s and had dropped it by 11.003 s (the sample's answer)
            self.assertEqual((a["releaseSource"], a["release"], a["traefikGapMs"]), ("zdt-drain line", "ok", 53))
            self.assertAlmostEqual(a["releaseAt"] - a["traefikLastListedAt"], 31.105 - 0.01 - 30.95, places=3)
            self.assertAlmostEqual(a["preStopHookAt"] - a["preStopAt"], 4.1, places=3)

    def test_fail_ci(self):
        with tempfile.TemporaryDirectory() as tmp:
            p, out = self.bench(tmp, [PASS, os.path.join(DATA, "gate-load-ran-no-minimum")], mode="ci")
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("FAIL  gate: the load ran as asked", p.stdout)
            self.assertIn("no request count asked for (meta.json minRequests 0)", p.stdout)
            self.assertTrue(os.path.exists(os.path.join(out, "rollout-ci.json")))


if __name__ == "__main__":
    unittest.main()


class CompressedRecord(unittest.TestCase):
    """The committed raw record is gzip-compressed: the analysis reads it as it reads the plain files."""

    def test_a_compressed_run_analyses_as_the_plain_one(self):
        import gzip
        import shutil
        with tempfile.TemporaryDirectory() as tmp:
            runs = os.path.join(tmp, "runs")
            fixtures.compose([PASS], runs)
            plain = rollout.analyze(os.path.join(runs, "gate"))
            compressed = 0
            for root, _, files in os.walk(os.path.join(runs, "gate")):
                for f in files:
                    if f in ("requests.csv", "pods.json", "traefik.txt") or f.endswith(".log"):
                        path = os.path.join(root, f)
                        with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        os.unlink(path)
                        compressed += 1
            self.assertGreaterEqual(compressed, 4)
            self.assertEqual(rollout.analyze(os.path.join(runs, "gate")), plain)


class TwoTraefikReplicas(unittest.TestCase):
    """gate-2traefik: half the load through each replica; failures through either count."""

    def test_the_two_load_generators_count_as_one_load_and_each_is_kept(self):
        with tempfile.TemporaryDirectory() as run:
            first = {"requests": 5000, "failed": 0, "failedByKind": {}, "startEpochMs": 1000, "durationSeconds": 42.0}
            second = {"requests": 4900, "failed": 7, "failedByKind": {"timeout": 7}, "startEpochMs": 1200,
                      "durationSeconds": 41.5}
            for name, s in (("summary.json", first), ("summary-2.json", second)):
                with open(os.path.join(run, name), "w") as f:
                    json.dump(s, f)
            merged, by_replica = rollout.merged_summary(run)
            self.assertEqual(merged["requests"], 9900)
            self.assertEqual(merged["failed"], 7)
            self.assertEqual(merged["failedByKind"], {"timeout": 7})
            self.assertEqual(merged["durationSeconds"], 41.5)
            self.assertEqual([r["failed"] for r in by_replica], [0, 7])
            os.remove(os.path.join(run, "summary-2.json"))
            alone, none = rollout.merged_summary(run)
            self.assertEqual(alone["requests"], 5000)
            self.assertIsNone(none)


class OtherFrontEnds(unittest.TestCase):
    """Scenarios through a front end other than Traefik (plain-envoy, gate-envoy): the plain one must
    fail requests, and every hold of the gate one must end Verified, never by its bound."""

    def failed(self, results):
        with contextlib.redirect_stdout(io.StringIO()):
            return sorted(f["id"] for f in rollout.check(results, "full", {})
                          if f["id"].endswith((":shows-problem", ":holds-verified")))

    @staticmethod
    def row(name, kind, mode, failed, released, recorded=True):
        return {"name": name, "kind": kind, "mode": mode, "frontEnd": "envoy", "failed": failed, "requests": 9000,
                "releasedBy": released, "lastDrainsRecorded": recorded}

    def test_plain_through_envoy_must_fail_requests(self):
        self.assertEqual(self.failed([self.row("plain-envoy", "deploy", "", 12, {})]), [])
        self.assertEqual(self.failed([self.row("plain-envoy", "deploy", "", 0, {})]), ["plain-envoy:shows-problem"])

    def test_every_gate_hold_through_envoy_is_verified(self):
        self.assertEqual(self.failed([self.row("gate-envoy", "zdt", "gate", 0, {"Verified": 3})]), [])
        self.assertEqual(self.failed([self.row("gate-envoy", "zdt", "gate", 0, {"Verified": 2, "Timeout": 1})]),
                         ["gate-envoy:holds-verified"])
        self.assertEqual(self.failed([self.row("gate-envoy", "zdt", "gate", 0, {}, recorded=False)]),
                         ["gate-envoy:holds-verified"])
        # Traefik's gate scenarios too (hold-ends allows a hold to its bound, holds-verified does not).
        traefik = dict(self.row("gate", "zdt", "gate", 0, {"Verified": 2, "Timeout": 1}), frontEnd="traefik")
        self.assertEqual(self.failed([traefik]), ["gate:holds-verified"])

    def test_the_envoy_record_is_read_as_the_traefik_one(self):
        with tempfile.TemporaryDirectory() as run:
            with open(os.path.join(run, "envoy.txt"), "w") as f:
                f.write("# envoy_sampler\n1000 5 1 http://10.244.0.7:8080\n1050 55 1 ! HTTP 503\n1100 105 1 \n")
            samples = rollout.traefik_samples(run)
        self.assertEqual([s.servers for s in samples], [["http://10.244.0.7:8080"], [], []])
        self.assertEqual([s.error for s in samples], [None, "HTTP 503", None])


class EnvoySampler(unittest.TestCase):
    """envoy_sampler.py lists the hosts Envoy balances to, from a recorded /clusters answer."""

    def test_excluded_hosts_and_other_clusters_are_left_out(self):
        path = os.path.join(HERE, "..", "..", "src", "test", "resources", "envoy", "clusters.json")
        with open(path) as f:
            clusters = json.load(f)
        self.assertEqual(envoy_sampler.balanced(clusters, "web/shop/"), ["http://10.244.0.10:8080", "http://10.244.0.13:8080",
                                                              "http://10.244.0.15:8080", "http://fd00:10:244::30:8080"])
        self.assertEqual(envoy_sampler.balanced(clusters, "web/cart/"), ["http://127.0.0.1:19901"])
        self.assertEqual(envoy_sampler.balanced({}, "web/shop/"), [])


class TraefikHoldsVerified(unittest.TestCase):
    """Traefik's gate scenarios: every drain Verified by Traefik, with two replicas each asked (the
    fixtures have one replica; gate-2traefik's message says "all 2 replicas asked")."""

    def failed(self, drains, replicas=1, recorded=True, kind="zdt", mode="gate"):
        r = {"name": "gate-2traefik", "kind": kind, "mode": mode, "failed": 0, "requests": 100, "frontEnd": "traefik",
             "frontEndReplicas": replicas, "lastDrainsRecorded": recorded,
             "releasedBy": {d["releasedBy"]: 1 for d in drains}}
        per_pod = {"gate-2traefik": {"stopped": [], "lastDrains": drains}}
        with contextlib.redirect_stdout(io.StringIO()):
            return [f["id"] for f in rollout.check([r], "full", per_pod) if f["id"].endswith(":holds-verified")]

    @staticmethod
    def drain(pod, by="Verified", asked="all 2 replicas asked"):
        return {"pod": pod, "releasedBy": by, "message": "%s (10.244.0.9) no longer routed to by Traefik (%s)" % (pod, asked)}

    def test_every_replica_asked(self):
        self.assertEqual(self.failed([self.drain("a"), self.drain("b")], replicas=2), [])
        self.assertEqual(self.failed([self.drain("a"), self.drain("b", asked="its 1 replica asked")], replicas=2),
                         ["gate-2traefik:holds-verified"])
        self.assertEqual(self.failed([self.drain("a", asked="its 1 replica asked")]), [])

    def test_a_timeout_or_no_drain_fails(self):
        timeout = {"pod": "b", "releasedBy": "Timeout", "message": "b (10.244.0.9) hold bound 25s reached"}
        self.assertEqual(self.failed([self.drain("a"), timeout], replicas=2), ["gate-2traefik:holds-verified"])
        self.assertEqual(self.failed([], replicas=2), ["gate-2traefik:holds-verified"])
        self.assertEqual(self.failed([self.drain("a")], replicas=2, recorded=False), ["gate-2traefik:holds-verified"])

    def test_a_release_verified_while_no_other_endpoint_was_ready_counts_only_when_verified(self):
        # As the gate writes it (GateDecision): verified by Traefik, labelled Bypassed for the app's availability.
        alone = {"pod": "b", "releasedBy": "Bypassed", "message": "no other ready endpoint serves the app; released "
                 "once b (10.244.0.9) no longer routed to by Traefik (all 2 replicas asked), so the app has no server "
                 "until a new pod is ready"}
        self.assertEqual(self.failed([self.drain("a"), alone], replicas=2), [])
        unverified = {"pod": "b", "releasedBy": "Bypassed", "message": "no other ready endpoint serves the app"}
        self.assertEqual(self.failed([self.drain("a"), unverified], replicas=2), ["gate-2traefik:holds-verified"])
        one_replica = dict(alone, message=alone["message"].replace("all 2 replicas asked", "its 1 replica asked"))
        self.assertEqual(self.failed([self.drain("a"), one_replica], replicas=2), ["gate-2traefik:holds-verified"])

    def test_only_gate_mode_apps(self):
        self.assertEqual(self.failed([], kind="zdt", mode="sleep"), [])
        self.assertEqual(self.failed([], kind="deploy", mode=""), [])


class HaproxyFrontEnd(unittest.TestCase):
    """plain-haproxy and gate-haproxy: the load went through HAProxy probing the pods."""

    def failed(self, name, kind, failed, drains):
        r = {"name": name, "kind": kind, "mode": "gate" if kind == "zdt" else "", "failed": failed, "requests": 100,
             "frontEnd": "haproxy", "lastDrainsRecorded": True, "releasedBy": {}}
        per_pod = {name: {"stopped": [], "lastDrains": drains}}
        with contextlib.redirect_stdout(io.StringIO()):
            return [f["id"] for f in rollout.check([r], "full", per_pod)
                    if f["id"] in (name + ":shows-problem", name + ":holds-verified")]

    def test_the_plain_deployment_must_fail_requests(self):
        self.assertEqual(self.failed("plain-haproxy", "deploy", 12, []), [])
        self.assertEqual(self.failed("plain-haproxy", "deploy", 0, []), ["plain-haproxy:shows-problem"])

    def test_every_hold_is_verified_by_haproxy(self):
        ok = {"pod": "a", "releasedBy": "Verified", "message": "a (10.244.0.9) no longer routed to by HAProxy"}
        self.assertEqual(self.failed("gate-haproxy", "zdt", 0, [ok, dict(ok, pod="b")]), [])
        timeout = {"pod": "b", "releasedBy": "Timeout", "message": "hold bound 14.0s reached"}
        self.assertEqual(self.failed("gate-haproxy", "zdt", 0, [ok, timeout]), ["gate-haproxy:holds-verified"])
        by_slices = {"pod": "b", "releasedBy": "Verified", "message": "b out of the EndpointSlices for 10 s"}
        self.assertEqual(self.failed("gate-haproxy", "zdt", 0, [ok, by_slices]), ["gate-haproxy:holds-verified"])
        self.assertEqual(self.failed("gate-haproxy", "zdt", 0, []), ["gate-haproxy:holds-verified"])

    def test_haproxys_samples_are_read_before_traefiks(self):
        with tempfile.TemporaryDirectory() as run:
            with open(os.path.join(run, "traefik.txt"), "w") as f:
                f.write("1000 1 1 http://10.244.0.5:8080\n")
            self.assertEqual(rollout.traefik_samples(run)[0].servers, ["http://10.244.0.5:8080"])
            with open(os.path.join(run, "haproxy.txt"), "w") as f:
                f.write("1000 1 1 http://10.244.0.7:8080\n")
            self.assertEqual(rollout.traefik_samples(run)[0].servers, ["http://10.244.0.7:8080"])
