"""The hostile-tenant criteria can fail, and the attack's summary says what it saw
(python3 -m unittest discover -s e2e -p 'test_*.py')."""
import contextlib
import io
import json
import os
import tempfile
import unittest

from e2e.rollout import analyze as rollout
from e2e.tenancy import attack
from e2e.tenancy import hostile_frontend as frontend


def results(forged=None, flood=None):
    return {"forged": {"name": "forged", "sent": 2000, "answers": forged or {"401": 2000}, "slowestSeconds": 0.4,
                       "tookSeconds": 3.0},
            "flood": {"name": "flood", "sent": 1500, "answers": flood or {"200": 1000, "429": 500},
                      "slowestSeconds": 6.1, "tookSeconds": 6.5}}


class Summary(unittest.TestCase):
    def test_a_gate_that_holds_its_limits_passes(self):
        f = attack.summarize(results(), 1000, 10, 1003)
        self.assertTrue(f["forgedAllRefused"] and f["floodHeldAtMostLimit"] and f["floodRestRefused429"]
                        and f["floodBoundedByBudget"])

    def test_each_broken_promise_shows(self):
        self.assertFalse(attack.summarize(results(forged={"401": 1999, "200": 1}), 1000, 10)["forgedAllRefused"])
        self.assertFalse(attack.summarize(results(forged={"401": 1990, "error:TimeoutError": 10}), 1000, 10)
                         ["forgedAllRefused"])
        self.assertFalse(attack.summarize(results(forged={"403": 1990, "409": 10}), 1000, 10)["forgedAllRefused"])
        self.assertTrue(attack.summarize(results(forged={"401": 1500, "403": 500}), 1000, 10)["forgedAllRefused"],
                        "B's own pod's token for A's pod is 403")
        self.assertFalse(attack.summarize(results(), 1000, 10, 1200)["floodHeldAtMostLimit"])
        self.assertFalse(attack.summarize(results(), 1000, 10, None)["floodHeldAtMostLimit"], "no gauge read, no pass")
        self.assertFalse(attack.summarize(results(flood={"200": 1000, "429": 400, "error:X": 100}), 1000, 10)
                         ["floodRestRefused429"])
        slow = results()
        slow["flood"]["slowestSeconds"] = 40.0
        self.assertFalse(attack.summarize(slow, 1000, 10)["floodBoundedByBudget"])


def dump(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f)


