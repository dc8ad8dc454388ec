"""What moved the apps' status in a window of a scale run, from its raw record.

    python3 -m e2e.scale.flips e2e/results/scale-runs/<stamp>/1000 [--from ISO] [--to ISO]

Without --from/--to the window is the idle window of the record's meta.jsonl. Reads the leader's
debug lines ("status of NS/NAME written, changed: [...]" and "condition of NS/NAME: TYPE before ->
after"), and KWOK's log if the record has one ("Patch pod" lines). Prints, as JSON:
  statusWrites, apps          status writes in the window, and how many apps they touched
  conditionChanges            the condition changes in the window, numbers replaced by N, by count
  staleBases                  writes whose "before" was not the previous write's "after" (a
                              reconcile that compared with an informer copy older than its own write)
  kwokPodPatches              KWOK's pod status patches in the window
  kwokPatchesPerPod           over the whole run: how many pods KWOK patched once, twice, ...
"""
import argparse
import collections
import datetime
import json
import os
import re
import sys

from e2e.lib import records
from e2e.scale.analyze import meta as run_meta

CONDITION = re.compile(r"condition of (\S+): (\S+) (.*) -> (.*)$")
WRITE = re.compile(r"status of (\S+) written, changed: ")


def opened(path):
    """path's record (plain or compressed) opened for reading, or None when the run has none."""
    return records.open_text(path, errors="replace") if records.exists(path) else None


def stamp(line):
    return line.split(" ", 1)[0][:23]


def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]


def idle_window(d):
    meta = run_meta(os.path.join(d, "meta.jsonl"))
    if "idleStart" not in meta or "idleEnd" not in meta:
        return None, None
    return iso(float(meta["idleStart"])), iso(float(meta["idleEnd"]))


def operator_lines(d):
    for i in (0, 1):
        f = opened(os.path.join(d, f"operator-{i}.log"))
        if f:
            with f:
                yield from f


def flips(lines, t0, t1):
    writes, apps, changes = 0, set(), collections.Counter()
    last, stale = {}, 0
    for line in lines:
        w = WRITE.search(line)
        c = CONDITION.search(line)
        if not w and not c:
            continue
        inside = t0 <= stamp(line) <= t1
        if w and inside:
            writes += 1
            apps.add(w.group(1))
        if c:
            key, before, after = (c.group(1), c.group(2)), c.group(3), c.group(4)
            if key in last and last[key] != before and inside:
                stale += 1
            last[key] = after
            if inside:
                changes[re.sub(r"[0-9]+", "N", c.group(2) + " " + before + " -> " + after)] += 1
    return {"statusWrites": writes, "apps": len(apps), "staleBases": stale,
            "conditionChanges": dict(changes.most_common(10))}


def kwok(lines, t0, t1):
    inside, per_pod = 0, collections.Counter()
    for line in lines:
        if '"Patch pod"' not in line:
            continue
        e = json.loads(line)
        per_pod[e.get("pod")] += 1
        if t0 <= e["time"][:23] <= t1:
            inside += 1
    return {"kwokPodPatches": inside,
            "kwokPatchesPerPod": {str(k): v for k, v in sorted(collections.Counter(per_pod.values()).items())}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="one size's raw record, e.g. e2e/results/scale-runs/<stamp>/1000")
    ap.add_argument("--from", dest="t0", help="window start, UTC, e.g. 2026-12-02T04:12:20")
    ap.add_argument("--to", dest="t1", help="window end, UTC")
    a = ap.parse_args(argv)
    t0, t1 = idle_window(a.dir)
    t0, t1 = a.t0 or t0, a.t1 or t1
    if not t0 or not t1:
        ap.error("no idle window in meta.jsonl: give --from and --to")
    out = {"from": t0, "to": t1, **flips(operator_lines(a.dir), t0, t1)}
    f = opened(os.path.join(a.dir, "kwok.log"))
    if f:
        with f:
            out.update(kwok(f, t0, t1))
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
