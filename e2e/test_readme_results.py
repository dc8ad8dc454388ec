"""The result blocks of README.md and docs/*.md are what the committed result files say
(python3 -m unittest discover -s e2e)."""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_results  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
