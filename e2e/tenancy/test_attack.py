"""The hostile-tenant criteria can fail, and the attack's summary says what it saw
(python3 -m unittest discover -s e2e -p 'test_*.py')."""
import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


attack = module("zdt_attack", os.path.join(HERE, "attack.py"))
rollout = module("zdt_rollout_analyze_t", os.path.join(HERE, "..", "rollout", "analyze.py"))


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
        self.assertEqual(attack.holds_in_flight(url, "s3cret"), 7.0)
        with self.assertRaises(Exception):
            attack.holds_in_flight(url)
        for token, want_seen, want_failed in (("s3cret", {url: 7.0}, {}), (None, {}, True)):
            stop, seen, failed = threading.Event(), {}, {}
            t = threading.Thread(target=attack.in_flight, args=([url], stop, seen, token, failed))
            t.start()
            stop.wait(0.5)
            stop.set()
            t.join()
            self.assertEqual(seen, want_seen)
            self.assertEqual(bool(failed), bool(want_failed))


def write_run(tmp, facts, before_threads=60, after_threads=70, heap=200 * 2**20, events=(), apiurl="InvalidSpec"):
    run = os.path.join(tmp, "gate-hostile")
    os.makedirs(run)
    json.dump({"attacks": results(), "facts": facts}, open(os.path.join(run, "attack.json"), "w"))
    for name, threads in (("operator-before.json", before_threads), ("operator-after.json", after_threads)):
        json.dump([{"pod": "10.0.0.1", "metrics": {"jvm_threads_live_threads": threads,
                                                    'jvm_memory_used_bytes{area="heap",id="G1 Eden Space"}': heap}}],
                  open(os.path.join(run, name), "w"))
    json.dump({"items": [{"reason": r} for r in events]}, open(os.path.join(run, "victim-events.json"), "w"))
    if apiurl is not None:
        json.dump({"status": {"conditions": [{"type": "Degraded", "status": "True", "reason": apiurl,
                                              "message": "traffic.apiUrl https://10.96.0.1:443 is not on the operator's "
                                                         "allow-list (empty)"}]}},
                  open(os.path.join(run, "apiurl-app.json"), "w"))
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


if __name__ == "__main__":
    unittest.main()