class MetricsPoll(unittest.TestCase):
    """The gauge is read with the scraper's token, as the operator's /q/metrics requires."""

    def serve(self):
        import http.server
        import threading

        class Metrics(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.headers.get("Authorization") == "Bearer s3cret"
                body = b"# TYPE zdt_gate_holds_in_flight gauge\nzdt_gate_holds_in_flight 7.0\n" if ok else b"no\n"
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        return f"http://127.0.0.1:{server.server_address[1]}/q/metrics"

    def test_the_token_is_sent_and_a_refusal_is_counted_not_hidden(self):
        import threading
        url = self.serve()
        self.assertEqual(attack.vitals(url, "s3cret")[2], 7.0)
        with self.assertRaises(Exception):
            attack.vitals(url)
        for token, want_seen, want_failed in (("s3cret", {url: 7.0}, {}), (None, {}, True)):
            stop, seen, failed = threading.Event(), {}, {}
            t = threading.Thread(target=attack.sample_vitals, args=([url], token, stop, seen, [], failed))
            t.start()
            stop.wait(0.5)
            stop.set()
            t.join()
            self.assertEqual(seen, want_seen)
            self.assertEqual(bool(failed), bool(want_failed))


def write_run(tmp, facts, before_threads=60, after_threads=70, heap=200 * 2**20, events=(), apiurl="InvalidSpec"):
    run = os.path.join(tmp, "gate-hostile")
    os.makedirs(run)
    dump({"attacks": results(), "facts": facts}, os.path.join(run, "attack.json"))
    for name, threads in (("operator-before.json", before_threads), ("operator-after.json", after_threads)):
        dump([{"pod": "10.0.0.1", "metrics": {"jvm_threads_live_threads": threads,
                                               'jvm_memory_used_bytes{area="heap",id="G1 Eden Space"}': heap}}], os.path.join(run, name))
    dump({"items": [{"reason": r} for r in events]}, os.path.join(run, "victim-events.json"))
    if apiurl is not None:
        dump({"status": {"conditions": [{"type": "Degraded", "status": "True", "reason": apiurl,
                                         "message": "traffic.apiUrl https://10.96.0.1:443 is not on the operator's "
                                                    "allow-list (empty)"}]}}, os.path.join(run, "apiurl-app.json"))
    return run


class Criteria(unittest.TestCase):
    def failed(self, **kw):
        facts = attack.summarize(results(), 1000, 10, 1001)
        facts.update(kw.pop("facts", {}))
        with tempfile.TemporaryDirectory() as tmp:
            h = rollout.hostile_facts(write_run(tmp, facts, **kw))
        r = {"name": "gate-hostile", "kind": "zdt", "mode": "gate", "hostile": h, "failed": 0, "requests": 1,
             "releasedBy": {}, "lastDrainsRecorded": True}
        with contextlib.redirect_stdout(io.StringIO()):
            fails = rollout.check([r], "full", None)
        return sorted(f["id"].split(":")[1] for f in fails
                      if f["id"].split(":")[1] in ("forged-refused", "flood-bounded", "no-event-storm",
                                                   "operator-bounded", "apiurl-refused"))

    def test_pass(self):
        self.assertEqual(self.failed(), [])

    def test_each_criterion_fails_on_its_own_evidence(self):
        self.assertEqual(self.failed(facts={"forgedAllRefused": False}), ["forged-refused"])
        self.assertEqual(self.failed(facts={"floodHeldAtMostLimit": False}), ["flood-bounded"])
        self.assertEqual(self.failed(facts={"floodBoundedByBudget": False}), ["flood-bounded"])
        self.assertEqual(self.failed(events=["GateCallUnattributed"]), ["no-event-storm"])
        self.assertEqual(self.failed(after_threads=200), ["operator-bounded"])
        self.assertEqual(self.failed(heap=900 * 2**20), ["operator-bounded"])
        self.assertEqual(self.failed(apiurl=None), ["apiurl-refused"])
        self.assertEqual(self.failed(apiurl="AsExpected"), ["apiurl-refused"])


def flood(held, refused, sent=600, slowest=11.0):
    return {"name": "flood:x", "sent": sent, "answers": {"200": held, "429": refused}, "slowestSeconds": slowest}


def siege_facts(**kw):
    floods = kw.pop("floods", None) or {"zdt-siege-%d" % k: (flood(8, 592), 2) for k in range(1, 6)}
    series = kw.pop("series", None) or [{"url": u, "atMs": i, "heapBytes": 90e6 + i, "threads": 100 + i % 5, "held": 4}
                                        for u in ("a", "b") for i in range(12)]
    args = {"replayed": {"sent": 200, "answers": {"401": 200}},
            "theft": {"status": 200, "patched": True, "patchPaths": ["/spec/volumes/-"], "credentialInReply": False},
            "memory": [{"status": 413, "bytesSent": 4 * 2**20, "seconds": 1.0}] * 4}
    args.update(kw)
    return attack.summarize_siege(floods, 2, 10, args["replayed"], args["theft"], args["memory"], series)


class Siege(unittest.TestCase):
    def test_vitals_from_prometheus_text(self):
        text = ('jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1.0E7\n'
                'jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 3.0E7\n'
                'jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 9.0E7\n'
                '# HELP jvm_threads_live_threads x\njvm_threads_live_threads 104.0\nzdt_gate_holds_in_flight 4.0\n')
        self.assertEqual(attack.parse_vitals(text), (4.0e7, 104.0, 4.0))
        self.assertEqual(attack.parse_vitals("up 1\n"), (None, None, None))

    def test_a_siege_held_to_its_limits_passes(self):
        f = siege_facts()
        self.assertTrue(f["floodsBounded"] and f["floodsEndedByBudget"] and f["replayedAllRefused"]
                        and f["webhookReplyHasNoCredential"] and f["webhookBodiesRefused"] and f["vitalsSampled"])

    def test_each_broken_promise_shows(self):
        ns = {"zdt-siege-%d" % k: (flood(8, 592), 2) for k in range(1, 6)}
        ns["zdt-siege-3"] = (flood(9, 591), 2)  # one more held than 2 per pod per replica
        self.assertFalse(siege_facts(floods=ns)["floodsBounded"])
        ns["zdt-siege-3"] = (flood(8, 0, sent=8), 2)  # the limit never reached: no 429 seen
        self.assertFalse(siege_facts(floods=ns)["floodsBounded"])
        ns["zdt-siege-3"] = (flood(8, 590), 2)  # two answers neither held nor 429
        self.assertFalse(siege_facts(floods=ns)["floodsBounded"])
        ns["zdt-siege-3"] = (flood(0, 600), 2)  # none held: its valid tokens never reached the gate
        self.assertFalse(siege_facts(floods=ns)["floodsBounded"])
        ns["zdt-siege-3"] = (flood(8, 592, slowest=60.0), 2)
        self.assertFalse(siege_facts(floods=ns)["floodsEndedByBudget"])
        self.assertFalse(siege_facts(replayed={"sent": 200, "answers": {"401": 199, "200": 1}})["replayedAllRefused"])
        self.assertFalse(siege_facts(replayed={"sent": 0, "answers": {}})["replayedAllRefused"])
        self.assertFalse(siege_facts(theft={"status": 200, "credentialInReply": True})["webhookReplyHasNoCredential"])
        self.assertFalse(siege_facts(theft={"status": "error:ConnectionRefusedError"})["webhookReplyHasNoCredential"])
        self.assertFalse(siege_facts(memory=[{"status": 200, "bytesSent": 2**30}])["webhookBodiesRefused"])
        self.assertFalse(siege_facts(memory=[{"status": 413, "bytesSent": 200 * 2**20}])["webhookBodiesRefused"])
        self.assertFalse(siege_facts(memory=[])["webhookBodiesRefused"])
        few = [{"url": "a", "atMs": i, "heapBytes": 1, "threads": 1, "held": 0} for i in range(3)]
        self.assertFalse(siege_facts(series=few)["vitalsSampled"])

    def test_credentials_in_a_reply_are_recognised(self):
        for leaked in ('{"name":"ZDT_GATE_TOKEN","value":"x"}', "Authorization: Bearer abc",
                       "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik.eyJhdWQiOlsiemR0LmRldi9nYXRlIl0s", "v1.AAAAAAAAAAAAAAAAAAAAAAAAAA"):
            self.assertTrue(attack.CREDENTIAL.search(leaked), leaked)
        self.assertIsNone(attack.CREDENTIAL.search('[{"op":"add","path":"/spec/volumes/-","value":{"name":"zdt-identity",'
                                                   '"projected":{"sources":[{"serviceAccountToken":{"audience":"zdt.dev/gate",'
                                                   '"expirationSeconds":600,"path":"token"}}]}}}]'))

    def test_hostile_frontend_summary(self):
        records = [{"mode": "huge", "openedAtMs": 0, "closedAtMs": 1500, "bytesSent": 9 * 2**20, "end": "closed-by-peer:BrokenPipeError"},
                   {"mode": "slow", "openedAtMs": 0, "bytesSent": 80}]
        m = frontend.summarize(records)
        self.assertEqual((m["huge"]["connections"], m["huge"]["cutByPeer"], m["huge"]["longestSeconds"]), (1, 1, 1.5))
        self.assertEqual(m["slow"]["openAtStop"], 1)
        self.assertEqual(m["redirect"]["connections"], 0)


def write_siege(tmp, facts, frontends=None, apps=None, after=1):
    run = os.path.join(tmp, "gate-siege")
    os.makedirs(run)
    json.dump({"siege": facts, "budgetSeconds": 10}, open(os.path.join(run, "attack.json"), "w"))
    modes = frontends or {m: {"connections": 2, "maxBytesSent": 9 * 2**20, "cutByPeer": 2, "openAtStop": 0,
                              "longestSeconds": 2.1} for m in frontend.MODES}
    json.dump({"modes": modes, "connections": []}, open(os.path.join(run, "frontends.json"), "w"))
    for name, restarts in (("operator-pods-before.json", 1), ("operator-pods-after.json", after)):
        json.dump({"items": [{"metadata": {"name": "op-0"}, "status": {"containerStatuses": [{"restartCount": restarts}]}}]},
                  open(os.path.join(run, name), "w"))
    for k in range(1, 6):
        drains = (apps or {}).get(k, [{"pod": "decoy-1", "releasedBy": "Timeout", "heldSeconds": 9}])
        json.dump({"metadata": {"namespace": "zdt-siege-%d" % k},
                   "spec": {"traffic": {"controller": {"service": "fe"}}},
                   "status": {"lastDrains": drains, "conditions": [], "drainBudget": {"holdSeconds": 9}}}, open(os.path.join(run, "siege-%d-app.json" % k), "w"))
    return run


class SiegeCriteria(unittest.TestCase):
    IDS = ("floods-bounded", "replayed-refused", "webhook-no-credential", "webhook-bodies-refused",
           "frontends-bounded", "hostile-frontends-not-trusted", "operator-bounded-at-peak")

    def failed(self, facts=None, **kw):
        with tempfile.TemporaryDirectory() as tmp:
            s = rollout.siege_facts(write_siege(tmp, facts or siege_facts(), **kw))
            self.assertEqual(s["budgetSeconds"], 10)
        fails = []
        rollout.siege_checks("gate-siege", s, lambda ok, cid, text: ok or fails.append(cid.split(":")[1]))
        return sorted(fails)

    def test_pass(self):
        self.assertEqual(self.failed(), [])

    def test_each_criterion_fails_on_its_own_evidence(self):
        f = siege_facts()
        f["floodsBounded"] = False
        self.assertEqual(self.failed(f), ["floods-bounded"])
        f = siege_facts()
        del f["floodsPerNamespace"]["zdt-siege-5"]
        self.assertEqual(self.failed(f), ["floods-bounded"], "fewer than five flooding tenants")
        self.assertEqual(self.failed(siege_facts(replayed={"sent": 10, "answers": {"200": 10}})), ["replayed-refused"])
        self.assertEqual(self.failed(siege_facts(theft={"status": 200, "credentialInReply": True})), ["webhook-no-credential"])
        self.assertEqual(self.failed(siege_facts(memory=[{"status": 200, "bytesSent": 2**31}])), ["webhook-bodies-refused"])
        modes = {m: {"connections": 1, "maxBytesSent": 1, "cutByPeer": 1, "openAtStop": 0, "longestSeconds": 1}
                 for m in frontend.MODES}
        self.assertEqual(self.failed(frontends=dict(modes, redirect=dict(modes["redirect"], connections=0))),
                         ["frontends-bounded"])
        self.assertEqual(self.failed(frontends=dict(modes, huge=dict(modes["huge"], maxBytesSent=64 * 2**20))),
                         ["frontends-bounded"])
        self.assertEqual(self.failed(frontends=dict(modes, slow=dict(modes["slow"], openAtStop=1))), ["frontends-bounded"])
        self.assertEqual(self.failed(frontends=dict(modes, slow=dict(modes["slow"], longestSeconds=60))),
                         ["frontends-bounded"])
        self.assertEqual(self.failed(apps={2: [{"pod": "decoy-1", "releasedBy": "Verified"}]}),
                         ["hostile-frontends-not-trusted"])
        self.assertEqual(self.failed(apps={4: []}), ["hostile-frontends-not-trusted"])
        self.assertEqual(self.failed(apps={4: [{"pod": "decoy-2", "releasedBy": "Timeout", "heldSeconds": 30}]}),
                         ["floods-bounded"], "a hold past its app's bound")
        slow = siege_facts()
        slow["floodsPerNamespace"]["zdt-siege-2"]["slowestSeconds"] = 31.0  # beyond budget 10 + the review wait
        self.assertEqual(self.failed(slow), ["floods-bounded"])
        self.assertEqual(self.failed(apps={3: [{"pod": "decoy-1", "releasedBy": "Timeout", "message":
                                                "hold bound 9.0s reached: Traefik cannot confirm that decoy-1 is no longer "
                                                "routed to: the pod has no IP to look for"}]}),
                         ["hostile-frontends-not-trusted"], "the front end was never asked about the pod")
        self.assertEqual(self.failed(after=2), ["operator-bounded-at-peak"], "a replica restarted")
        big = [{"url": "a", "atMs": i, "heapBytes": 300 * 2**20, "threads": 100, "held": 4} for i in range(12)]
        self.assertEqual(self.failed(siege_facts(series=big)), ["operator-bounded-at-peak"])
        grew = [{"url": "a", "atMs": i, "heapBytes": 1, "threads": 100 + 10 * i, "held": 4} for i in range(12)]
        self.assertEqual(self.failed(siege_facts(series=grew)), ["operator-bounded-at-peak"])


if __name__ == "__main__":
    unittest.main()
