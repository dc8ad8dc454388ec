#!/usr/bin/env python3
"""Checks the failure drills' pass criteria from what each run recorded and writes
e2e/results/drills.json (one object per drill) and drills.md. Exits 1 when a drill fails.

Reuses the rollout benchmark's readers (e2e/rollout/analyze.py): the pod watch, the pods' own
SIGTERM/exit log lines, Traefik's server list sampled from its API.
"""
import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rollout"))
from analyze import log_events, pod_timeline, traefik_removals, ts, watch_events  # noqa: E402

# Traefik is sampled every 200 ms plus a curl, each sample stamped before its curl: a sample
# that still lists a pod proves Traefik routed to it at that moment or later. A pod got SIGTERM
# early when a sample taken more than EARLY_SLACK after its SIGTERM still lists it.
EARLY_SLACK = 0.3
SAMPLING_SLACK = 1.0
# A hold may end this much after its bound (the kubelet, the event loop, the log line).
BOUND_SLACK = 2.0


def load(path, default=None):
    return json.load(open(path)) if os.path.exists(path) else default


def phases(run):
    out = []
    path = os.path.join(run, "phases.txt")
    if os.path.exists(path):
        for line in open(path):
            t, _, text = line.rstrip("\n").partition(" ")
            out.append((int(t) / 1000.0, text))
    return out


def failed_between(run, start, end):
    """Failed requests sent in [start, end) (epoch seconds), by kind."""
    kinds, n = {}, 0
    path = os.path.join(run, "requests.csv")
    if not os.path.exists(path):
        return None, {}
    with open(path) as f:
        for row in csv.DictReader(f):
            t = int(row["sendEpochMs"]) / 1000.0
            if start <= t < end:
                n += 1
                if row["errorKind"] != "none":
                    kinds[row["errorKind"]] = kinds.get(row["errorKind"], 0) + 1
    return n, kinds


def last_listed(run, pods):
    """Per stopped pod: the stamp of the last Traefik sample that still lists its address."""
    out = {}
    path = os.path.join(run, "traefik.txt")
    if not os.path.exists(path):
        return out
    samples = []
    for line in open(path):
        parts = line.split()
        if parts:
            samples.append((int(parts[0]) / 1000.0, " ".join(parts[1:])))
    for name, p in pods.items():
        if "stopAt" in p and "ip" in p:
            needle = "//%s:" % p["ip"]
            seen = [t for t, servers in samples if t >= p["stopAt"] and needle in servers]
            if seen:
                out[name] = max(seen)
    return out


def event_count(events, reason):
    return sum((e.get("count") or 1) for e in events.get("items", []) if e.get("reason") == reason)


def min_healthy_after_start(run, old_pods):
    """Lowest number of pods that have been Ready and are not being deleted, once every old pod
    was seen. A serving pod whose probe times out (CPU starvation) still counts: the PDB is about
    disruptions, and the drill's only disruptions are the evictions."""
    state, ever_ready, seen_all, low = {}, {}, False, None
    for ev in watch_events(os.path.join(run, "pods.json")):
        pod = ev.get("object", ev)
        name = pod["metadata"]["name"]
        if ev.get("type") == "DELETED":
            state.pop(name, None)
        else:
            ready = any(c["type"] == "Ready" and c["status"] == "True"
                        for c in pod.get("status", {}).get("conditions", []))
            ever_ready[name] = ever_ready.get(name, False) or ready
            state[name] = ever_ready[name] and not pod["metadata"].get("deletionTimestamp")
        if not seen_all and all(p in state for p in old_pods):
            seen_all = True
        if seen_all:
            healthy = sum(1 for v in state.values() if v)
            low = healthy if low is None else min(low, healthy)
    return low


