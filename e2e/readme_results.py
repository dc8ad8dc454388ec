"""Rewrites the result blocks of README.md and of every page in docs/ from the committed result
files, so no figure in them can drift from the data behind it. A block is the text between
`<!-- NAME:begin -->` and `<!-- NAME:end -->`; each NAME has one renderer below.

    python3 -m e2e.readme_results                 # rewrite README.md and docs/*.md (make readme)
    python3 -m e2e.readme_results --check         # exit 1 when a block differs from its result file
    python3 -m e2e.readme_results --check FILE..  # the same for the files named
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

from e2e import timings
from e2e.lib import records
from e2e.rollout import traefik_sampler
from e2e.rollout.analyze import RESOLUTION_BOUND_MS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "e2e", "results")


def read(name):
    with open(os.path.join(RESULTS, name)) as f:
        return f.read().strip()


def pod_start():
    r = json.loads(read("pod-start.json"))
    rows = ["| mode | pods | creation -> Ready median | min | max | init containers |", "|---|---|---|---|---|---|"]
    for mode in ("exec", "gate"):
        m = r["modes"][mode]
        rows.append("| %s | %d | %.2f s | %.2f s | %.2f s | %s |" % (
            mode, m["pods"], m["medianMs"] / 1000, m["minMs"] / 1000, m["maxMs"] / 1000,
            "the helper's (`zdt-drain-install`)" if m["withInitContainer"] else "none"))
    return "\n".join(rows + ["", "Gate mode minus exec mode, medians: %+.2f s (ratio %.2f); %d CPUs, load average %s "
                             "while measured (`e2e/pod-start/run.sh`)."
                             % (r["gateMinusExecMedianMs"] / 1000, r["gateOverExecMedianRatio"], r["cpus"], r["loadavg"])])


def sampling():
    """How finely Traefik's routing was observed in each committed rollout scenario and drill: the
    `traefikSampling` of rollout.json and drills.json, or, for runs analysed before it was
    recorded, the same figures computed from the run's raw samples (traefik.txt.gz)."""
    rows, bound, older = [], RESOLUTION_BOUND_MS, False
    for kind, name, runs in (("rollout", "rollout.json", "rollout-runs"), ("drill", "drills.json", "drills-runs")):
        for r in json.loads(read(name)):
            smp = r.get("traefikSampling")
            if not smp:
                path = os.path.join(RESULTS, runs, r["name"], "traefik.txt")
                if not records.exists(path):
                    rows.append("| %s %s | no samples recorded | | | | |" % (kind, r["name"]))
                    continue
                with records.open_text(path) as text:
                    smp = traefik_sampler.stats(traefik_sampler.read_samples(text))
                older = True
            new = smp.get("clock") == "monotonic"
            rows.append("| %s %s | %s | %s | %s / %s / %s | %s | %s |" % (
                kind, r["name"], smp["samples"], smp["failedSamples"] if new else "not recorded", fmt(smp["intervalMsMedian"]),
                fmt(smp["intervalMsP99"]), fmt(smp["intervalMsMax"]), fmt(smp.get("resolutionMsMax")),
                "20 Hz sampler" if new else "curl every 200 ms"))
    out = ["| run | samples answered | without an answer | interval ms median / p99 / max "
           "| widest window around a pod's removal, ms | sampled by |", "|---|---|---|---|---|---|"] + rows + [
        "", "A release is judged against the samples around its pod's removal; one inside a window wider than "
            "%d ms fails the run as unresolved." % bound]
    if older:
        out.append("Runs sampled by the earlier poller (a `curl` every 200 ms, stamped on the wall clock, a failed "
                   "request indistinguishable from an empty list) predate that check: their figures are computed "
                   "here from their raw samples, and their windows were not judged.")
    return "\n".join(out)


def fmt(ms):
    return "-" if ms is None else "%g" % ms


def src_since(commit):
    """Whether src/main/ (the operator and its drain helper: what a run measures; tests are left out)
    changed between commit and HEAD, as a clause; computed from git at each rendering, so a block's
    claim cannot go stale unseen."""
    run = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", commit, "HEAD", "--", "src/main"],
                         capture_output=True, text=True)
    if run.returncode == 0:
        return "`src/main/` is unchanged since that commit"
    if run.returncode == 1:
        return "`src/main/` has changed since that commit"
    return None  # the commit is not in this clone (a shallow one): nothing to tell


