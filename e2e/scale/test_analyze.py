"""The scale analysis on small recorded runs written by the test itself, with figures known in
advance (python3 -m unittest discover -s e2e -p 'test_*.py'). Each target is shown both met and
missed, so that no check passes whatever the data."""
import gzip
import json
import os
import tempfile
import unittest

from e2e.scale import analyze, plot

T0 = 1_800_000_000.0  # run.sh's clock, epoch seconds


def iso(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lines(path, records, compress=False):
    opener = gzip.open if compress else open
    with opener(path, "wt") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def audit(i, t, verb, resource, sub=None, stage="ResponseComplete", name=None):
    ref = {"resource": resource, "name": name}
    if sub:
        ref["subresource"] = sub
    return {"auditID": f"id-{i}", "stage": stage, "verb": verb, "objectRef": ref,
            "userAgent": "fabric8-kubernetes-client", "requestReceivedTimestamp": iso(t),
            "stageTimestamp": iso(t + (10.5 if resource == "services" else 0.02)),
            "responseStatus": {"code": 504 if resource == "services" else 200}}


def write_size(run, apps, live_heap_mib, idle_requests, late_answer=False, slow_decision=False, restart_s=5.0):
    """One size of a run: cold start 10 s + apps/100 s; idle window 100 s with idle_requests
    operator requests in it; churn of 2 pods each released 2 s after its endpoint went."""
    d = os.path.join(run, str(apps))
    os.makedirs(d)
    meta = {"apps": apps, "replicas": 10, "coldStartT0": T0, "coldStartDone": T0 + 20, "leader": "zdt-operator-scale-0",
            "idleStart": T0 + 100, "idleEnd": T0 + 200, "churnApps": 1, "restartT0": T0 + 400,
            "coldStartLoadBefore": "1.00 1.00 1.00"}
    lines(os.path.join(d, "meta.jsonl"), [{"key": k, "value": v} for k, v in meta.items()])
    cold = 10 + apps / 100
    lines(os.path.join(d, "ready.jsonl"),
          [{"app": f"ns/app-{i}", "readyAt": T0 + cold * (i + 1) / apps} for i in range(apps)])
    proc = []
    for rep in (0, 1):
        heap = live_heap_mib * 1024 if rep == 0 else 50 * 1024
        proc += [
            {"replica": rep, "label": "idleStart", "t": T0 + 100, "rssKiB": 200 * 1024, "threads": 40,
             "cpuTicks": 1000, "heapUsed": f"{int(heap)}K", "load": "1 1 1"},
            {"replica": rep, "label": "idleEndBeforeGc", "t": T0 + 200, "rssKiB": 210 * 1024, "threads": 40,
             "cpuTicks": 1100, "heapUsed": f"{int(heap) + 4096}K", "load": "1 1 1"},
            {"replica": rep, "label": "idleEnd", "t": T0 + 200, "rssKiB": 210 * 1024, "threads": 41,
             "cpuTicks": 1100, "heapUsed": f"{int(heap)}K", "load": "1 1 1"},
        ]
    lines(os.path.join(d, "process.jsonl"), proc)
    reqs = [audit("start", T0 + 1, "list", "zerodowntimeapps"), audit("svc", T0 + 1.5, "patch", "services")]
    reqs += [audit(f"dep{i}", T0 + 2 + i * 0.01, "patch", "deployments", name=f"app-{i}") for i in range(apps)]
    # Warm-in admits one pod per app; a second write of the same pod's condition is not a new admission.
    reqs += [audit(f"adm{i}", T0 + 3 + i * 0.01, "patch", "pods", "status", name=f"pod-{i}") for i in range(apps)]
    reqs += [audit("adm-again", T0 + 19, "patch", "pods", "status", name="pod-0")]
    # A pod admitted after the cold start ended (here between the scenarios) is not one of the start's.
    reqs += [audit("adm-later", T0 + 350, "patch", "pods", "status", name="pod-new")]
    # A later apply of a Deployment (a periodic reconcile) is not part of the cold start.
    reqs += [audit("dep-again", T0 + 250, "patch", "deployments", name="app-0")]
    # A watch logs two stages under one auditID: counted once.
    reqs += [audit("w", T0 + 150, "watch", "pods", stage="ResponseStarted"),
             audit("w", T0 + 150, "watch", "pods")]
    reqs += [audit(f"idle{i}", T0 + 101 + i * 90 / max(idle_requests, 1), "get", "leases")
             for i in range(idle_requests - 1)]
    reqs += [audit(f"st{i}", T0 + 301 + i, "patch", "zerodowntimeapps", "status") for i in range(4)]
    lines(os.path.join(d, "audit.jsonl.gz"), reqs, compress=True)
    churn = [{"kind": "rollStart", "t": T0 + 300, "apps": 1}]
    for p in range(2):
        gone = T0 + 305 + p * 10
        decided = gone + 2 + (0.5 if slow_decision else 0.02 + p * 0.01)
        answered = decided + 0.01
        sent = gone - 0.1
        if late_answer and p == 1:
            answered = sent + 7 + 1.5  # hold bound 7 s, answered 1.5 s past it
        churn += [{"kind": "terminating", "pod": f"ns/pod-{p}", "t": sent},
                  {"kind": "endpointNotReady", "pod": f"ns/pod-{p}", "t": gone},
                  {"kind": "gate", "pod": f"ns/pod-{p}", "app": "ns/app-0", "replica": "r", "holdSeconds": 7,
                   "sent": sent, "answered": answered, "status": 200, "decidedAt": iso(decided), "body": "Verified"}]
    churn += [{"kind": "appRolled", "app": "ns/app-0", "t": T0 + 320},
              {"kind": "rollEnd", "t": T0 + 324, "complete": True}]
    lines(os.path.join(d, "churn.jsonl"), churn)
    with open(os.path.join(d, "restart.json"), "w") as f:
        json.dump({"readyAt": T0 + 400 + restart_s - 1, "gateServedSent": T0 + 400 + restart_s,
                   "gateServedAnswered": T0 + 400 + restart_s + 0.01, "status": 409, "body": "no such pod"}, f)


def write_run(run):
    os.makedirs(run, exist_ok=True)
    lines(os.path.join(run, "run.jsonl"), [{"key": "cpus", "value": 2}, {"key": "idleSeconds", "value": 100},
                                          {"key": "commit", "value": "abc1234"}])


class ScaleAnalysis(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.run = os.path.join(self.tmp.name, "run")
        write_run(self.run)

    def tearDown(self):
        self.tmp.cleanup()

    def test_figures_of_a_run_that_meets_every_target(self):
        # Live heap 100 MiB + 50 KiB per app: the fitted slope is 50 KiB per app.
        write_size(self.run, 100, 100 + 100 * 50 / 1024, idle_requests=100)
        write_size(self.run, 1000, 100 + 1000 * 50 / 1024, idle_requests=100, restart_s=12.0)
        r = analyze.analyze(self.run)
        small, top = r["sizes"]
        self.assertEqual([100, 1000], [small["apps"], top["apps"]])
        self.assertEqual(20.0, top["coldStart"]["allReadySeconds"])
        self.assertEqual(11.0, small["coldStart"]["allReadySeconds"])
        # The API server's own time per write, and the writes it failed.
        self.assertEqual({"count": 1, "failed": 1, "p50Ms": 10500.0, "maxMs": 10500.0},
                         top["coldStart"]["operatorWrites"]["services"])
        self.assertEqual(1000, top["coldStart"]["operatorWrites"]["deployments"]["count"])
        self.assertEqual(20.0, top["coldStart"]["operatorWrites"]["deployments"]["p50Ms"])
        self.assertEqual(round(2 + 999 * 0.01, 1), top["coldStart"]["allDeploymentsAppliedSeconds"])
        self.assertEqual(1000, top["coldStart"]["podsAdmitted"])
        self.assertEqual(round(3 + 999 * 0.01, 1), top["coldStart"]["allPodsAdmittedSeconds"])
        # 99 gets + the watch counted once, over 100 s.
        self.assertAlmostEqual(1.0, top["steady"]["apiRequestsPerSecond"], places=2)
        leader = top["steady"]["replicas"]["leader"]
        self.assertEqual(210.0, leader["rssMiB"])
        self.assertEqual(0.0, leader["liveHeapChangeOverWindowMiB"])
        self.assertEqual(4.0 + leader["liveHeapMiB"], leader["heapUsedBeforeGcMiB"])
        self.assertAlmostEqual(50.0, r["growth"]["liveHeapKiBPerApp"], delta=0.5)  # from 0.1 MiB figures
        c = top["churn"]
        self.assertEqual(2, c["gateCalls"])
        self.assertEqual({"200": 2}, c["answersByStatus"])
        self.assertEqual(0, c["answeredLaterThanBoundPlus1s"])
        self.assertEqual(20.0, c["decisionP50Ms"])
        self.assertEqual(30.0, c["decisionP99Ms"])
        self.assertEqual(round(4 / 24, 2), c["statusWritesPerSecond"])
        self.assertEqual(12.0, top["restart"]["gateServesSeconds"])
        self.assertTrue(all(t["met"] for t in r["targets"].values()), r["targets"])

    def test_every_target_can_be_missed(self):
        # 200 KiB per app, 700 requests in 100 s idle, one answer 1.5 s past its bound, decisions
        # 500 ms late, a restart of 40 s; and a cold start past 60 s at 1,000 apps (10 + 1000/100... +).
        write_size(self.run, 100, 100 + 100 * 200 / 1024, idle_requests=700, late_answer=True,
                   slow_decision=True, restart_s=40.0)
        write_size(self.run, 6000, 100 + 6000 * 200 / 1024, idle_requests=700)
        r = analyze.analyze(self.run)
        t = r["targets"]
        self.assertFalse(t["coldStart"]["met"])        # 70 s at 6,000 apps
        self.assertFalse(t["heapPerApp"]["met"])
        self.assertFalse(t["idleApiLoad"]["met"])
        self.assertFalse(t["gateBound"]["met"])
        self.assertEqual("1 of 4", t["gateBound"]["value"])
        self.assertFalse(t["decisionP99"]["met"])
        self.assertFalse(t["restart"]["met"])
        self.assertEqual(1.5, r["sizes"][0]["churn"]["latestAfterBoundSeconds"])

    def test_sizes_from_two_runs_are_put_side_by_side_and_fitted_together(self):
        other = os.path.join(self.tmp.name, "other")
        write_run(other)
        write_size(self.run, 100, 100 + 100 * 50 / 1024, idle_requests=100)
        write_size(other, 1000, 100 + 1000 * 50 / 1024, idle_requests=100)
        r = analyze.analyze(other, self.run)
        self.assertEqual([(100, "run"), (1000, "other")], [(s["apps"], s["raw"]) for s in r["sizes"]])
        self.assertEqual("other, run", r["raw"])
        self.assertAlmostEqual(50.0, r["growth"]["liveHeapKiBPerApp"], places=0)
        self.assertIn("e2e/results/scale-runs/other, e2e/results/scale-runs/run (one run per record",
                      analyze.markdown(r))

    def test_a_size_measured_in_two_runs_is_refused(self):
        other = os.path.join(self.tmp.name, "other")
        write_run(other)
        write_size(self.run, 100, 100, idle_requests=10)
        write_size(other, 100, 100, idle_requests=10)
        with self.assertRaises(SystemExit):
            analyze.analyze(self.run, other)

    def test_a_run_below_1000_apps_does_not_claim_the_cold_start_target(self):
        write_size(self.run, 20, 90, idle_requests=10)
        r = analyze.analyze(self.run)
        self.assertIsNone(r["targets"]["coldStart"]["met"])
        self.assertIsNone(r["targets"]["heapPerApp"]["met"])  # one size: no slope

    def test_plot_draws_both_panels_from_scale_json(self):
        write_size(self.run, 100, 110, idle_requests=10)
        write_size(self.run, 300, 120, idle_requests=10)
        out = plot.svg(analyze.analyze(self.run))
        self.assertTrue(out.startswith("<svg"))
        self.assertIn("Memory", out)
        self.assertIn("cold start s (all Ready)", out)
        self.assertEqual(4, out.count("<polyline"))

    def test_markdown_shows_every_size_and_every_target(self):
        write_size(self.run, 100, 110, idle_requests=700, late_answer=True)
        write_size(self.run, 300, 120, idle_requests=10)
        md = analyze.markdown(analyze.analyze(self.run))
        self.assertIn("| 100 (1,000) | 11 s |", md)
        self.assertIn("| 300 (3,000) | 13 s |", md)
        self.assertIn("| no gate call answered later than its bound + 1 s | 1 of 4 | **no** |", md)
        self.assertEqual(len(analyze.TARGETS), md.count("| yes |") + md.count("| **no** |") + md.count("| not measured |"))

    def test_a_replica_that_failed_to_restart_is_reported_with_its_cause(self):
        write_size(self.run, 100, 110, idle_requests=10)
        d = os.path.join(self.run, "100")
        open(os.path.join(d, "restart.json"), "w").close()  # the probe never saw the gate serve
        with gzip.open(os.path.join(d, "operator-0.log.gz"), "wt") as f:
            f.write(iso(T0 + 300).replace("Z", "+0000") + " ERROR [io.qu.ru.Application] Failed to start application: x\n"
                    "Caused by: outer\n\tat a.b\nCaused by: timeout listing pods\n"
                    + iso(T0 + 430).replace("Z", "+0000") + " ERROR [io.qu.ru.Application] Failed to start application: y\n"
                    "Caused by: the restart's own\n")
        r = analyze.analyze(self.run)["sizes"][0]["restart"]
        self.assertIsNone(r["gateServesSeconds"])
        self.assertEqual({"replica": 0, "seconds": 30.0, "cause": "Caused by: the restart's own"}, r["failedToStart"])
        self.assertFalse(analyze.analyze(self.run)["targets"]["restart"]["met"])

    def test_a_larger_size_whose_replica_never_served_fails_the_target(self):
        # Served at 300 apps; at 1,000 the restarted replica ran out of heap and the probe gave up:
        # the target is judged at 1,000, not on the 300-app figure.
        write_size(self.run, 300, 110, idle_requests=1, restart_s=18.0)
        write_size(self.run, 1000, 300, idle_requests=1)
        d = os.path.join(self.run, "1000")
        open(os.path.join(d, "restart.json"), "w").close()
        with gzip.open(os.path.join(d, "operator-1.log.gz"), "wt") as f:
            f.write(iso(T0 + 450).replace("Z", "+0000") + " WARN  [io.fa.ku.cl.in.im.ca.Reflector] listSyncAndWatch failed"
                    " for v1/pods, will retry: java.util.concurrent.CompletionException: java.lang.OutOfMemoryError:"
                    " Java heap space\nCaused by: java.lang.OutOfMemoryError: Java heap space\n")
        r = analyze.analyze(self.run)
        t = r["targets"]["restart"]
        self.assertEqual((False, 1000, "did not serve"), (t["met"], t["measuredAt"], t["value"]))
        self.assertEqual("Caused by: java.lang.OutOfMemoryError: Java heap space",
                         r["sizes"][1]["restart"]["failedToStart"]["cause"])
        self.assertIn("| did not serve (Java heap space) |", analyze.markdown(r))

    def test_status_writes_in_the_idle_window_are_counted_by_what_they_changed(self):
        import datetime
        d = os.path.join(self.run, "1000")
        os.makedirs(d, exist_ok=True)

        def stamp(t):
            return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

        log = [f"{stamp(T0 + 5)} DEBUG [de.zd.op.re.ZeroDowntimeAppReconciler] status of s/app-1 written, changed: [all]",
               f"{stamp(T0 + 20)} DEBUG [de.zd.op.re.ZeroDowntimeAppReconciler] status of s/app-1 written, changed: [conditions Ready]",
               f"{stamp(T0 + 30)} DEBUG [de.zd.op.re.ZeroDowntimeAppReconciler] status of s/app-2 written, changed: [conditions Ready]",
               f"{stamp(T0 + 31)} INFO  [io.quarkus] something else",
               f"{stamp(T0 + 40)} DEBUG [de.zd.op.re.ZeroDowntimeAppReconciler] status of s/app-1 written, changed: [readyReplicas]"]
        with gzip.open(os.path.join(d, "operator-1.log.gz"), "wt") as f:
            f.write("\n".join(log) + "\n")
        got = analyze.status_writes(d, T0 + 10, T0 + 35)
        self.assertEqual(got, {"apps": 2, "byChange": {"[conditions Ready]": 2}})
        self.assertEqual(analyze.status_writes(d, T0, T0 + 100)["byChange"],
                         {"[conditions Ready]": 2, "[all]": 1, "[readyReplicas]": 1})


if __name__ == "__main__":
    unittest.main()
