"""Checks the failure drills' pass criteria from what each run recorded and writes
e2e/results/drills.json (one object per drill) and drills.md. Exits 1 when a drill fails.

Reuses the rollout benchmark's readers (e2e/rollout/analyze.py): the pod watch, the pods' own
SIGTERM/exit log lines, Traefik's server list sampled 20 times a second from its API, and its
judgement of each hold's end against the samples around Traefik's drop of the pod.

analyze() reads a run; criteria() decides from what it read alone, so that
e2e/drills/test_analyze.py can show every criterion failing on a small recorded run
(e2e/drills/testdata/). --recheck applies the criteria again to committed runs, whose raw
streams (requests.csv, pods.json, pod logs) are not kept, from their drill.json.
"""
import argparse
import csv
import json
import os
import sys

from e2e.lib import records
from e2e.lib import runcode as measured_code
from e2e.rollout.analyze import (RESOLUTION_BOUND_MS, SAMPLING_MEDIAN_MS_MAX, load_facts, load_problems, pod_log,
                                 pod_timeline, release_time, release_verdict, routing, sampling_facts, traefik_samples)

# A hold that reached its bound ends whether or not Traefik has dropped the pod (by design): a
# release within this much of the bound is not judged against Traefik's samples.
SAMPLING_SLACK = 1.0
# A hold may end this much after its bound (the kubelet, the event loop, the log line).
BOUND_SLACK = 2.0


def phases(run):
    out = []
    path = os.path.join(run, "phases.txt")
    if records.exists(path):
        with records.open_text(path) as f:
            for line in f:
                t, _, text = line.rstrip("\n").partition(" ")
                out.append((int(t) / 1000.0, text))
    return out


def failed_between(run, start, end):
    """Failed requests sent in [start, end) (epoch seconds), by kind."""
    kinds, n = {}, 0
    path = os.path.join(run, "requests.csv")
    if not records.exists(path):
        return None, {}
    with records.open_text(path) as f:
        for row in csv.DictReader(f):
            t = int(row["sendEpochMs"]) / 1000.0
            if start <= t < end:
                n += 1
                if row["errorKind"] != "none":
                    kinds[row["errorKind"]] = kinds.get(row["errorKind"], 0) + 1
    return n, kinds


def event_count(events, reason):
    return sum((e.get("count") or 1) for e in events.get("items", []) if e.get("reason") == reason)


