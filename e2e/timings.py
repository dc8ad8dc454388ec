"""Timing records of the README's two commands (`make demo`, `make test`): what each step took,
on which commit, and how warm the machine's caches were when the command started. The README's
timing table is rendered from the committed records (e2e/results/timings.json), never typed.

    python3 -m e2e.timings cache-state            # JSON: which caches were filled (call it first)
    python3 -m e2e.timings write --command "make test" --state-json S --steps TSV --out FILE
    python3 -m e2e.timings add FILE               # keep FILE in e2e/results/timings.json
    python3 -m e2e.timings show [FILE]            # the table, as the README renders it

A run is `cold` when every cache it builds was empty at its start (the project's cache, Maven's
repository, Go's module and build caches), `warm` when every one was filled, `partial` otherwise.
The committed file keeps the newest record of each command in each state; `partial` ones are not kept.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "e2e", "results", "timings.json")
COMMANDS = ("make demo", "make test")


def _filled(path, marker=None):
    """A cache directory counts as filled when it holds anything (or, with a marker, that entry)."""
    if not path or not os.path.isdir(path):
        return False
    if marker:
        return os.path.exists(os.path.join(path, marker))
    with os.scandir(path) as entries:
        return any(True for _ in entries)


def _go_env(name):
    try:
        return subprocess.run(["go", "env", name], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cache_state(env=os.environ):
    home = env.get("HOME", os.path.expanduser("~"))
    zdt = env.get("ZDT_CACHE") or os.path.join(home, ".cache", "zdt")
    m2 = os.path.join(home, ".m2", "repository")
    caches = {
        "zdt": _filled(zdt, "bin"),                  # upstream binaries, images, venv
        "maven": _filled(m2, "io/quarkus"),          # the operator's dependencies
        "goModules": _filled(_go_env("GOMODCACHE"), "k8s.io"),
        "goBuild": _filled(_go_env("GOCACHE")),
    }
    return {"caches": caches, "state": classify(caches)}


def classify(caches):
    if not any(caches.values()):
        return "cold"
    return "warm" if all(caches.values()) else "partial"


def _git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def write(command, state, steps_tsv, out, started):
    steps = []
    with open(steps_tsv) as f:
        for line in f:
            name, seconds, ok = line.rstrip("\n").split("\t")
            steps.append({"name": name, "seconds": int(seconds), "ok": ok == "1"})
    record = {
        "command": command,
        "commit": _git("rev-parse", "HEAD")[:12],
        "uncommittedChanges": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": int(time.time() - started),
        "passed": all(s["ok"] for s in steps),
        "cachesAtStart": state["caches"],
        "state": state["state"],
        "cpus": os.cpu_count(),
        "steps": steps,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    return record


def load(path=COMMITTED):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def add(path, committed=COMMITTED):
    with open(path) as f:
        rec = json.load(f)
    if rec.get("command") not in COMMANDS:
        raise SystemExit("%s: command %r is not one of %s" % (path, rec.get("command"), COMMANDS))
    if rec["state"] not in ("cold", "warm"):
        raise SystemExit("%s: a %s run (caches %s) is neither cold nor warm: not kept" % (path, rec["state"], rec["cachesAtStart"]))
    if not rec["passed"]:
        raise SystemExit("%s: the run failed; only passing runs are kept" % path)
    if rec["uncommittedChanges"]:
        raise SystemExit("%s: the run had uncommitted changes; re-run on a commit" % path)
    records = [r for r in load(committed) if (r["command"], r["state"]) != (rec["command"], rec["state"])] + [rec]
    records.sort(key=lambda r: (COMMANDS.index(r["command"]), r["state"]))
    with open(committed, "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")


def minutes(s):
    return "%.1f min" % (s / 60)


def table(records):
    """The README's block: one row per command, its cold and its warm time, then each run's steps."""
    by = {(r["command"], r["state"]): r for r in records}
    rows = ["| command | cold: brand-new machine, empty caches | warm: everything cached |", "|---|---|---|"]
    for c in COMMANDS:
        cells = []
        for state in ("cold", "warm"):
            r = by.get((c, state))
            cells.append("not measured" if r is None else "**%s** (%d s, commit `%s`, %s)" % (
                minutes(r["seconds"]), r["seconds"], r["commit"], r["startedAt"][:10]))
        rows.append("| `%s` | %s | %s |" % (c, cells[0], cells[1]))
    rows.append("")
    rows.append("Steps of each run, in seconds (2-CPU machines; raw records in "
                "[e2e/results/timings.json](e2e/results/timings.json)):")
    rows.append("")
    for c in COMMANDS:
        for state in ("cold", "warm"):
            r = by.get((c, state))
            if r:
                rows.append("- `%s`, %s: %s" % (c, state, "; ".join("%s %d" % (s["name"], s["seconds"]) for s in r["steps"])))
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("cache-state")
    w = sub.add_parser("write")
    w.add_argument("--command", required=True, choices=COMMANDS)
    w.add_argument("--state-json", required=True, help="what cache-state printed at the start")
    w.add_argument("--steps", required=True, help="TSV: name, seconds, 1|0 per line")
    w.add_argument("--started", type=float, required=True, help="epoch seconds of the start")
    w.add_argument("--out", required=True)
    a_ = sub.add_parser("add")
    a_.add_argument("file")
    s = sub.add_parser("show")
    s.add_argument("file", nargs="?", default=COMMITTED)
    a = ap.parse_args(argv)
    if a.cmd == "cache-state":
        print(json.dumps(cache_state()))
    elif a.cmd == "write":
        r = write(a.command, json.loads(a.state_json), a.steps, a.out, a.started)
        print("timing record: %s (%s, %s, %d s)" % (a.out, r["command"], r["state"], r["seconds"]))
    elif a.cmd == "add":
        add(a.file)
    elif a.cmd == "show":
        recs = load(a.file)
        print(table(recs if isinstance(recs, list) else [recs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
