"""Every request figure of README.md and docs/*.md is one a committed record holds
(python3 -m unittest discover -s e2e)."""
import glob
import gzip
import json
import os
import tempfile
import unittest

from e2e import doc_figures


class DocFigures(unittest.TestCase):
    def test_every_request_figure_of_the_docs_has_a_record(self):
        pages = [os.path.join(doc_figures.ROOT, "README.md")] + sorted(
            glob.glob(os.path.join(doc_figures.ROOT, "docs", "*.md")))
        pairs = doc_figures.recorded_pairs(os.path.join(doc_figures.ROOT, "e2e", "results"))
        self.assertGreater(sum(len(doc_figures.figures(open(p).read())) for p in pages), 10,
                           "the docs give request figures; none found means the pattern no longer reads them")
        self.assertEqual(doc_figures.unmatched(pages, pairs), [])

    def test_a_figure_without_a_record_is_reported_and_other_counts_are_not_figures(self):
        with tempfile.TemporaryDirectory() as d:
            run = os.path.join(d, "results", "run", "gate")
            os.makedirs(run)
            json.dump({"requests": 10484, "failed": 1100, "failedByKind": {}}, open(os.path.join(run, "summary.json"), "w"))
            with gzip.open(os.path.join(run, "rollout.json.gz"), "wt") as f:
                json.dump({"rows": [{"name": "gate", "requests": 10483, "failed": 0}]}, f)
            pairs = doc_figures.recorded_pairs(os.path.join(d, "results"))
            page = os.path.join(d, "page.md")
            with open(page, "w") as f:
                f.write("plain **1,100 of 10,484 failed**; gate 0 of 10,483 requests.\n"
                        "| x | 35 of 10,480 | y |\n"  # no record: reported
                        "0 of 1,000 answers came later; 3 of 3 drains.\n"  # not request figures
                        "```\n5 of 9,999 failed\n```\n")  # code block: skipped
            self.assertEqual(pairs, {(1100, 10484), (0, 10483)})
            self.assertEqual([w for _, w in doc_figures.unmatched([page], pairs)], ["35 of 10,480"])


if __name__ == "__main__":
    unittest.main()
