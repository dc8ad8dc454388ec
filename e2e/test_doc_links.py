"""Every relative link of README.md, docs/*.md and the e2e READMEs leads somewhere (python3 -m unittest discover -s e2e)."""
import os
import tempfile
import unittest

from e2e import doc_links


class DocLinks(unittest.TestCase):
    def test_every_relative_link_of_the_pages_resolves(self):
        self.assertEqual([p for path in doc_links.pages() for p in doc_links.broken(path)], [])

    def test_a_missing_file_and_a_missing_heading_are_reported(self):
        with tempfile.TemporaryDirectory() as d:
            page = os.path.join(d, "page.md")
            with open(page, "w") as f:
                f.write("# Warm-in: the `zdt.dev/in-rotation` gate\n\n[ok](#warm-in-the-zdtdevin-rotation-gate) "
                        "[gone](nowhere.md) [no heading](page.md#nowhere) [web](https://example.com/x)\n"
                        "```\n[in a code block](nowhere-either.md)\n```\n")
            problems = doc_links.broken(page)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("nowhere.md does not exist", problems[0])
        self.assertIn("page.md#nowhere names no heading", problems[1])


if __name__ == "__main__":
    unittest.main()
