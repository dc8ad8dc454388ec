"""Checks the relative links of README.md, docs/*.md and the e2e READMEs: every target file or directory exists,
and every #anchor names a heading of its page (GitHub's slugs). External links are not checked.

    python3 -m e2e.doc_links           # README.md, docs/*.md, e2e/**/README.md
    python3 -m e2e.doc_links FILE...   # the files named
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def pages():
    """README.md, docs/*.md and every README.md of the e2e harness (its map and its folders')."""
    e2e = [p for p in glob.glob(os.path.join(ROOT, "e2e", "**", "README.md"), recursive=True)
           if "/target/" not in p and "/node_modules/" not in p]
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + sorted(e2e)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    with open(path) as f:
        text = FENCE.sub("", f.read())
    found, seen = set(), {}
    for h in re.findall(r"^#{1,6} (.+)$", text, re.M):
        s = slug(h)
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else "%s-%d" % (s, n))
    return found


def broken(path):
    with open(path) as f:
        text = FENCE.sub("", f.read())
    problems = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        if not os.path.exists(dest):
            problems.append("%s: %s does not exist" % (os.path.relpath(path, ROOT), target))
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            problems.append("%s: %s names no heading of %s" % (os.path.relpath(path, ROOT), target,
                                                               os.path.relpath(dest, ROOT)))
    return problems


def main(argv):
    problems = [p for path in (argv or pages()) for p in broken(os.path.abspath(path))]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
