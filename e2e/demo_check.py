"""Checks what `make demo` (e2e/demo.sh) printed: the part a user reads last. `make test` runs the
demo script as its proof step and this on its output, so the main job cannot end in an error
that no test sees (it once printed `Error from server (NotFound)` on every run).

    python3 -m e2e.demo_check OUTPUT_FILE    # exit 0 when every check passes, 1 otherwise

What it requires, in order:
  - `$ kubectl -n NS get zdt` followed by the printer columns and a row for the app `app`, Ready True;
  - `$ kubectl -n NS describe zdt app` of the same namespace, showing a ZeroDowntimeApp with its
    conditions (Ready, Progressing, Degraded), its drain budget's derivation and at least one
    recent drain with how it was released;
  - no error from kubectl anywhere after the proof;
  - the closing `Results: DIR` line, naming a directory that holds rollout-ci.md and rollout-ci.json.
"""
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check(text, results_must_exist=True):
    """Returns a list of (ok, message), one per check, for the demo's printed text."""
    lines = [ANSI.sub("", l).rstrip("\n") for l in text.splitlines()]
    out = []

    def expect(ok, msg):
        out.append((bool(ok), msg))
        return ok

    get_at = next((i for i, l in enumerate(lines) if re.match(r"^\$ kubectl -n \S+ get zdt$", l)), None)
    if not expect(get_at is not None, "prints `kubectl -n NS get zdt`"):
        return out
    ns = lines[get_at].split()[3]
    tail = lines[get_at:]
    errors = [l for l in tail if l.startswith("Error from server") or l.startswith("error:")]
    expect(not errors, "no kubectl error after the proof" + (f": {errors[0]}" if errors else ""))

    header = lines[get_at + 1] if get_at + 1 < len(lines) else ""
    cols = header.split()
    expect(cols[:1] == ["NAME"] and "READY" in cols, f"`get zdt` shows its columns (got {header!r})")
    row = next((l.split() for l in lines[get_at + 2:get_at + 6] if l.split()[:1] == ["app"]), None)
    if expect(row is not None, "`get zdt` lists the app `app`") and "READY" in cols and len(row) == len(cols):
        expect(row[cols.index("READY")] == "True", f"the app is Ready (READY {row[cols.index('READY')]})")

    desc_at = next((i for i, l in enumerate(lines) if l == f"$ kubectl -n {ns} describe zdt app"), None)
    if expect(desc_at is not None, f"prints `kubectl -n {ns} describe zdt app` (the same namespace)"):
        desc = lines[desc_at:]
        field = lambda name: [l.split(":", 1)[1].strip() for l in desc if l.strip().startswith(name + ":")]
        expect(field("Kind")[:1] == ["ZeroDowntimeApp"], "describe shows a ZeroDowntimeApp")
        expect(field("Namespace")[:1] == [ns], f"describe shows namespace {ns}")
        types = field("Type")
        expect({"Ready", "Progressing", "Degraded"} <= set(types), f"describe shows the conditions Ready, Progressing, Degraded (got {types})")
        derivation = field("Derivation")
        expect(derivation and derivation[0].startswith("grace "), "describe shows the drain budget's derivation")
        released = field("Released By")
        expect(released and all(r in ("Verified", "Timeout", "Bypassed") for r in released),
               f"describe shows the recent drains and how each was released (got {released})")

    res = [l for l in lines if l.startswith("Results: ")]
    if expect(res, "closes with the `Results:` line") and results_must_exist:
        d = res[-1][len("Results: "):].split(" ", 1)[0]
        for f in ("rollout-ci.md", "rollout-ci.json"):
            expect(os.path.isfile(os.path.join(d, f)), f"{d}/{f} exists")
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python3 -m e2e.demo_check OUTPUT_FILE", file=sys.stderr)
        return 2
    with open(argv[1], errors="replace") as f:
        results = check(f.read())
    for ok, msg in results:
        print(("  ok: " if ok else "  FAILED: ") + msg)
    bad = sum(1 for ok, _ in results if not ok)
    print(f"demo checks: {len(results) - bad} of {len(results)} passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
