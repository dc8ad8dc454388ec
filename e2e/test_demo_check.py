"""demo_check.py's checks, each made to fail by one small change to a passing demo output
(e2e/testdata/demo/pass.txt, the shape of a real run's last lines)."""
import os
import tempfile
import unittest

from e2e.demo_check import check

HERE = os.path.dirname(os.path.abspath(__file__))


class DemoCheckTest(unittest.TestCase):
    def setUp(self):
        self.results = tempfile.mkdtemp()
        for f in ("rollout-ci.md", "rollout-ci.json"):
            open(os.path.join(self.results, f), "w").close()
        with open(os.path.join(HERE, "testdata", "demo", "pass.txt")) as f:
            self.text = f.read().replace("RESULTS_DIR", self.results)

    def failed(self, text):
        return [msg for ok, msg in check(text) if not ok]

    def test_aRealRunsOutputPassesEveryCheck(self):
        results = check(self.text)
        self.assertEqual([], [m for ok, m in results if not ok])
        self.assertGreaterEqual(len(results), 12)

    def test_aNamespaceThatIsGoneFails(self):
        text = self.text.replace("NAME   AGE   REPLICAS   REASON      READY   GRACE   DRAINING   AVAILABLE\napp    67s",
                                 'Error from server (NotFound): namespaces "bench-gate-2traefik" not found\nx    67s')
        failed = self.failed(text)
        self.assertTrue(any(m.startswith("no kubectl error") for m in failed), failed)
        self.assertTrue(any("lists the app" in m for m in failed), failed)

    def test_anAppThatIsNotReadyFails(self):
        failed = self.failed(self.text.replace("Available   True", "Available   False"))
        self.assertEqual(["the app is Ready (READY False)"], failed)

    def test_describeOfAnotherNamespaceFails(self):
        failed = self.failed(self.text.replace("$ kubectl -n bench-gate-2traefik describe", "$ kubectl -n bench-gate-restricted describe"))
        self.assertTrue(any("the same namespace" in m for m in failed), failed)

    def test_noGetAtAllFails(self):
        failed = self.failed(self.text.replace("get zdt", "get pods"))
        self.assertEqual(["prints `kubectl -n NS get zdt`"], failed)

    def test_aMissingConditionFails(self):
        failed = self.failed(self.text.replace("Type:                  Degraded", "Type:                  Other"))
        self.assertTrue(any("conditions" in m for m in failed), failed)

    def test_noDerivationFails(self):
        failed = self.failed(self.text.replace("Derivation:", "Derived:"))
        self.assertTrue(any("derivation" in m for m in failed), failed)

    def test_noRecentDrainFails(self):
        failed = self.failed(self.text.replace("Released By:", "Release:"))
        self.assertTrue(any("recent drains" in m for m in failed), failed)

    def test_anUnknownReleaseFails(self):
        failed = self.failed(self.text.replace("Released By:        Verified", "Released By:        Early", 1))
        self.assertTrue(any("recent drains" in m for m in failed), failed)

    def test_missingResultFilesFail(self):
        os.remove(os.path.join(self.results, "rollout-ci.json"))
        failed = self.failed(self.text)
        self.assertEqual(["%s/rollout-ci.json exists" % self.results], failed)

    def test_noResultsLineFails(self):
        failed = self.failed(self.text.replace("Results: ", "Output: "))
        self.assertEqual(["closes with the `Results:` line"], failed)


if __name__ == "__main__":
    unittest.main()
