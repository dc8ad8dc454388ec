"""The sentence the result tables carry about the code a run measured."""
import json
import os
import tempfile
import unittest

from e2e.lib import runcode


class Sentence(unittest.TestCase):
    def write(self, d, **record):
        with open(os.path.join(d, "code.json"), "w") as f:
            json.dump(record, f)

    def test_names_the_commit_and_image(self):
        with tempfile.TemporaryDirectory() as d:
            self.write(d, commit="0123abcd4567", operatorSourcesDiffer=False,
                       operatorImage="localhost/zdt-operator:a5f7", measuredAt="2026-12-01T14:00:00Z")
            self.assertEqual(runcode.sentence(d), " Measured 2026-12-01 on the code of commit 0123abcd4567 "
                             "(operator image `localhost/zdt-operator:a5f7`).")

    def test_says_when_the_operator_was_built_from_uncommitted_sources(self):
        with tempfile.TemporaryDirectory() as d:
            self.write(d, commit="0123abcd4567", operatorSourcesDiffer=True, operatorImage="i", measuredAt="2026-12-01")
            self.assertIn("with uncommitted operator changes", runcode.sentence(d))

    def test_an_older_run_without_a_record_says_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(runcode.sentence(d), "")


if __name__ == "__main__":
    unittest.main()
