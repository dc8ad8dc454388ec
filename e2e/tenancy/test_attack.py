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


if __name__ == "__main__":
    unittest.main()
