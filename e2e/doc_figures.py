"""Checks that every request figure the docs give ("0 of 19,906 failed", a table's "1,100 of 10,484")
is one a committed record holds: some JSON under e2e/results (plain or gzip) with that many
`failed` of that many `requests` in one object. A figure no record shows fails the check.

    python3 -m e2e.doc_figures           # README.md and docs/*.md
    python3 -m e2e.doc_figures FILE...   # the files named

A figure is "<failed> of <requests>" with the requests written with a thousands separator, unless
the word after it counts something else ("0 of 1,000 answers"). Code blocks are skipped.
"""
import glob
import json
import os
import re
import sys

from e2e.lib import records

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURE = re.compile(r"(?<![\d,.])(\d[\d,]*) of (\d{1,3}(?:,\d{3})+)\b")
# After a request figure: nothing, punctuation, markup, or one of these words.
REQUEST_WORDS = ("requests", "request", "failed", "dropped", "and", "with", "in", "were")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
RECORD_BYTES_MAX = 20 * 1024 * 1024


def recorded_pairs(results):
    """Every (failed, requests) pair of an object in a JSON record under results."""
    pairs = set()

    def walk(x):
        if isinstance(x, dict):
            f, r = x.get("failed"), x.get("requests")
            if isinstance(f, int) and isinstance(r, int) and not isinstance(f, bool):
                pairs.add((f, r))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for path in glob.glob(os.path.join(results, "**", "*.json*"), recursive=True):
        if not path.endswith((".json", ".json.gz")) or os.path.getsize(path) > RECORD_BYTES_MAX:
            continue
        try:
            walk(records.read_json(path[:-3] if path.endswith(".gz") else path, required=True))
        except (ValueError, OSError):
            continue  # not JSON (a watch stream): it holds no summary
    return pairs


def figures(text):
    """(failed, requests, the figure as written) of every request figure of a page."""
    text = FENCE.sub("", text)
    out = []
    for m in FIGURE.finditer(text):
        after = re.match(r"[\s*_`]*([A-Za-z]+)?", text[m.end():])
        word = after.group(1) if after else None
        if word is not None and word.lower() not in REQUEST_WORDS:
            continue
        out.append((int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), m.group(0)))
    return out


def unmatched(paths, pairs):
    """(page, figure) for every figure of the pages that no record shows."""
    bad = []
    for path in paths:
        with open(path) as f:
            for failed, requests, written in figures(f.read()):
                if (failed, requests) not in pairs:
                    bad.append((os.path.relpath(path, ROOT), written))
    return bad


def main(argv):
    paths = argv or [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    pairs = recorded_pairs(os.path.join(ROOT, "e2e", "results"))
    bad = unmatched(paths, pairs)
    for page, written in bad:
        print("%s: %r matches no committed record (e2e/results: no object with that failed of requests)"
              % (page, written))
    n = sum(len(figures(open(p).read())) for p in paths)
    print("%d request figure(s) in %d page(s), %d without a record" % (n, len(paths), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