def min_healthy_after_start(run, old_pods):
    """Lowest number of pods that have been Ready and are not being deleted, once every old pod
    was seen. A serving pod whose probe times out (CPU starvation) still counts: the PDB is about
    disruptions, and the drill's only disruptions are the evictions."""
    state, ever_ready, seen_all, low = {}, {}, False, None
    for kind, pod in records.watched_objects(os.path.join(run, "pods.json")):
        name = pod["metadata"]["name"]
        if kind == "DELETED":
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
    for _, pod in records.watched_objects(os.path.join(run, "pods.json")):
        name = pod["metadata"]["name"]
        ready = [c["status"] for c in pod.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        ready = ready[0] if ready else None
        if prev.get(name) == "True" and ready == "False" and not pod["metadata"].get("deletionTimestamp"):
            flaps += 1
        prev[name] = ready
    return flaps


def analyze(run):
    meta = records.read_json(os.path.join(run, "meta.json"))
    summary = records.read_json(os.path.join(run, "summary.json"))
    zdt = records.read_json(os.path.join(run, "zdt.json"), {})
    events = records.read_json(os.path.join(run, "events.json"), {"items": []})
    extra = meta.get("extra") or {}
    status = zdt.get("status") or {}
    hold_bound = (status.get("drainBudget") or {}).get("holdSeconds")
    start = meta["drillStartAtMs"] / 1000.0
    change = (meta.get("changeAtMs") or meta["drillStartAtMs"]) / 1000.0

    pods = pod_timeline(run)
    samples = traefik_samples(run)
    stopped, gaps = [], []
    for name, p in sorted(pods.items(), key=lambda kv: kv[1].get("stopAt", 0)):
        if "stopAt" not in p or p["stopAt"] < start:
            continue
        log = pod_log(run, name)
        ev = log["events"]
        seen = routing(samples, p["ip"], p["stopAt"]) if "ip" in p else {}
        removed = seen.get("removedAt")
        s = {"pod": name, "deletedAtS": round(p["stopAt"] - change, 2), "wasReady": "readyAt" in p}
        if "sigterm" in ev:
            s["sigtermAfterDeletionS"] = round(ev["sigterm"] - p["stopAt"], 2)
        if removed is not None:
            s["traefikDroppedAfterDeletionS"] = round(removed - p["stopAt"], 2)
        if "sigterm" in ev and removed is not None:
            s["sigtermMinusTraefikDropS"] = round(ev["sigterm"] - removed, 2)
        if "exit" in ev:
            s["exitAfterDeletionS"] = round(ev["exit"] - p["stopAt"], 2)
        # The hold's end against Traefik's samples around its drop of the pod, from the deletion
        # (ms: the samples are 50 ms apart); criteria() judges it again from these alone.
        release, s["releaseSource"] = release_time(log)
        for key, at in (("releaseAfterDeletionMs", release), ("traefikLastListedAfterDeletionMs", seen.get("lastListedAt")),
                        ("traefikUnlistedByAfterDeletionMs", seen.get("unlistedBy"))):
            if at is not None:
                s[key] = round((at - p["stopAt"]) * 1000)
        if "gapMs" in seen and s["wasReady"]:
            gaps.append(seen["gapMs"])
        stopped.append(s)

    drains = [d for d in status.get("lastDrains") or [] if records.epoch(d["started"]) >= start - 1]
    released = {}
    for d in drains:
        released[d.get("releasedBy", "?")] = released.get(d.get("releasedBy", "?"), 0) + 1

    completed = bool(meta.get("deploymentCompleteAtMs") and meta.get("oldPodsExitedAtMs"))
    rollout_s = None
    if completed:
        rollout_s = round(max(meta["deploymentCompleteAtMs"], meta["oldPodsExitedAtMs"]) / 1000.0 - change, 1)
    holds_after = meta.get("holdsInFlightAfter") or {}
    name = meta["name"]

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
        "traefikSampling": sampling_facts(samples, gaps),
        "phases": [{"atS": round(t - change, 1), "what": w} for t, w in phases(run)],
        "servingPodReadinessFlaps": readiness_flaps(run),
        "loadAverageBefore": meta.get("loadBefore"),
        "loadAverageAfter": meta.get("loadAfter"),
        "evidence": extra,
        "drains": [{"pod": d.get("pod"), "releasedBy": d.get("releasedBy")} for d in drains],
        "load": drill_load(meta, summary),
    }
    if name.startswith("operator-down-"):
        r["phaseFailed"] = phase_failed(run, meta, extra)
    elif name == "eviction":
        r["minHealthyPods"] = min_healthy_after_start(run, extra.get("evicted", []))
    return r, meta, drains


def drill_load(meta, summary):
    """The load against its ask (rate) and whether it spanned the change until the drill was done."""
    change_ms = meta.get("changeAtMs") or meta["drillStartAtMs"]
    done = [meta.get(k) for k in ("deploymentCompleteAtMs", "oldPodsExitedAtMs") if meta.get(k)]
    return load_facts(meta, summary, change_ms, max(done) if done else None)


def phase_failed(run, meta, ev):
    """operator-down drills: requests and failures per window (change, pod deleted, operator back);
    None when the drill did not record its windows."""
    if not (meta.get("changeAtMs") and ev.get("deleteAtMs") and ev.get("restoreAtMs")):
        return None
    change, delete, restore = meta["changeAtMs"] / 1000.0, ev["deleteAtMs"] / 1000.0, ev["restoreAtMs"] / 1000.0
    out = {}
    for key, (a, b) in (("rolloutWithoutOperator", (change, delete)), ("deletePodWithoutOperator", (delete, restore)),
                        ("afterOperatorBack", (restore, 1e12))):
        n, kinds = failed_between(run, a, b)
        out[key] = {"requests": n, "failed": sum(kinds.values()), "byKind": kinds}
    return out


