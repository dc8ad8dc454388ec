"""Builds a recorded run for the analysis tests from layers of test data (e2e/*/testdata/).

A layer is a directory. Its files are copied over the run built so far (a file replaces the file at
the same path), except fixture.json, which says what the layer changes besides and what it must
do to the analysis:

    {"why": "what the layer stands for",
     "fails": ["criterion id", ...],            # the criteria that must fail; [] for a pass
     "remove": ["logs/app-v1-b.log", ...],      # files the run lacks
     "patch": {"meta.json": {...}},             # JSON merge patch (RFC 7386): null removes a key
     "append": {"requests.csv": "rows\\n"}}     # text added to the end of a file

So a failing case is the passing run plus one small, readable difference.
"""
import json
import os
import shutil


def spec(layer):
    path = os.path.join(layer, "fixture.json")
    return json.load(open(path)) if os.path.exists(path) else {}


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
    return s