# The blocks rendered from a run that recorded its code (code.json): each gets a line saying the
# commit and whether src/main/ changed since.
RUNS_OF = {
    "rollout-results": "rollout-runs",
    "drills-results": "drills-runs",
    "streams-results": "streams-proof/rollout-runs",
    "frontends-results": "frontends-sleep30/rollout-runs",
}


def with_code(name, text, old=""):
    """text, and the line naming the commit its run recorded and whether src/main/ changed since; in
    a clone without that commit the line the page already has is kept (it cannot be computed here)."""
    runs = RUNS_OF.get(name)
    path = os.path.join(RESULTS, runs, "code.json") if runs else None
    if path is None or not os.path.exists(path):
        return text
    with open(path) as f:
        commit = json.load(f).get("commit")
    if not commit:
        return text
    since = src_since(commit)
    if since is None:
        kept = re.search(r"\n\nRecorded on commit %s; [^\n]*" % re.escape(commit), old)
        return text + (kept.group(0) if kept else "")
    return text + "\n\nRecorded on commit %s; %s (computed by `make readme`)." % (commit, since)


def frontends_vs_sleep30():
    """docs/frontends.md's table: per front end, the plain Deployment (from the sleep-30 run, else the
    front-end proof's, marked), sleep 30 and the gate from the same run, and their rollout ratio."""
    def runs(name):
        return {r["name"]: r for r in json.loads(read(name + "/rollout.json"))}
    same, proof = runs("frontends-sleep30"), runs("frontends-proof")
    rows = ["| front end | plain Deployment failed | sleep 30: failed, rollout | gate: failed, rollout | gate / sleep 30 |",
            "|---|---|---|---|---|"]
    marked = False
    for suffix, title in (("2traefik", "two Traefik replicas, one lagging 20 s, load split"),
                          ("httproute", "Traefik, HTTPRoute"), ("haproxy", "HAProxy probing the pods"),
                          ("envoy", "Envoy (Contour)")):
        plain, mark = same.get("plain-" + suffix), ""
        if plain is None:
            plain, mark, marked = proof["plain-" + suffix], " †", True
        slept, gate = same["sleep30-" + suffix], same["gate-" + suffix]
        rows.append("| %s | %s of %s%s | %d, %.1f s | %d, %.1f s | %.2f |" % (
            title, "{:,}".format(plain["failed"]), "{:,}".format(plain["requests"]), mark, slept["failed"],
            slept["rolloutSeconds"], gate["failed"], gate["rolloutSeconds"],
            gate["rolloutSeconds"] / slept["rolloutSeconds"]))
    if marked:
        rows += ["", "† from the front-end proof's record ([frontends-proof](../e2e/results/frontends-proof/rollout.md)), "
                     "where the plain Deployment ran beside each gate."]
    return "\n".join(rows)


RENDERERS = {
    "streams-results": lambda: read("streams-proof/rollout.md"),
    "frontends-results": frontends_vs_sleep30,
    "rollout-results": lambda: read("rollout.md"),
    "sampling-results": sampling,
    "drills-results": lambda: read("drills.md"),
    "pod-start-results": pod_start,
    "scale-results": lambda: read("scale.md"),
    "scale-slim-results": lambda: read("scale-slim-1000.md"),
    "two-commands-timings": lambda: timings.table(timings.load()),
}


def pages():
    """The files whose result blocks are rendered: the README and every page of docs/."""
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def render(text):
    def block(m):
        name = m.group(1)
        if name not in RENDERERS:
            raise SystemExit("result block %s has no renderer in %s" % (name, __file__))
        return "<!-- %s:begin -->\n%s\n<!-- %s:end -->" % (name, with_code(name, RENDERERS[name](), m.group(2) or ""),
                                                          name)
    return re.sub(r"<!-- ([a-z-]+):begin -->\n(.*?\n)?<!-- \1:end -->", block, text, flags=re.S)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("files", nargs="*", help="default: README.md and docs/*.md")
    a = ap.parse_args()
    stale = []
    for path in a.files or pages():
        with open(path) as f:
            text = f.read()
        new = render(text)
        if new == text:
            continue
        if a.check:
            stale.append(os.path.relpath(path, ROOT))
        else:
            with open(path, "w") as f:
                f.write(new)
    if stale:
        print("result blocks differ from e2e/results in %s: run make readme" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