def recorded(run):
    """A committed run's record as analyze() returns it, rebuilt from drill.json (the pods, the
    per-window failures, the lowest healthy count, which need the raw streams that are not kept)
    and the committed meta.json, summary.json and zdt.json."""
    r = records.read_json(os.path.join(run, "drill.json"))
    meta = records.read_json(os.path.join(run, "meta.json"))
    summary = records.read_json(os.path.join(run, "summary.json"))
    status = (records.read_json(os.path.join(run, "zdt.json"), {}) or {}).get("status") or {}
    start = meta["drillStartAtMs"] / 1000.0
    drains = [d for d in status.get("lastDrains") or [] if records.epoch(d["started"]) >= start - 1]
    r["drains"] = [{"pod": d.get("pod"), "releasedBy": d.get("releasedBy")} for d in drains]
    r["load"] = drill_load(meta, summary)
    r["evidence"] = meta.get("extra") or r.get("evidence") or {}
    for k in ("criteria", "passed", "finding"):
        r.pop(k, None)
    return r, meta, drains


def pods_with_drain(r, *outcomes):
    """The distinct pods that have a drain record (released by one of outcomes, or any)."""
    return {d["pod"] for d in r.get("drains") or [] if not outcomes or d.get("releasedBy") in outcomes}


def criteria(r, meta):
    """The drill's pass criteria, decided from the record alone: [{id, criterion, passed, informational}].
    Missing evidence fails the criterion that needs it; nothing is skipped for want of data."""
    crit = []

    def need(cond, cid, text, informational=False):
        crit.append({"id": cid, "criterion": text, "passed": bool(cond), "informational": informational})

    name, bound, mode = r["name"], r["holdBoundSeconds"], r["mode"]
    holds_after = r["holdsInFlightAfter"]
    need(holds_after and all(v == "0" for v in holds_after.values()), "no-leaked-hold",
         "no leaked hold: zdt_gate_holds_in_flight is 0 on every operator replica (%s)"
         % (", ".join("%s %s" % kv for kv in holds_after.items()) or "none read"))
    need(r["rolloutCompleted"], "rollout-completed", "the rollout completed (%s s)" % r["rolloutSeconds"])
    load = r.get("load") or {}
    problems = load_problems(load, need_min_requests=False)
    need(not problems, "load-ran", "the load ran as asked through the change (%s requests, %s req/s of %s asked): %s"
         % (load.get("requests"), load.get("achievedRate"), load.get("rate"), "; ".join(problems) or "yes"))
    # Every pod the drill stopped, and at least one per replica, must show its SIGTERM line and
    # Traefik's drop of it (a pod that never became ready was never routed to): the per-pod
    # criteria below judge only pods with that evidence, so a pod without it fails the drill here.
    pods = r["pods"]
    served = [p for p in pods if p.get("wasReady", True)]
    missing = ["%s (%s)" % (p["pod"], ", ".join(
        w for k, w in (("sigtermAfterDeletionS", "no SIGTERM line"), ("traefikDroppedAfterDeletionS", "no Traefik drop seen"))
        if k not in p)) for p in served if "sigtermAfterDeletionS" not in p or "traefikDroppedAfterDeletionS" not in p]
    want = meta.get("replicas") or 1
    need(len(served) >= want and not missing, "per-pod-evidence",
         "every stopped pod's SIGTERM log line and Traefik's drop of it were recorded (%d pods stopped that had been "
         "ready, at least %d expected%s)" % (len(served), want, "; missing: " + ", ".join(missing) if missing else ""))
    if mode in ("gate", "exec"):
        # judged: the pods whose SIGTERM line was recorded (per-pod-evidence fails the others)
        timed = [p for p in pods if "sigtermAfterDeletionS" in p]
        over = [p["pod"] for p in timed if p["sigtermAfterDeletionS"] > (bound or 0) + BOUND_SLACK]
        need(bound and timed and not over, "no-orphaned-wait",
             "no orphaned wait: every pod got SIGTERM within the hold bound %s s (+%.0f s): %s"
             % (bound if bound else "(not recorded)", BOUND_SLACK,
                ", ".join(over) or ("judged no pod (%d stopped, none with a SIGTERM line)" % len(pods) if not timed
                                    else "all %d with a SIGTERM line did" % len(timed) if bound else "unknown")))

    smp = r.get("traefikSampling") or {}
    med = smp.get("intervalMsMedian")
    need(med is not None and med <= SAMPLING_MEDIAN_MS_MAX, "sampling",
         "Traefik's routing sampled at least every %d ms (median %s ms, p99 %s, max %s over %s samples, %s without an "
         "answer; widest window around a removal %s ms)" % (SAMPLING_MEDIAN_MS_MAX, med, smp.get("intervalMsP99"),
                                                             smp.get("intervalMsMax"), smp.get("samples"),
                                                             smp.get("failedSamples"), smp.get("resolutionMsMax")))

    def releases():
        """no-early-release and release-resolved, for the drills whose holds must outlast Traefik's
        routing: each served pod's hold end (the helper's line, else SIGTERM) at or after the last
        sample listing the pod, and inside a window of Traefik's drop only when that window is
        narrow. A hold that reached its bound may end first (by design): such a pod is still judged
        against the samples, and an early or unresolved release is allowed for it and said so. Both
        criteria fail when they judged no pod (none had served, or none had a release time and a
        sample listing it)."""
        early, unresolved, allowed, unjudged, judged = [], [], [], [], 0
        for p in pods:
            if not p.get("wasReady", True):
                continue
            at_bound = bool(bound) and p.get("sigtermAfterDeletionS", 0) >= bound - SAMPLING_SLACK
            rel, last = p.get("releaseAfterDeletionMs"), p.get("traefikLastListedAfterDeletionMs")
            unl = p.get("traefikUnlistedByAfterDeletionMs")
            v = release_verdict(None if rel is None else rel / 1000.0, None if last is None else last / 1000.0,
                                None if unl is None else unl / 1000.0)
            if v == "unknown":
                what = "%s: no %s" % (p["pod"], "release time" if rel is None else "sample listing it")
                (unjudged if at_bound else early).append(what + (" (held to its bound)" if at_bound else ""))
                continue
            judged += 1
            if v == "early":
                what = "%s: released (%s) %d ms after deletion, Traefik still listed it %d ms after deletion" % (
                    p["pod"], p.get("releaseSource"), rel, last)
            elif v == "unresolved":
                what = "%s: released %d ms after deletion, inside the window %d..%s ms in which Traefik dropped it" % (
                    p["pod"], rel, last, unl if unl is not None else "(still listed at the end)")
            else:
                continue
            if at_bound:
                allowed.append(what + " (its bound had passed: allowed)")
            else:
                (early if v == "early" else unresolved).append(what)
        served = sum(1 for p in pods if p.get("wasReady", True))
        counted = ("judged no pod against Traefik's samples (%d stopped, %d had served%s)"
                   % (len(pods), served, "; not judged: " + "; ".join(unjudged) if unjudged else "")) if not judged else \
            "%d of %d served pods judged against Traefik's samples%s%s" % (
                judged, served, "; allowed: " + "; ".join(allowed) if allowed else "",
                "; not judged: " + "; ".join(unjudged) if unjudged else "")
        need(judged and not early, "no-early-release", "no hold released before Traefik's last sample still listing its "
             "pod, unless its bound had passed (%s; %s)" % ("; ".join(early) or "none early", counted))
        need(judged and not unresolved, "release-resolved", "every release resolved against Traefik's drop to %d ms or "
             "better (%s; %s)" % (RESOLUTION_BOUND_MS, "; ".join(unresolved) or "all", counted))

    stopped = {p["pod"] for p in pods}

    def no_failed():
        need(r["failed"] == 0, "no-failed", "0 failed requests (%d of %d)" % (r["failed"], r["requests"]))

    if name.startswith("leader-"):
        ev = r["evidence"]
        # The Lease must move: held afterwards by another Lease identity than the one stopped, running,
        # and seen after the stop. The operator's identity is "<pod>_<process>", one per process: a
        # crashed replica's restarted container is a new candidate that waits for the Lease to run
        # out like the other replica, so either may take it. Records made before identities were per
        # process name the pod only: there the same name is the same identity, renewed at once by the
        # restarted container, which is no takeover.
        before, after = ev.get("leaderBefore"), ev.get("leaderAfter")
        seen, stopped_at, phase = ev.get("leaderSeenAtMs"), ev.get("killedAtMs"), ev.get("leaderAfterPhase")
        why = []
        restarts_before, restarts_after = ev.get("restartsBefore"), ev.get("leaderAfterRestarts")
        if not after:
            why.append("no holder recorded")
        elif after == before:
            why.append("the holder is the process that was stopped, %s (the same Lease identity%s): no other process "
                       "took over" % (after, "; its container restarted, restarts %s -> %s" % (restarts_before, restarts_after)
                                      if isinstance(restarts_before, int) and isinstance(restarts_after, int)
                                      and restarts_after > restarts_before else ""))
        if not isinstance(seen, (int, float)) or not isinstance(stopped_at, (int, float)) or seen < stopped_at:
            why.append("no holder seen after the stop (seen at %s, stopped at %s)" % (seen, stopped_at))
        if phase != "Running":
            why.append("the holder's phase was %s, not Running" % (phase or "not recorded"))
        need(not why, "lease-taken-over", "another running process (Lease identity) took the Lease after the leader was stopped "
             "(before %s, after %s): %s" % (before, after, "; ".join(why) or "yes"))
        # Gate mode's helper and exec mode's script both ask again, or sleep the rest of the hold,
        # when the replica holding their call dies: no pod goes early, whichever replica held it.
        no_failed()
        releases()
    elif name.startswith("operator-down-"):
        pf = r.get("phaseFailed") or {}

        def window(key, cid, text, informational=False):
            w = pf.get(key) or {}
            n, f = w.get("requests"), w.get("failed", 0)
            need(bool(n) and f == 0, cid, text % (f, n if n is not None else "no recorded"), informational)

        window("rolloutWithoutOperator", "rollout-window-no-failed",
               "a rollout while no operator runs drops no request (%d of %s failed)")
        window("afterOperatorBack", "after-restore-no-failed",
               "after the operator is back the rollout finishes without a failure (%d of %s)")
        if mode == "gate":
            window("deletePodWithoutOperator", "deleted-pod-no-failed", "a pod deleted while no operator runs: %d of %s "
                   "failed (gate mode has no hold without the operator; measured, not a pass criterion)", True)
        else:
            window("deletePodWithoutOperator", "deleted-pod-no-failed",
                   "a pod deleted while no operator runs drops no request (%d of %s failed)")
    elif name == "exec-rollout":
        no_failed()
        verified = pods_with_drain(r, "Verified")
        need(stopped and stopped <= verified and set(r["releasedBy"]) == {"Verified"}, "exec-verified",
             "every old pod's exec hook reached the gate and was released Verified, not by the script's sleep "
             "(%d pods stopped, %d of them with a Verified drain%s; releasedBy %s)"
             % (len(stopped), len(stopped & verified), missing_text(stopped - verified), r["releasedBy"]))
        releases()
    elif name == "traefik-api-down":
        no_failed()
        timed_out = pods_with_drain(r, "Timeout")
        timeouts = r["releasedBy"].get("Timeout", 0)
        need(stopped and stopped <= timed_out and set(r["releasedBy"]) == {"Timeout"}, "all-timeout",
             "every hold released by Timeout (%d pods stopped, %d of them with a Timeout drain%s; releasedBy %s)"
             % (len(stopped), len(stopped & timed_out), missing_text(stopped - timed_out), r["releasedBy"]))
        # Gate Warnings are written at most once per app and reason a minute, the next one carrying
        # the count of those left out (docs/api.md, Events): the drill's Timeouts fall in one minute,
        # so one Event says it, and each pod's Timeout is in status.lastDrains (all-timeout above).
        need(timeouts > 0 and r["drainHoldTimeoutEvents"] >= 1, "timeout-events",
             "a DrainHoldTimeout Event for the Timeouts (%d Events for %d Timeout drains, at most one per app a minute)"
             % (r["drainHoldTimeoutEvents"], timeouts))
        need(bound and pods and all(p.get("sigtermAfterDeletionS", 0) >= bound - SAMPLING_SLACK for p in pods),
             "no-hold-before-bound", "no hold ended before its bound %s s (SIGTERM after deletion: %s)"
             % (bound, ", ".join(str(p.get("sigtermAfterDeletionS")) for p in pods) or "judged no pod, none stopped"))
    elif name == "apiserver-restart":
        ev = r["evidence"]
        no_failed()
        need((ev.get("readyzNot200Seconds") or 0) > 0, "apiserver-was-down",
             "the API server was down: /readyz not 200 for %s s (stopped for %s s)"
             % (ev.get("readyzNot200Seconds"), ev.get("downSeconds")))
        releases()
    elif name == "eviction":
        ev = r["evidence"]
        evicted = set(ev.get("evicted", []))
        no_failed()
        need(len(evicted) == meta["replicas"], "all-evicted", "every pod was evicted (%d of %d)"
             % (len(evicted), meta["replicas"]))
        need(ev.get("refusals429", 0) > 0, "pdb-429", "the PDB refused evictions with 429 (%d refusals)" % ev.get("refusals429", 0))
        low = r.get("minHealthyPods")
        need(low is not None and low >= meta["replicas"] - 1, "pdb-held",
             "the PDB held: never fewer than %d serving pods not being deleted (lowest %s)" % (meta["replicas"] - 1, low))
        gated = pods_with_drain(r, "Verified", "Timeout")
        need(evicted and evicted <= gated and "Bypassed" not in r["releasedBy"], "evicted-gated",
             "every evicted pod passed the gate (%d of %d evicted pods with a Verified or Timeout drain%s; releasedBy %s)"
             % (len(evicted & gated), len(evicted), missing_text(evicted - gated), r["releasedBy"]))
        releases()
    elif name == "operator-restart-draining":
        no_failed()
        releases()
        drained = pods_with_drain(r)
        need(stopped and stopped <= drained, "drains-recorded",
             "every held pod's drain was recorded, none abandoned (%d of %d pods with a drain record%s; releasedBy %s)"
             % (len(stopped & drained), len(stopped), missing_text(stopped - drained), r["releasedBy"]))
    return crit


