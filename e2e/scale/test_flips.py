import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

from e2e.scale import flips

L = "DEBUG [de.zd.op.re.ZeroDowntimeAppReconciler]"


def write(t, app):
    return f"2026-12-02T04:12:{t:02d}.000+0000 {L} status of {app} written, changed: [conditions Ready]\n"


def cond(t, app, before, after):
    return f"2026-12-02T04:12:{t:02d}.000+0000 {L} condition of {app}: Ready {before} -> {after}\n"


class FlipsTest(unittest.TestCase):

    def test_counts_writes_apps_and_changes_inside_the_window_only(self):
        lines = [write(1, "s/a"), cond(1, "s/a", "True/Available", "False/Insufficient 9 of 10"),
                 write(5, "s/a"), cond(5, "s/a", "False/Insufficient 9 of 10", "True/Available"),
                 write(6, "s/b"), cond(6, "s/b", "True/Available", "False/Insufficient 8 of 10"),
                 write(30, "s/c")]
        out = flips.flips(lines, "2026-12-02T04:12:04", "2026-12-02T04:12:10")
        self.assertEqual(out["statusWrites"], 2)
        self.assertEqual(out["apps"], 2)
        self.assertEqual(out["staleBases"], 0)
        self.assertEqual(out["conditionChanges"], {
            "Ready False/Insufficient N of N -> True/Available": 1,
            "Ready True/Available -> False/Insufficient N of N": 1})

    def test_a_write_that_compared_with_an_older_value_than_its_last_write_is_stale(self):
        # The second write says it changed Ready from True, but the first had written False already.
        lines = [cond(5, "s/a", "True/Available", "False/Insufficient"),
                 cond(6, "s/a", "True/Available", "False/Insufficient")]
        self.assertEqual(flips.flips(lines, "2026-12-02T04:12:00", "2026-12-02T04:12:59")["staleBases"], 1)

    def test_kwok_patches_in_the_window_and_per_pod(self):
        def patch(t, pod):
            return json.dumps({"time": f"2026-12-02T04:12:{t:02d}.5Z", "msg": "Patch pod", "pod": pod}) + "\n"
        lines = [patch(1, "s/p1"), patch(5, "s/p1"), patch(6, "s/p1"), patch(7, "s/p2"),
                 '{"time":"2026-12-02T04:12:08Z","msg":"Patch node"}\n']
        out = flips.kwok(lines, "2026-12-02T04:12:04", "2026-12-02T04:12:10")
        self.assertEqual(out["kwokPodPatches"], 3)
        self.assertEqual(out["kwokPatchesPerPod"], {"1": 1, "3": 1})

    def test_the_window_comes_from_the_record_and_the_logs_may_be_compressed(self):
        import gzip
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "meta.jsonl"), "w") as f:
                f.write('{"key": "idleStart", "value": 1796184723.0}\n{"key": "idleEnd", "value": 1796184733.0}\n')
            with gzip.open(os.path.join(d, "operator-0.log.gz"), "wt") as f:
                f.write(write(4, "s/a") + write(5, "s/a") + write(20, "s/a"))
            buf = io.StringIO()
            with redirect_stdout(buf):
                flips.main([d])
            out = json.loads(buf.getvalue())
            self.assertEqual((out["from"], out["to"]), ("2026-12-02T04:12:03.000", "2026-12-02T04:12:13.000"))
            self.assertEqual(out["statusWrites"], 2)
            self.assertNotIn("kwokPodPatches", out)


if __name__ == "__main__":
    unittest.main()
