"""The result blocks of README.md and docs/*.md are what the committed result files say
(python3 -m unittest discover -s e2e)."""
import os
import re
import sys
import tempfile
import unittest

from e2e import readme_results


class ReadmeResults(unittest.TestCase):
    def test_every_block_matches_its_result_file(self):
        names = set()
        for path in readme_results.pages():
            with open(path) as f:
                text = f.read()
            names.update(re.findall(r"<!-- ([a-z-]+):begin -->", text))
            with self.subTest(page=os.path.relpath(path, readme_results.ROOT)):
                self.assertEqual(readme_results.render(text), text,
                                 "a result block differs from e2e/results: run e2e/readme_results.py")
        # Every renderer's block is shown somewhere: a block moved out of the pages fails here.
        self.assertEqual(names, set(readme_results.RENDERERS))

    def test_the_readme_shows_the_rollout_proof(self):
        with open(os.path.join(readme_results.ROOT, "README.md")) as f:
            self.assertIn("<!-- rollout-results:begin -->", f.read())

    def test_a_stale_block_is_rewritten(self):
        stale = "x\n<!-- rollout-results:begin -->\nold figures\n<!-- rollout-results:end -->\ny\n"
        new = readme_results.render(stale)
        self.assertNotIn("old figures", new)
        self.assertIn(readme_results.read("rollout.md"), new)
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(stale)
        try:
            sys.argv = ["readme_results.py", "--check", f.name]
            self.assertEqual(readme_results.main(), 1)
        finally:
            os.unlink(f.name)


class SamplingBlock(unittest.TestCase):
    """The sampling table takes a run's recorded figures, or computes them from its raw samples."""

    def test_recorded_and_raw(self):
        import gzip
        import json
        with tempfile.TemporaryDirectory() as tmp:
            smp = {"samples": 812, "failedSamples": 2, "clock": "monotonic", "intervalMsMedian": 50,
                   "intervalMsP99": 71, "intervalMsMax": 140, "resolutionMsMax": 58, "resolutionBoundMs": 250}
            with open(os.path.join(tmp, "rollout.json"), "w") as f:
                json.dump([{"name": "gate", "traefikSampling": smp}], f)
            with open(os.path.join(tmp, "drills.json"), "w") as f:
                json.dump([{"name": "eviction"}], f)
            os.makedirs(os.path.join(tmp, "drills-runs", "eviction"))
            with gzip.open(os.path.join(tmp, "drills-runs", "eviction", "traefik.txt.gz"), "wt") as f:
                f.write("1796000000000 http://a:1 \n1796000000300 http://a:1 \n1796000001000 \n")
            saved, readme_results.RESULTS = readme_results.RESULTS, tmp
            try:
                text = readme_results.sampling()
            finally:
                readme_results.RESULTS = saved
        self.assertIn("| rollout gate | 812 | 2 | 50 / 71 / 140 | 58 | 20 Hz sampler |", text)
        self.assertIn("| drill eviction | 3 | not recorded | 500 / 700 / 700 | - | curl every 200 ms |", text)
        self.assertIn("wider than 250 ms", text)


if __name__ == "__main__":
    unittest.main()


class CodeLine(unittest.TestCase):
    """A block rendered from a run says the commit it ran on and, from git, whether src/main/ changed since."""

    def git(self, *args):
        import subprocess
        return subprocess.run(["git", "-C", readme_results.ROOT] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()

    def test_unchanged_changed_and_unknown(self):
        head = self.git("rev-parse", "HEAD")
        self.assertEqual(readme_results.src_since(head), "`src/main/` is unchanged since that commit")
        # the newest commit that touched src/main, and its parent: src/main differs between that parent and HEAD
        touched = self.git("log", "-1", "--format=%H", "--", "src/main")
        self.assertEqual(readme_results.src_since(touched + "~1"), "`src/main/` has changed since that commit")
        self.assertIsNone(readme_results.src_since("0123456789ab"))

    def test_a_clone_without_the_commit_keeps_the_line_the_page_has(self):
        import json
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "rollout-runs"))
            with open(os.path.join(tmp, "rollout-runs", "code.json"), "w") as f:
                json.dump({"commit": "0123456789ab"}, f)
            saved, readme_results.RESULTS = readme_results.RESULTS, tmp
            try:
                page = "t\n\nRecorded on commit 0123456789ab; `src/main/` is unchanged since that commit (computed by `make readme`).\n"
                self.assertEqual(readme_results.with_code("rollout-results", "t", page), page.rstrip("\n"))
                self.assertEqual(readme_results.with_code("rollout-results", "t", ""), "t")
            finally:
                readme_results.RESULTS = saved

    def test_the_line_follows_the_block(self):
        text = readme_results.with_code("rollout-results", "table")
        self.assertRegex(text, r"^table\n\nRecorded on commit [0-9a-f]{12}; `src/main/` (is unchanged|has changed) since "
                               r"that commit \(computed by `make readme`\)\.$")
        self.assertEqual(readme_results.with_code("pod-start-results", "table"), "table")
