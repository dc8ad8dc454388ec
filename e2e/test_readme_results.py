"""The README's result blocks are what the committed result files say (python3 -m unittest discover -s e2e)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_results  # noqa: E402


class ReadmeResults(unittest.TestCase):
    def test_every_block_matches_its_result_file(self):
        with open(os.path.join(readme_results.ROOT, "README.md")) as f:
            text = f.read()
        self.assertIn("<!-- rollout-results:begin -->", text)
        self.assertEqual(readme_results.render(text), text,
                         "a README result block differs from e2e/results: run e2e/readme_results.py")

    def test_a_stale_block_is_rewritten(self):
        stale = "x\n<!-- rollout-results:begin -->\nold figures\n<!-- rollout-results:end -->\ny\n"
        new = readme_results.render(stale)
        self.assertNotIn("old figures", new)
        self.assertIn(readme_results.read("rollout.md"), new)
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(stale)
        try:
            sys.argv = ["readme_results.py", "--check", "--readme", f.name]
            self.assertEqual(readme_results.main(), 1)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