def readiness_flaps(run):
    """Times a serving pod (not being deleted) went from Ready to not Ready: its 1 s readiness
    probe timed out. Nothing in the drills makes a serving pod unready; on this 2-CPU machine it
    is the mark of CPU starvation (other builds), which also shows as request timeouts."""
    prev, flaps = {}, 0
    for ev in watch_events(os.path.join(run, "pods.json")):
        pod = ev.get("object", ev)
        name = pod["metadata"]["name"]
        ready = [c["status"] for c in pod.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        ready = ready[0] if ready else None
        if prev.get(name) == "True" and ready == "False" and not pod["metadata"].get("deletionTimestamp"):
            flaps += 1
        prev[name] = ready
    return flaps


def analyze(run):
    meta = load(os.path.join(run, "meta.json"))
    summary = load(os.path.join(run, "summary.json"))
    zdt = load(os.path.join(run, "zdt.json"), {})
    events = load(os.path.join(run, "events.json"), {"items": []})
    extra = meta.get("extra") or {}
    status = zdt.get("status") or {}
    hold_bound = (status.get("drainBudget") or {}).get("holdSeconds")
    start = meta["drillStartAtMs"] / 1000.0
    change = (meta.get("changeAtMs") or meta["drillStartAtMs"]) / 1000.0

    pods = pod_timeline(run)
    removed = traefik_removals(run, pods)
    listed = last_listed(run, pods)
    stopped = []
    for name, p in sorted(pods.items(), key=lambda kv: kv[1].get("stopAt", 0)):
        if "stopAt" not in p or p["stopAt"] < start:
            continue
        ev = log_events(run, name)
        s = {"pod": name, "deletedAtS": round(p["stopAt"] - change, 2)}
        if "sigterm" in ev:
            s["sigtermAfterDeletionS"] = round(ev["sigterm"] - p["stopAt"], 2)
        if name in removed:
            s["traefikDroppedAfterDeletionS"] = round(removed[name] - p["stopAt"], 2)
        if "sigterm" in ev and name in removed:
            s["sigtermMinusTraefikDropS"] = round(ev["sigterm"] - removed[name], 2)
        if "sigterm" in ev and name in listed:
            # > 0: Traefik still routed to the pod after its SIGTERM (an early release)
            s["traefikListedAfterSigtermS"] = round(listed[name] - ev["sigterm"], 2)
        if "exit" in ev:
            s["exitAfterDeletionS"] = round(ev["exit"] - p["stopAt"], 2)
        stopped.append(s)

    drains = [d for d in status.get("lastDrains") or [] if ts(d["started"]) >= start - 1]
    released = {}
    for d in drains:
        released[d.get("releasedBy", "?")] = released.get(d.get("releasedBy", "?"), 0) + 1

    completed = bool(meta.get("deploymentCompleteAtMs") and meta.get("oldPodsExitedAtMs"))
    rollout_s = None
    if completed:
        rollout_s = round(max(meta["deploymentCompleteAtMs"], meta["oldPodsExitedAtMs"]) / 1000.0 - change, 1)
    holds_after = meta.get("holdsInFlightAfter") or {}

    r = {
        "name": meta["name"],
        "mode": meta["mode"],
        "requests": summary["requests"],
        "failed": summary["failed"],
        "failedByKind": summary["failedByKind"],
        "rolloutCompleted": completed,
        "rolloutSeconds": rollout_s,
        "holdBoundSeconds": hold_bound,
        "releasedBy": released,
        "drainHoldTimeoutEvents": event_count(events, "DrainHoldTimeout"),
        "failedPreStopHookEvents": event_count(events, "FailedPreStopHook"),
        "holdsInFlightAfter": holds_after,
        "pods": stopped,
        "phases": [{"atS": round(t - change, 1), "what": w} for t, w in phases(run)],
        "servingPodReadinessFlaps": readiness_flaps(run),
        "loadAverageBefore": meta.get("loadBefore"),
        "loadAverageAfter": meta.get("loadAfter"),
        "evidence": extra,
    }
    return r, meta, drains


def check(r, meta, drains, run):
    crit = []

    def need(cond, text, informational=False):
        crit.append({"criterion": text, "passed": bool(cond), "informational": informational})

    name, bound = r["name"], r["holdBoundSeconds"]
    holds_after = r["holdsInFlightAfter"]
    need(holds_after and all(v == "0" for v in holds_after.values()),
         "no leaked hold: zdt_gate_holds_in_flight is 0 on every operator replica (%s)"
         % (", ".join("%s %s" % kv for kv in holds_after.items()) or "none read"))
    need(r["rolloutCompleted"], "the rollout completed (%s s)" % r["rolloutSeconds"])
    if r["mode"] in ("gate", "exec") and bound:
        over = [p["pod"] for p in r["pods"] if p.get("sigtermAfterDeletionS", 0) > bound + BOUND_SLACK]
        need(not over, "no orphaned wait: every pod got SIGTERM within the hold bound %d s (+%.0f s): %s"
             % (bound, BOUND_SLACK, ", ".join(over) or "all did"))
    missing = [p["pod"] for p in r["pods"] if "sigtermAfterDeletionS" not in p]
    if missing:
        need(False, "every stopped pod's SIGTERM log line was recorded (missing: %s)" % ", ".join(missing),
             informational=True)

    early = [p for p in r["pods"] if p.get("traefikListedAfterSigtermS", 0) > EARLY_SLACK
             and not (bound and p.get("sigtermAfterDeletionS", 0) >= bound - SAMPLING_SLACK)]
    early_text = ", ".join("%s: Traefik still listed it %.1f s after its SIGTERM, %.1f s after deletion"
                           % (p["pod"], p["traefikListedAfterSigtermS"], p.get("sigtermAfterDeletionS", -1))
                           for p in early) or "none"

    if name.startswith("leader-"):
        ev = r["evidence"]
        need(bool(ev.get("leaderAfter")), "a replica holds the Lease afterwards (%s)" % ev.get("leaderAfter"))
        if r["mode"] == "gate" and ev.get("how") == "crash" and ev.get("leaderHeldACall"):
            # httpGet has no fallback: the crashed replica's held connection closes and the kubelet
            # sends SIGTERM at once. Measured, not a pass criterion; every other pod must be held.
            # The call lost is taken to be the first terminating pod's (calls reach replicas in that order);
            # if it was another pod's, that pod shows up below and the drill fails: conservative.
            lost = ev.get("firstTerminatingPod")
            others = [p for p in early if p["pod"] != lost]
            need(r["failed"] == 0, "gate mode, the crashed replica held a call (first terminating pod %s): %d of %d failed (no hold for "
                 "that pod; measured, not a pass criterion)" % (lost, r["failed"], r["requests"]), informational=True)
            need(not others, "every other pod held until Traefik dropped it (%s)"
                 % (", ".join(p["pod"] for p in others) or "all were"))
        else:
            need(r["failed"] == 0, "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))
            need(not early, "no hold released before Traefik dropped its pod (%s)" % early_text)
    elif name.startswith("operator-down-"):
        ev = r["evidence"]
        change = meta["changeAtMs"] / 1000.0
        n1, k1 = failed_between(run, change, ev["deleteAtMs"] / 1000.0)
        n2, k2 = failed_between(run, ev["deleteAtMs"] / 1000.0, ev["restoreAtMs"] / 1000.0)
        n3, k3 = failed_between(run, ev["restoreAtMs"] / 1000.0, 1e12)
        f1, f2, f3 = sum(k1.values()), sum(k2.values()), sum(k3.values())
        r["phaseFailed"] = {"rolloutWithoutOperator": {"requests": n1, "failed": f1, "byKind": k1},
                            "deletePodWithoutOperator": {"requests": n2, "failed": f2, "byKind": k2},
                            "afterOperatorBack": {"requests": n3, "failed": f3, "byKind": k3}}
        need(f1 == 0, "a rollout while no operator runs drops no request (%d of %d failed)" % (f1, n1))
        need(f3 == 0, "after the operator is back the rollout finishes without a failure (%d of %d)" % (f3, n3))
        if r["mode"] == "gate":
            need(f2 == 0, "a pod deleted while no operator runs: %d of %d failed (gate mode has no hold without "
                 "the operator; measured, not a pass criterion)" % (f2, n2), informational=True)
        else:
            need(f2 == 0, "a pod deleted while no operator runs drops no request (%d of %d failed)" % (f2, n2))
    elif name == "exec-rollout":
        need(r["failed"] == 0, "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))
        stopped = len(r["pods"])
        verified = r["releasedBy"].get("Verified", 0)
        need(stopped > 0 and verified >= stopped and set(r["releasedBy"]) == {"Verified"},
             "every old pod's exec hook reached the gate and was released Verified, not by the script's sleep "
             "(%d pods stopped, releasedBy %s)" % (stopped, r["releasedBy"]))
        need(not early, "no pod got SIGTERM before Traefik dropped it (%s)" % early_text)
    elif name == "traefik-api-down":
        need(r["failed"] == 0, "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))
        stopped = len(r["pods"])
        timeouts = r["releasedBy"].get("Timeout", 0)
        need(stopped > 0 and timeouts >= stopped and set(r["releasedBy"]) == {"Timeout"},
             "every hold released by Timeout (%d pods stopped, releasedBy %s)" % (stopped, r["releasedBy"]))
        need(r["drainHoldTimeoutEvents"] >= timeouts > 0,
             "an Event per Timeout (%d DrainHoldTimeout for %d Timeout drains)" % (r["drainHoldTimeoutEvents"], timeouts))
        need(all(p.get("sigtermAfterDeletionS", 0) >= bound - SAMPLING_SLACK for p in r["pods"]),
             "no hold ended before its bound %d s (SIGTERM after deletion: %s)"
             % (bound, ", ".join(str(p.get("sigtermAfterDeletionS")) for p in r["pods"])))
    elif name == "apiserver-restart":
        need(True, "requests failed while the API server was down: %d of %d (%s)"
             % (r["failed"], r["requests"], r["failedByKind"] or "none"), informational=True)
    elif name == "eviction":
        ev = r["evidence"]
        need(r["failed"] == 0, "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))
        need(len(ev.get("evicted", [])) == meta["replicas"], "every pod was evicted (%d of %d)"
             % (len(ev.get("evicted", [])), meta["replicas"]))
        need(ev.get("refusals429", 0) > 0, "the PDB refused evictions with 429 (%d refusals)" % ev.get("refusals429", 0))
        low = min_healthy_after_start(run, ev.get("evicted", []))
        r["minHealthyPods"] = low
        need(low is not None and low >= meta["replicas"] - 1,
             "the PDB held: never fewer than %d serving pods not being deleted (lowest %s)" % (meta["replicas"] - 1, low))
        gated = r["releasedBy"].get("Verified", 0) + r["releasedBy"].get("Timeout", 0)
        need(gated >= len(ev.get("evicted", [])) and "Bypassed" not in r["releasedBy"],
             "every evicted pod passed the gate (releasedBy %s)" % r["releasedBy"])
        need(not early, "no pod got SIGTERM before Traefik dropped it (%s)" % early_text)
    elif name == "operator-restart-draining":
        need(r["failed"] == 0, "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))
        need(not early, "holds honoured: no pod got SIGTERM before Traefik dropped it or its bound (%s)" % early_text)
        recorded = sum(r["releasedBy"].values())
        need(recorded >= len(r["pods"]), "every held pod's drain was recorded, none abandoned (%d drains for %d pods: %s)"
             % (recorded, len(r["pods"]), r["releasedBy"]))
    r["criteria"] = crit
    r["passed"] = all(c["passed"] for c in crit if not c["informational"])
    return r


def finding(r):
    ev, rb = r["evidence"], ", ".join("%s %d" % kv for kv in sorted(r["releasedBy"].items())) or "no drain recorded"
    sig = [p["sigtermMinusTraefikDropS"] for p in r["pods"] if "sigtermMinusTraefikDropS" in p]
    sig_text = ("SIGTERM minus Traefik drop %.1f..%.1f s" % (min(sig), max(sig))) if sig else "no SIGTERM/Traefik pair"
    failed = "%d failed%s" % (r["failed"], (" (" + ", ".join("%s %d" % kv for kv in sorted(r["failedByKind"].items())) + ")")
                              if r["failed"] else "")
    n = r["name"]
    if n.startswith("leader-"):
        text = "%s mode: leader %s %s with holds in flight [%s]; Lease to %s; %s; released by %s; %s" % (
            r["mode"], ev.get("leaderBefore"), "deleted" if ev.get("how") == "delete" else "killed -9",
            ev.get("holdsAtKill"), ev.get("leaderAfter"), failed, rb, sig_text)
    elif n.startswith("operator-down-"):
        pf = r.get("phaseFailed", {})
        text = ("%s mode, no operator: rollout window %d failed (%s), deleted pod %d failed, after restore %d failed; "
                "FailedPreStopHook events %d; completed after restore: %s") % (
            r["mode"], pf.get("rolloutWithoutOperator", {}).get("failed", -1), ev.get("stateWithoutOperator"),
            pf.get("deletePodWithoutOperator", {}).get("failed", -1), pf.get("afterOperatorBack", {}).get("failed", -1),
            r["failedPreStopHookEvents"], "yes" if r["rolloutCompleted"] else "no")
    elif n == "exec-rollout":
        text = "exec hooks (wget) with the operator up: released by %s; %s; %s" % (rb, failed, sig_text)
    elif n == "traefik-api-down":
        text = "Traefik API dropped for the operator: released by %s, %d DrainHoldTimeout events, holds %s s (bound %s); %s" % (
            rb, r["drainHoldTimeoutEvents"], "/".join(str(p.get("sigtermAfterDeletionS")) for p in r["pods"]),
            r["holdBoundSeconds"], failed)
    elif n == "apiserver-restart":
        text = "API server down %s s while a pod was held: %s; released by %s; holds %s s (bound %s); %s" % (
            ev.get("downSeconds"), failed, rb, "/".join(str(p.get("sigtermAfterDeletionS")) for p in r["pods"]),
            r["holdBoundSeconds"], sig_text)
    elif n == "eviction":
        text = "%d pods evicted at once, %d PDB 429 refusals, lowest healthy %s; released by %s; %s; %s" % (
            len(ev.get("evicted", [])), ev.get("refusals429", 0), r.get("minHealthyPods"), rb, failed, sig_text)
    elif n == "operator-restart-draining":
        text = "replica %s deleted while holding %s; released by %s; %s; %s" % (
            ev.get("restartedReplica"), ev.get("holdsAtRestart"), rb, failed, sig_text)
    else:
        text = failed
    if r["servingPodReadinessFlaps"]:
        text += "; CPU starvation: serving pods went unready %d times (load average %s)" % (
            r["servingPodReadinessFlaps"], r["loadAverageAfter"])
    bad = [c["criterion"] for c in r["criteria"] if not c["passed"] and not c["informational"]]
    return ("FAILED: " + "; ".join(bad) + ". " if bad else "") + text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--drills", required=True)
    ap.add_argument("--wall", type=int, default=None)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    results_path = os.path.join(a.out, "drills.json")
    previous = {d["name"]: d for d in load(results_path, [])}
    order = []
    for name in a.drills.split(","):
        run = os.path.join(a.runs, name)
        r, meta, drains = analyze(run)
        r = check(r, meta, drains, run)
        r["finding"] = finding(r)
        with open(os.path.join(run, "drill.json"), "w") as f:
            json.dump(r, f, indent=2)
        previous[name] = {k: r[k] for k in ("name", "requests", "failed", "failedByKind", "rolloutCompleted",
                                             "rolloutSeconds", "passed", "finding", "servingPodReadinessFlaps", "loadAverageBefore",
                                             "loadAverageAfter")}
        order.append(name)
        print("%s  %s" % ("PASS" if r["passed"] else "FAIL", name))
        for c in r["criteria"]:
            print("      %s %s" % ("ok  " if c["passed"] else ("info" if c["informational"] else "FAIL"), c["criterion"]))
    known = ["leader-delete", "leader-crash", "leader-crash-exec", "operator-down-gate", "operator-down-exec", "operator-down-sleep",
             "exec-rollout", "traefik-api-down", "apiserver-restart", "eviction", "operator-restart-draining"]
    all_results = [previous[n] for n in known if n in previous] + [v for k, v in previous.items() if k not in known]
    with open(results_path, "w") as f:
        json.dump(all_results, f, indent=2)
    lines = ["| drill | requests | failed | rollout completed | passed | finding |", "|---|---|---|---|---|---|"]
    for r in all_results:
        lines.append("| %s | %d | **%d** | %s | %s | %s |" % (
            r["name"], r["requests"], r["failed"],
            ("yes, %.1f s" % r["rolloutSeconds"]) if r["rolloutCompleted"] else "no",
            "yes" if r["passed"] else "**no**", r["finding"].replace("|", "/")))
    with open(os.path.join(a.out, "drills.md"), "w") as f:
        f.write("Failure drills (`e2e/drills/run.sh`), 250 req/s through Traefik (8 s provider throttle), a new "
                "connection per request.%s\n\n" % ("" if a.wall is None else " Last run: %d s wall time." % a.wall))
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    failed = [n for n in order if not previous[n]["passed"]]
    print("%d passed, %d failed" % (len(order) - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
