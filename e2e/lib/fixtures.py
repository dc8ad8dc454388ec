"""The analysis tests' fixture runner (e2e/rollout and e2e/drills test_analyze.py): builds a
recorded run from layers of test data (e2e/*/testdata/) and turns every case into a test.

A layer is a directory. Its files are copied over the run built so far (a file replaces the file at
the same path), except fixture.json, which says what the layer changes besides and what it must
do to the analysis:

    {"why": "what the layer stands for",
     "fails": ["criterion id", ...],            # the criteria that must fail; [] for a pass
     "remove": ["logs/app-v1-b.log", ...],      # files the run lacks
     "patch": {"meta.json": {...}},             # JSON merge patch (RFC 7386): null removes a key
     "append": {"requests.csv": "rows\\n"},     # text added to the end of a file
     "cut": {"traefik.txt": [from, to]}}        # lines whose first field (a number: a sample's
                                                #   ms stamp) lies in [from, to) are removed

So a failing case is the passing run plus one small, readable difference.
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_module(module, *args):
    """Runs `python3 -m module args...` as the shell scripts do (from the repository root), its
    output captured: the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", module] + list(args), cwd=ROOT, capture_output=True, text=True)


def add_case_tests(cls, cases):
    """One test method per case, test_<name>, calling cls.check_case(name, layers)."""
    for name, layers in cases:
        def test(self, name=name, layers=layers):
            self.check_case(name, layers)
        setattr(cls, "test_" + re.sub(r"\W", "_", name), test)
    return cls


def cut(path, bounds):
    """Removes the lines whose first field is a number in [from, to)."""
    lo, hi = bounds
    with open(path) as f:
        lines = f.readlines()

    def inside(line):
        first = line.split(" ", 1)[0]
        return first.isdigit() and lo <= int(first) < hi

    with open(path, "w") as f:
        f.writelines(line for line in lines if not inside(line))


def text(path):
    """The whole text of a file."""
    with open(path) as f:
        return f.read()


def spec(layer):
    path = os.path.join(layer, "fixture.json")
    return json.loads(text(path)) if os.path.exists(path) else {}


def merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


def compose(layers, dest):
    """Writes the run that the layers (applied in order) describe into dest; returns the last
    layer's fixture.json."""
    os.makedirs(dest, exist_ok=True)
    s = {}
    for layer in layers:
        for root, _, files in os.walk(layer):
            for f in files:
                src = os.path.join(root, f)
                rel = os.path.relpath(src, layer)
                if rel == "fixture.json":
                    continue
                os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                shutil.copyfile(src, os.path.join(dest, rel))
        s = spec(layer)
        for rel in s.get("remove", []):
            os.remove(os.path.join(dest, rel))
        for rel, patch in s.get("patch", {}).items():
            path = os.path.join(dest, rel)
            with open(path) as f:
                doc = json.load(f)
            with open(path, "w") as f:
                json.dump(merge(doc, patch), f, indent=1)
        for rel, text in s.get("append", {}).items():
            with open(os.path.join(dest, rel), "a") as f:
                f.write(text)
        for rel, bounds in s.get("cut", {}).items():
            cut(os.path.join(dest, rel), bounds)
    return s