def missing_text(pods):
    return "; without: " + ", ".join(sorted(pods)) if pods else ""


def check(r, meta, drains=None, run=None):
    """Sets r["criteria"] and r["passed"] (every criterion that is not informational passed)."""
    r["criteria"] = criteria(r, meta)
    r["passed"] = all(c["passed"] for c in r["criteria"] if not c["informational"])
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
        pf = r.get("phaseFailed") or {}
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


def print_criteria(r):
    print("%s  %s" % ("PASS" if r["passed"] else "FAIL", r["name"]))
    for c in r["criteria"]:
        print("      %s %s" % ("ok  " if c["passed"] else ("info" if c["informational"] else "FAIL"), c["criterion"]))


def recheck(runs, names):
    failed = 0
    for name in names:
        r, meta, drains = recorded(os.path.join(runs, name))
        check(r, meta, drains)
        print_criteria(r)
        failed += not r["passed"]
    print("%d passed, %d failed" % (len(names) - failed, failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out")
    ap.add_argument("--drills", required=True)
    ap.add_argument("--wall", type=int, default=None)
    ap.add_argument("--recheck", action="store_true",
                    help="apply the criteria again to committed runs (from their drill.json); writes nothing")
    a = ap.parse_args()
    if a.recheck:
        sys.exit(recheck(a.runs, a.drills.split(",")))
    if not a.out:
        ap.error("--out is required")
    os.makedirs(a.out, exist_ok=True)
    results_path = os.path.join(a.out, "drills.json")
    previous = {d["name"]: d for d in records.read_json(results_path, [])}
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
                                             "loadAverageAfter", "traefikSampling")}
        order.append(name)
        print_criteria(r)
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
                "connection per request.%s%s\n\n" % ("" if a.wall is None else " Last run: %d s wall time." % a.wall,
                                                     measured_code.sentence(a.runs)))
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    failed = [n for n in order if not previous[n]["passed"]]
    print("%d passed, %d failed" % (len(order) - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
