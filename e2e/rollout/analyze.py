"""Reads the rollout benchmark's runs and writes the result table, rollout.json and the timeline.

Every number comes from what the run recorded: the load generator's per-request CSV, the pod
watch stream, the old pods' own log lines (SIGTERM, exit, the own preStop hook's event=prestop,
the drain helper's zdt-drain line, each line with the runtime's timestamp), Traefik's server list
sampled 20 times a second (traefik_sampler.py) and, for ZeroDowntimeApps, status.lastDrains.
Exits 1 when a pass criterion fails.

The criteria (check) are a function of what analyze() read, so that e2e/rollout/test_analyze.py
can show each of them failing on a small recorded run (e2e/rollout/testdata/).
"""
import argparse
import csv
import json
import math
import os
import re
import statistics
import sys

from e2e.lib import records
from e2e.lib import runcode as measured_code
from e2e.rollout import traefik_sampler
from e2e.tenancy import attack as tenancy_attack

TITLES = {
    "plain-streams": "plain Deployment, streams and kept-alive clients",
    "gate-streams": "zdt gate, streams and kept-alive clients",
    "plain-streams-envoy": "plain Deployment via Envoy, streams and kept-alive clients",
    "gate-streams-envoy": "zdt gate via Envoy, streams and kept-alive clients",
    "plain": "(a) plain Deployment, no preStop",
    "sleep30": "(b) hand-tuned: preStop sleep 30, grace 60",
    "gate": "(c) ZeroDowntimeApp, gate mode",
    "zdt-sleep": "(d) ZeroDowntimeApp, sleep mode (derived, unverified)",
    "sleep5": "(e) hand-tuned on a quiet day: preStop sleep 5",
    "gate-scale-down": "(c) gate: scale-down 4 -> 2",
    "gate-delete-pod": "(c) gate: kubectl delete pod",
    "gate-long-requests": "(c) gate: rollout with 10 s requests in flight",
    "gate-restricted": "zdt gate, restricted namespace, image without a shell, own preStop kept",
    "gate-hostile": "(c) gate while another tenant attacks the gate",
    "gate-siege": "(c) gate while six tenants attack the gate, the webhook and through their front ends",
    "gate-2traefik": "zdt gate through two Traefik replicas, load split, one lagging",
    "plain-httproute": "plain Deployment, its own HTTPRoute, through Traefik's Gateway API provider",
    "gate-httproute": "zdt gate, spec.route rendered as an HTTPRoute, through Traefik's Gateway API provider",
    "plain-2traefik": "plain Deployment through two Traefik replicas, load split, one lagging",
    "sleep30-2traefik": "hand-tuned preStop sleep 30 through two Traefik replicas, load split, one lagging",
    "sleep30-httproute": "hand-tuned preStop sleep 30, its own HTTPRoute, through Traefik's Gateway API provider",
    "sleep30-envoy": "hand-tuned preStop sleep 30, through Envoy (Contour)",
    "sleep30-haproxy": "hand-tuned preStop sleep 30, through HAProxy probing the pods",
    "plain-envoy": "(a) plain Deployment, no preStop, through Envoy (Contour)",
    "gate-envoy": "(c) ZeroDowntimeApp, gate mode, through Envoy (Contour), verified at Envoy's admin",
    "plain-haproxy": "plain Deployment through HAProxy probing the pods",
    "gate-haproxy": "zdt gate through HAProxy probing the pods, verified by its runtime API",
    "slow-frontend": "zdt gate, Traefik 8 s declared, second replica lagging, no calibration",
    "gate-calibrated": "the same app and namespace with drain.calibration on",
    "policy-deployment": "plain Deployment (as a chart renders it) + DrainPolicy",
    "policy-statefulset": "plain StatefulSet, RollingUpdate + DrainPolicy",
}

# The condition a front end slower than the budget sets (docs/api.md, Observed propagation).
SLOWER_REASON = "FrontEndSlowerThanBudget"

# What the webhook injects into a pod a DrainPolicy selects (docs/api.md, DrainPolicy), and what a
# pod created after the policy's deletion must not carry.
INJECTED_INIT = "zdt-drain-install"
INJECTED_GATE = "zdt.dev/in-rotation"
INJECTED_LABEL = "zdt.dev/app"
INJECTED_ANNOTATION = "zdt.dev/drain-policy"
# The operator's log line for each drain it answered (DrainReporter.line): a DrainPolicy's drains
# are logged and counted, not kept in a status. The policy's pods are known to the gate as
# policy.<name>.
DRAIN_LOG = re.compile(r"\bdrain (?P<ns>[^/\s]+)/(?P<app>\S+) pod (?P<pod>\S+) released by (?P<by>\w+) after "
                       r"(?P<held>[0-9.]+)s")

# gate-hostile: how much the operator's threads may grow, and its heap may reach, under the attack.
HOSTILE_THREADS_GROWTH = 50
HOSTILE_HEAP_MAX_BYTES = 512 * 1024 * 1024


# The load must have run as asked: at least this share of the requests the rate asked for over
# the load's window, and of the request count bench.sh asked for (meta.json minRequests).
LOAD_SHARE = 0.9

# The drain helper's outcomes that end a drain as designed: the gate answered 200, or the hold
# passed on the helper's own clock. BadArguments (the hold slept without asking) is a failure.
HELPER_OK = ("Released", "HoldExpired")
# status.lastDrains keeps the newest this many drains (DrainReporter.KEEP).
LAST_DRAINS_KEEP = 10
# The own preStop hook runs after the hold: its event=prestop may not be earlier than the pod's
# termination start (from the pod watch, whole seconds, so never late) plus the helper's held.
HOOK_SLACK = 0.5
# How check texts name the front end a scenario's samples come from (meta.json's frontEnd).
FRONT_END_NAMES = {"traefik": "Traefik", "traefik-gateway": "Traefik", "envoy": "Envoy", "haproxy": "HAProxy"}

# Traefik's routing is sampled 20 times a second; the check needs at least 10 (a median interval
# of at most this many ms over the whole recording).
SAMPLING_MEDIAN_MS_MAX = 100
# The resolution an early release is judged at: Traefik dropped a pod somewhere between the last
# sample that lists it and the end of the first that does not. A release inside that window is
# neither early nor late as far as the samples can tell; it passes only when the window is at
# most this long, and is reported "unresolved" otherwise.
RESOLUTION_BOUND_MS = 250


def pod_key(uids, meta):
    """The name a pod is known by in the analysis: its own, or for a later pod of the same name (a
    StatefulSet's replacement) the name with #2, #3, ... (the old pod keeps the name its log has)."""
    name, uid = meta["name"], meta.get("uid")
    seen = uids.setdefault(name, [])
    if uid is not None and uid not in seen:
        seen.append(uid)
    n = seen.index(uid) + 1 if uid is not None else 1
    return name if n == 1 else "%s#%d" % (name, n)


def pod_timeline(run):
    """Per pod: IP, when its termination started (preStop), when it became ready."""
    pods, uids = {}, {}
    for _, pod in records.watched_objects(os.path.join(run, "pods.json")):
        meta, status = pod["metadata"], pod.get("status", {})
        key = pod_key(uids, meta)
        p = pods.setdefault(key, {"name": key})
        if status.get("podIP"):
            p["ip"] = status["podIP"]
        if meta.get("deletionTimestamp") and "stopAt" not in p:
            # deletionTimestamp is the deadline: deletion time + grace
            p["stopAt"] = records.epoch(meta["deletionTimestamp"]) - int(meta.get("deletionGracePeriodSeconds", 0))
        for c in status.get("conditions", []):
            if c["type"] == "Ready" and c["status"] == "True" and "readyAt" not in p:
                p["readyAt"] = records.epoch(c["lastTransitionTime"])
    return pods


# The drain helper's one line in the container's stdout (src/main/go/zdt-drain/README.md, "The log
# line"): no timestamp, the prefix, then key=value pairs; free texts are double-quoted and hold no
# double quote. Its install line (the init container's) has no outcome and is no report.
HELPER_PREFIX = "zdt-drain:"
HELPER_FIELD = re.compile(r'(?:^|(?<=\s))([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)')


def seconds(value):
    """"3.21s" -> 3.21; None when it is not a number of seconds."""
    try:
        return float(value[:-1]) if value.endswith("s") else float(value)
    except (AttributeError, ValueError):
        return None


def helper_line(line):
    """The zdt-drain report on a log line as a dict (held, hook_took and streams_took in seconds,
    attempts an int), or None when the line is not one."""
    if not line.startswith(HELPER_PREFIX):
        return None
    out = {}
    for m in HELPER_FIELD.finditer(line[len(HELPER_PREFIX):].strip()):
        key, value = m.group(1), m.group(2)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out.setdefault(key, value)
    if "outcome" not in out:
        return None
    for key in ("held", "hook_took", "streams_took"):
        if key in out:
            out[key] = seconds(out[key])
    if "attempts" in out:
        out["attempts"] = int(out["attempts"]) if out["attempts"].isdigit() else None
    return out


# `kubectl logs --timestamps` puts the runtime's RFC 3339 timestamp (nanoseconds) before each
# line: when the container runtime read the line, on the same clock as the app's own timestamps
# and Traefik's samples. The drain helper's line has no timestamp of its own.
RUNTIME_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (?=\d{4}-\d\d-\d\dT|zdt-drain:)")


def runtime_stamp(line):
    """(the runtime's timestamp in epoch seconds, the line without it); (None, line) when the log
    was recorded without --timestamps."""
    m = RUNTIME_STAMP.match(line)
    if not m:
        return None, line
    return records.epoch(m.group(1) + (m.group(2) or "") + "Z"), line[m.end():]


def pod_log(run, pod):
    """One pod's recorded log: whether it was recorded, the first timestamp and the line index
    (0-based, in the order the lines were written) of each app event, and the drain helper's
    report lines, each with its index as "line" and, when the log has the runtime's timestamps,
    the time it was written as "at"."""
    path = os.path.join(run, "logs", pod + ".log")
    out = {"recorded": records.exists(path), "events": {}, "eventLine": {}, "helpers": []}
    if not out["recorded"]:
        return out
    with records.open_text(path) as f:
        lines = list(f)
    for i, line in enumerate(lines):
        at, line = runtime_stamp(line.rstrip("\n"))
        helper = helper_line(line)
        if helper is not None:
            out["helpers"].append(dict(helper, line=i, **({"at": at} if at is not None else {})))
            continue
        parts = line.split()
        kv = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
        if "event" in kv and kv["event"] not in out["events"]:
            try:
                out["events"][kv["event"]] = records.epoch(parts[0])
            except ValueError:  # not one of the app's lines (they start with their timestamp)
                continue
            out["eventLine"][kv["event"]] = i
    return out


def pod_specs(run):
    """Per pod (pod_timeline's keys): the last spec, labels and annotations the watch recorded."""
    out, uids = {}, {}
    for _, pod in records.watched_objects(os.path.join(run, "pods.json")):
        meta = pod["metadata"]
        out[pod_key(uids, meta)] = {"spec": pod.get("spec") or {}, "labels": meta.get("labels") or {},
                                    "annotations": meta.get("annotations") or {}}
    return out


def drain_parts(pod, container_name=None):
    """What of the DrainPolicy's drain a pod ({"spec", "labels", "annotations"}) carries: the init
    container, a preStop on the serving container (containerName, default the first), the
    readiness gate, the label and the annotation; and its terminationGracePeriodSeconds."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    serving = next((c for c in containers if c.get("name") == container_name), containers[0] if containers else {})
    return {
        "initContainer": any(c.get("name") == INJECTED_INIT for c in spec.get("initContainers") or []),
        "preStop": bool(((serving.get("lifecycle") or {}).get("preStop"))),
        "readinessGate": any(g.get("conditionType") == INJECTED_GATE for g in spec.get("readinessGates") or []),
        "label": INJECTED_LABEL in (pod.get("labels") or {}),
        "annotation": INJECTED_ANNOTATION in (pod.get("annotations") or {}),
        "grace": spec.get("terminationGracePeriodSeconds"),
    }


def policy_facts(run, meta):
    """A policy-* run: the policy's status after the rollout (budget, minReadySeconds advice, Ready),
    the owner's minReadySeconds, what each recorded pod carries of the drain, the drains the
    operator logged, and (policy-deployment) the pods created after the policy was deleted."""
    def load(name):
        return records.read_json(os.path.join(run, name))

    policy = load("policy.json") or {}
    status = policy.get("status") or {}
    budget = status.get("drainBudget") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    owner = load("owner.json")
    owner_min = None if owner is None else (owner.get("spec") or {}).get("minReadySeconds", 0)
    advised = budget.get("minReadySeconds")
    container = (policy.get("spec") or {}).get("containerName")
    out = {
        "policyRecorded": bool(policy),
        "ready": {"status": ready.get("status"), "reason": ready.get("reason"), "message": ready.get("message")},
        "coveredPods": status.get("coveredPods"),
        "unprotectedPods": status.get("unprotectedPods"),
        "graceSeconds": budget.get("terminationGracePeriodSeconds"),
        "propagationSeconds": budget.get("propagationSeconds"),
        "verify": ((policy.get("spec") or {}).get("traffic") or {}).get("verify", "endpoints"),
        "owners": status.get("owners"),
        "ownerName": None if owner is None else "%s %s" % (owner.get("kind"), (owner.get("metadata") or {}).get("name")),
        "minReadySeconds": {"advised": advised, "owner": owner_min,
                            "ownerHasIt": None if advised is None or owner_min is None else owner_min >= advised},
        "pods": {k: drain_parts(v, container) for k, v in sorted(pod_specs(run).items())},
    }
    after = load("plain-after.json")
    if after is not None:
        live = [p for p in after.get("items") or [] if not (p.get("metadata") or {}).get("deletionTimestamp")]
        out["afterDeletion"] = {
            (p.get("metadata") or {}).get("name"): drain_parts(
                {"spec": p.get("spec"), "labels": (p.get("metadata") or {}).get("labels"),
                 "annotations": (p.get("metadata") or {}).get("annotations")}) for p in live}
    return out


def logged_drains(run, namespace=None):
    """The drains the operator logged (operator.log, every replica's lines), oldest first, as
    status.lastDrains entries: pod, releasedBy, heldSeconds."""
    path = os.path.join(run, "operator.log")
    out = []
    if not records.exists(path):
        return out
    with records.open_text(path) as f:
        for line in f:
            m = DRAIN_LOG.search(line)
            if m and (namespace is None or m.group("ns") == namespace):
                out.append({"pod": m.group("pod"), "releasedBy": m.group("by"), "heldSeconds": float(m.group("held"))})
    return out


def log_events(run, pod):
    """The first timestamp of each app event (event=sigterm, exit, prestop, ...) in a pod's log."""
    return pod_log(run, pod)["events"]


def traefik_samples(run):
    """The front end's recorded server lists (traefik_sampler.Sample), oldest first: Envoy's
    balanced hosts (envoy.txt) or HAProxy's servers (haproxy.txt) when the load went through them
    (their samplers write traefik.txt's format), else Traefik's."""
    for name in ("envoy.txt", "haproxy.txt", "traefik.txt"):
        path = os.path.join(run, name)
        if records.exists(path):
            with records.open_text(path) as f:
                return traefik_sampler.read_samples(f)
    return []


def routing(samples, ip, stop_at):
    """What the samples show of Traefik's routing to one pod address: the last sample that lists
    it (lastListedAt, its stamp), the first answered sample after that which does not
    (unlistedAt, and unlistedBy = its stamp plus the time its answer took: Traefik had dropped the
    pod by then), removedAt (the first answered sample from stop_at on without the pod), and
    gapMs, the window Traefik's drop lies in (unlistedBy - lastListedAt). Keys are absent when
    the samples do not show it."""
    needle = "//%s:" % ip
    out, last = {}, None
    for i, s in enumerate(samples):
        if s.lists(needle):
            last = i
    if last is not None:
        out["lastListedAt"] = samples[last].wall
        nxt = next((s for s in samples[last + 1:] if s.error is None), None)
        if nxt is not None:
            out["unlistedAt"], out["unlistedBy"] = nxt.wall, nxt.wall + nxt.took
            out["gapMs"] = round((out["unlistedBy"] - out["lastListedAt"]) * 1000)
    after = max(stop_at, out["lastListedAt"] + 1e-6) if "lastListedAt" in out else stop_at
    removed = next((s.wall for s in samples if s.error is None and s.wall >= after and not s.lists(needle)), None)
    if removed is not None:
        out["removedAt"] = removed
    return out


def release_time(log):
    """When the pod's hold ended, and how that is known: the drain helper's line as the runtime
    stamped it, less what the helper did after the release before writing it (the template's
    preStop, hook_took; then the stream phase, streams_took: the drain signal and the wait for
    connections). A line from a helper before streams_took that ran a stream phase is bounded by
    the app's drain-signal line instead, less hook_took (the signal follows the hold and the hook:
    the latest the release can have been). Else the app's SIGTERM line, which comes after the
    whole preStop (the latest too). (None, None) without either."""
    h = log["helpers"][0] if log["helpers"] else {}
    if "at" in h:
        end = h["at"] - (h.get("hook_took") or 0.0) - (h.get("streams_took") or 0.0)
        signal = log["events"].get("drain-streams")
        if "streams" in h and "streams_took" not in h and signal is not None:
            end = min(end, signal - (h.get("hook_took") or 0.0))
        return end, "zdt-drain line"
    if "sigterm" in log["events"]:
        return log["events"]["sigterm"], "SIGTERM line"
    return None, None


def release_verdict(release, last_listed, unlisted_by, bound_ms=RESOLUTION_BOUND_MS):
    """How a hold's end compares with Traefik's drop of the pod, from the samples around it (any
    common time origin): "early" (released before a sample that still lists the pod), "ok"
    (released at or after the last sample listing it, and either after the drop was seen or
    inside a window of at most bound_ms), "unresolved" (inside a wider window: an early release
    would not show), "unknown" (no release time or no sample listing the pod)."""
    if release is None or last_listed is None:
        return "unknown"
    if release < last_listed:
        return "early"
    if unlisted_by is None:
        return "unresolved"
    if release < unlisted_by and (unlisted_by - last_listed) * 1000 > bound_ms:
        return "unresolved"
    return "ok"


def sampling_facts(samples, gaps):
    """The achieved sampling (traefik_sampler.stats) and the resolution around the pods' removals:
    the widest window a drop lay in, against the bound the checks allow."""
    out = traefik_sampler.stats(samples)
    out["resolutionMsMax"] = max(gaps) if gaps else None
    out["resolutionBoundMs"] = RESOLUTION_BOUND_MS
    return out


def load_facts(meta, summary, change_ms, done_ms):
    """What the load generator did (its summary.json) next to what it was asked for (meta.json:
    rate, and for the benchmark minRequests), and whether its window covered the change: from
    before the change until the last pod that had to go was gone (done_ms; None when unknown)."""
    start, window, requests = summary.get("startEpochMs"), summary.get("durationSeconds"), summary.get("requests")
    end = start + window * 1000 if start is not None and window is not None else None
    return {
        "rate": meta.get("rate"),
        "minRequests": meta.get("minRequests"),
        "requests": requests,
        "windowSeconds": window,
        "achievedRate": round(requests / window, 1) if requests is not None and window else None,
        "startedBeforeChangeSeconds": None if start is None or change_ms is None else round((change_ms - start) / 1000.0, 1),
        "endedAfterDoneSeconds": None if end is None or done_ms is None else round((end - done_ms) / 1000.0, 1),
    }


def load_problems(load, need_min_requests):
    """Why the load does not count as having run as asked; empty when it does."""
    out = []
    rate, requests, window = load.get("rate"), load.get("requests"), load.get("windowSeconds")
    if not rate or rate <= 0:
        out.append("no request rate recorded")
    if requests is None or not window:
        out.append("the load generator recorded no requests or window")
    elif rate and requests < LOAD_SHARE * rate * window:
        out.append("%d requests in %.1f s: %.1f req/s, under %d%% of the %s req/s asked"
                   % (requests, window, requests / window, LOAD_SHARE * 100, rate))
    if need_min_requests:
        want = load.get("minRequests")
        if not want or want <= 0:
            out.append("no request count asked for (meta.json minRequests %s)" % want)
        elif requests is not None and requests < LOAD_SHARE * want:
            out.append("%d requests, under %d%% of the %d asked for" % (requests, LOAD_SHARE * 100, want))
    before, after = load.get("startedBeforeChangeSeconds"), load.get("endedAfterDoneSeconds")
    if before is None or before < 0:
        out.append("the load did not start before the change (%s s before it)" % before)
    if after is not None and after < 0:
        out.append("the load stopped %.1f s before the last pod that had to go was gone" % -after)
    return out


def hostile_facts(run):
    """gate-hostile: the attack's answers (attack.json), the operator's vitals before and after,
    and the Events about refused calls in the victim's namespace."""
    attack = records.read_json(os.path.join(run, "attack.json"), required=True)

    def vitals(name):
        out = {"threads": 0, "heapBytes": 0}
        for replica in records.read_json(os.path.join(run, name), required=True):
            m = replica.get("metrics") or {}
            out["threads"] += int(m.get("jvm_threads_live_threads", 0))
            heap = [v for k, v in m.items() if k.startswith("jvm_memory_used_bytes")]
            out["heapBytes"] = max(out["heapBytes"], int(sum(heap)))
        return out

    events = records.read_json(os.path.join(run, "victim-events.json"), required=True).get("items") or []
    degraded = None
    if records.exists(os.path.join(run, "apiurl-app.json")):
        conditions = (records.read_json(os.path.join(run, "apiurl-app.json")).get("status") or {}).get("conditions") or []
        degraded = next((c for c in conditions if c.get("type") == "Degraded" and c.get("status") == "True"), None)
    return {"facts": attack["facts"], "attacks": attack["attacks"],
            "apiUrlRefusal": None if degraded is None else {"reason": degraded.get("reason"),
                                                             "message": degraded.get("message")},
            "before": vitals("operator-before.json"), "after": vitals("operator-after.json"),
            "victimRefusalEvents": sum(1 for e in events if e.get("reason") == "GateCallUnattributed")}


# gate-siege: a front end's answer the operator reads is capped (zdt.ingress.max-response-bytes,
# 8 MiB) and timed (zdt.ingress.request-timeout, 2 s); what a hostile server pushed into the socket
# before the operator closed it may exceed the cap by the kernel's buffers, not by the answer.
SIEGE_FRONTEND_BYTES_MAX = 32 * 1024 * 1024
SIEGE_FRONTEND_SECONDS_MAX = 10
# The operator's heap at the attack's peak, summed over its pools: half the chart's memory limit.
SIEGE_HEAP_MAX_BYTES = 256 * 1024 * 1024


def siege_facts(run):
    """gate-siege: the flooding tenants' answers and the operator's vitals at their peak
    (attack.json's siege), what the hostile front ends saw (frontends.json), each siege tenant's
    app after the attack, and the operator's pods before and after (restarts)."""
    attack = records.read_json(os.path.join(run, "attack.json"), required=True)
    frontends = records.read_json(os.path.join(run, "frontends.json"), required=True)

    def restarts(name):
        pods = records.read_json(os.path.join(run, name), required=True).get("items") or []
        return {p["metadata"]["name"]: sum(c.get("restartCount", 0) for c in (p.get("status") or {}).get("containerStatuses") or [])
                for p in pods}

    apps = []
    for name in sorted(os.listdir(run)):
        m = re.match(r"siege-(\d+)-app\.json(\.gz)?$", name)
        if not m:
            continue
        app = records.read_json(os.path.join(run, "siege-%s-app.json" % m.group(1)), required=True)
        status = app.get("status") or {}
        apps.append({"namespace": app["metadata"]["namespace"],
                     "holdSeconds": (status.get("drainBudget") or {}).get("holdSeconds"),
                     "frontEnd": (app["spec"]["traffic"].get("controller") or {}).get("service"),
                     "drains": [{"pod": d.get("pod"), "releasedBy": d.get("releasedBy"), "heldSeconds": d.get("heldSeconds"),
                                 "message": d.get("message")} for d in status.get("lastDrains") or []],
                     "conditions": [{k: c.get(k) for k in ("type", "status", "reason", "message")}
                                    for c in status.get("conditions") or []]})
    return {"facts": attack.get("siege") or {}, "budgetSeconds": attack.get("budgetSeconds"),
            "frontends": frontends["modes"], "apps": apps,
            "restartsBefore": restarts("operator-pods-before.json"), "restartsAfter": restarts("operator-pods-after.json")}


def siege_checks(name, s, need):
    """gate-siege's criteria; each can fail (test_attack.py)."""
    f = s["facts"]
    per_ns = f.get("floodsPerNamespace") or {}
    # Each held call ended at its app's hold bound (the status's drain records), not its 2^31 s annotation.
    past_bound = ["%s %s %.1f s of %s" % (a["namespace"], d["pod"], d["heldSeconds"] or 0, a["holdSeconds"])
                  for a in s["apps"] for d in a["drains"]
                  if a["holdSeconds"] is None or (d["heldSeconds"] or 0) > a["holdSeconds"] + 1]
    # What each caller waited: its token's review in the queue, then the hold (judged from the raw
    # slowest answers here, so that a record made under an older rule is judged by this one).
    ended = bool(per_ns) and s.get("budgetSeconds") is not None and all(
        x["slowestSeconds"] <= s["budgetSeconds"] + tenancy_attack.SIEGE_REVIEW_WAIT for x in per_ns.values())
    need(bool(f.get("floodsBounded")) and ended and len(per_ns) >= 5 and not past_bound,
         name + ":floods-bounded",
         "%s: %d tenants flooding with their own pods' tokens: each held at most two calls per pod per replica and "
         "got 429 for the rest, every hold ended at its app's bound (past it: %s) (%s)"
         % (name, len(per_ns), past_bound or "none", "; ".join("%s held %d of %d (limit %d), 429 %d, slowest %.1f s"
                                         % (ns, x["held"], x["sent"], x["limit"], x["refused429"], x["slowestSeconds"])
                                         for ns, x in sorted(per_ns.items()))))
    need(f.get("replayedAllRefused") is True, name + ":replayed-refused",
         "%s: a deleted pod's token, replayed for that pod and a live one, was refused (%s)"
         % (name, f.get("replayedAllRefused")))
    theft = f.get("webhookTheft") or {}
    need(f.get("webhookReplyHasNoCredential") is True, name + ":webhook-no-credential",
         "%s: a review POSTed straight to the webhook was answered (%s, patched %s: %s) with no credential in it"
         % (name, theft.get("status"), theft.get("patched"), ", ".join(theft.get("patchPaths") or [])))
    bodies = f.get("webhookBodies") or []
    need(f.get("webhookBodiesRefused") is True, name + ":webhook-bodies-refused",
         "%s: four endless chunked bodies to the webhook were each refused long before their end, 413 past the "
         "cap or 408 at the read timeout (%s)"
         % (name, ", ".join("%s after %.1f MiB" % (b["status"], b["bytesSent"] / 2**20) for b in bodies)))
    fe = s["frontends"]
    bad = []
    for mode, m in sorted(fe.items()):
        if m["connections"] == 0:
            bad.append(mode + " never asked")
        if m["openAtStop"]:
            bad.append("%s: %d connection(s) still open at the end" % (mode, m["openAtStop"]))
        if mode in ("huge", "endless") and (m["maxBytesSent"] > SIEGE_FRONTEND_BYTES_MAX or m["cutByPeer"] < m["connections"]):
            bad.append("%s: read whole or past the cap (%.1f MiB, %d of %d cut)"
                       % (mode, m["maxBytesSent"] / 2**20, m["cutByPeer"], m["connections"]))
        if m["longestSeconds"] > SIEGE_FRONTEND_SECONDS_MAX:
            bad.append("%s: a connection kept %.1f s" % (mode, m["longestSeconds"]))
    need(not bad, name + ":frontends-bounded",
         "%s: the tenants' hostile front ends were asked and cut short (%s)%s"
         % (name, ", ".join("%s %d asked, longest %.1f s, most %.1f MiB" % (k, v["connections"], v["longestSeconds"],
                                                                            v["maxBytesSent"] / 2**20)
                            for k, v in sorted(fe.items())), (": " + "; ".join(bad)) if bad else ""))
    verified = [(a["namespace"], d["pod"]) for a in s["apps"] for d in a["drains"] if d["releasedBy"] == "Verified"]
    undrained = [a["namespace"] for a in s["apps"] if not a["drains"]]
    # The front end must have been asked about the pod: a decoy without an address is held without asking.
    unasked = sorted({a["namespace"] for a in s["apps"] for d in a["drains"] if "no IP" in (d.get("message") or "")})
    need(len(s["apps"]) >= 5 and not verified and not undrained and not unasked, name + ":hostile-frontends-not-trusted",
         "%s: no decoy of a tenant with a hostile front end was released as Verified (%s), each tenant's drains "
         "recorded (none for: %s), each decided on the front end's answer about the pod's address (not for: %s); "
         "what the tenants were told: %s"
         % (name, verified or "none", undrained or "none", unasked or "none",
            "; ".join(sorted({"%s: %s" % (a["namespace"], (a["drains"][0].get("message") or "")[:160])
                              for a in s["apps"] if a["drains"]}))))
    peak = f.get("vitalsPeak") or {}
    grew = max((p["threadsMax"] - (p["threadsFirst"] or 0) for p in peak.values()), default=None)
    heap = max((p["heapBytesMax"] for p in peak.values()), default=None)
    same = s["restartsBefore"] == s["restartsAfter"]
    need(bool(f.get("vitalsSampled")) and same and grew is not None and grew <= HOSTILE_THREADS_GROWTH
         and heap <= SIEGE_HEAP_MAX_BYTES, name + ":operator-bounded-at-peak",
         "%s: sampled at their peak (%s samples), the operator's threads grew by at most %d (%s) and its heap stayed "
         "under %d MiB (%s MiB); no replica restarted or was replaced (%s -> %s)"
         % (name, [p["samples"] for p in peak.values()], HOSTILE_THREADS_GROWTH, grew, SIEGE_HEAP_MAX_BYTES // 2**20,
            None if heap is None else round(heap / 2**20), s["restartsBefore"], s["restartsAfter"]))


def merged_summary(run):
    """The load generators' summaries as one: with two Traefik replicas, one generator sends half
    the load through each (summary.json, summary-2.json); also each on its own, by replica."""
    first = records.read_json(os.path.join(run, "summary.json"), required=True)
    second = records.read_json(os.path.join(run, "summary-2.json"))
    if second is None:
        return first, None
    merged = dict(first)
    merged["requests"] = first["requests"] + second["requests"]
    merged["failed"] = first["failed"] + second["failed"]
    merged["failedByKind"] = dict(first["failedByKind"])
    for k, v in second["failedByKind"].items():
        merged["failedByKind"][k] = merged["failedByKind"].get(k, 0) + v
    # One window: the shorter of the two, so the rate is not overstated.
    if first.get("durationSeconds") is not None and second.get("durationSeconds") is not None:
        merged["durationSeconds"] = min(first["durationSeconds"], second["durationSeconds"])
        merged["startEpochMs"] = max(first["startEpochMs"], second["startEpochMs"])
    by_replica = [{"replica": i + 1, "requests": x["requests"], "failed": x["failed"], "failedByKind": x["failedByKind"]}
                  for i, x in enumerate((first, second))]
    return merged, by_replica


def analyze(run):
    meta = records.read_json(os.path.join(run, "meta.json"), required=True)
    summary, by_replica = merged_summary(run)
    change = meta["changeAtMs"] / 1000.0
    pods = pod_timeline(run)
    samples = traefik_samples(run)
    holds, propagation, stopped, gaps = [], [], [], []
    for name, p in pods.items():
        if "stopAt" not in p:
            continue
        log = pod_log(run, name)
        ev = log["events"]
        entry = {"pod": name, "preStopAt": p["stopAt"], "wasReady": "readyAt" in p,
                 "logRecorded": log["recorded"], "helperLines": len(log["helpers"]),
                 # where the lines the order checks compare are in the log (first of each)
                 "logLine": {k: v for k, v in (("helper", log["helpers"][0]["line"] if log["helpers"] else None),
                                                ("prestop", log["eventLine"].get("prestop")),
                                                ("sigterm", log["eventLine"].get("sigterm"))) if v is not None}}
        if log["helpers"]:
            entry["helper"] = {k: v for k, v in log["helpers"][0].items() if k not in ("line", "at")}
        if "prestop" in ev:
            entry["preStopHookAt"] = ev["prestop"]
        if "drain-streams" in ev:
            # the app's drain signal for streams (drain.streams' signal), before SIGTERM
            entry["streamsSignalAt"] = ev["drain-streams"]
        if "sigterm" in ev:
            entry["sigtermAt"] = ev["sigterm"]
            holds.append(ev["sigterm"] - p["stopAt"])
        if "exit" in ev:
            entry["exitAt"] = ev["exit"]
        seen = routing(samples, p["ip"], p["stopAt"]) if "ip" in p else {}
        if "removedAt" in seen:
            entry["traefikRemovedAt"] = seen["removedAt"]
            propagation.append(seen["removedAt"] - p["stopAt"])
        for k, key in (("lastListedAt", "traefikLastListedAt"), ("unlistedBy", "traefikUnlistedBy"), ("gapMs", "traefikGapMs")):
            if k in seen:
                entry[key] = seen[k]
        if "gapMs" in seen and entry["wasReady"]:
            gaps.append(seen["gapMs"])
        entry["releaseAt"], entry["releaseSource"] = release_time(log)
        entry["release"] = release_verdict(entry["releaseAt"], seen.get("lastListedAt"), seen.get("unlistedBy"))
        stopped.append(entry)
    released = {}
    drains = []
    zdt_path = os.path.join(run, "zdt.json")
    # A ZeroDowntimeApp's drains are in its status.lastDrains; a DrainPolicy's in the operator's log.
    policy = meta.get("kind") == "policy"
    drains_recorded = records.exists(os.path.join(run, "operator.log") if policy else zdt_path)
    if policy:
        drains = logged_drains(run)
    elif drains_recorded:
        drains = (records.read_json(zdt_path).get("status") or {}).get("lastDrains") or []
    for d in drains:
        released[d.get("releasedBy", "?")] = released.get(d.get("releasedBy", "?"), 0) + 1
    result = {
        "name": meta["name"],
        "title": TITLES.get(meta["name"], meta["name"]),
        "kind": meta.get("kind"),
        "mode": meta.get("mode"),
        "lastDrainsRecorded": drains_recorded,
        # what bench.sh records about the namespace and the template (null for runs before it did)
        "podSecurity": meta.get("podSecurity"),
        "image": meta.get("image"),
        "ownPreStop": meta.get("ownPreStop"),
        "shellAbsent": meta.get("shellAbsent"),
        "change": meta["change"],
        "requests": summary["requests"],
        "failed": summary["failed"],
        "failedByKind": summary["failedByKind"],
        "rolloutSeconds": round(meta["oldPodsExitedAtMs"] / 1000.0 - change, 1),
        "deploymentCompleteSeconds": round(meta["deploymentCompleteAtMs"] / 1000.0 - change, 1),
        "holdSecondsMean": round(statistics.mean(holds), 1) if holds else None,
        "holdSecondsMax": round(max(holds), 1) if holds else None,
        "propagationSecondsObserved": round(statistics.mean(propagation), 1) if propagation else None,
        "propagationSecondsObservedMax": round(max(propagation), 1) if propagation else None,
        "releasedBy": released,
        "traefikSampling": sampling_facts(samples, gaps),
        "throttleSeconds": meta["throttleSeconds"],
        # runs before frontEnd was recorded went through the one Traefik
        "frontEnd": meta.get("frontEnd", "traefik"),
        "frontEndReplicas": meta.get("frontEndReplicas", 1),
        "rate": meta["rate"],
        "load": load_facts(meta, summary, meta["changeAtMs"],
                           max(meta["deploymentCompleteAtMs"], meta["oldPodsExitedAtMs"])),
    }
    if meta.get("calibration") is not None:
        result["calibration"] = meta["calibration"]
        result["namespace"] = meta.get("namespace")
        result["frontEndFit"] = frontend_fit_facts(records.read_json(zdt_path))
    if records.exists(os.path.join(run, "streams.json")):
        result["streams"] = streams_facts(run, stopped, change)
    if records.exists(os.path.join(run, "attack.json")):
        result["hostile"] = hostile_facts(run)
        if records.exists(os.path.join(run, "frontends.json")):
            result["siege"] = siege_facts(run)
    if policy:
        result["workload"] = meta.get("workload")
        result["replicas"] = meta.get("replicas")
        result["policy"] = policy_facts(run, meta)
    if by_replica:
        result["byFrontEndReplica"] = by_replica
        result["laggingThrottleSeconds"] = meta.get("laggingThrottleSeconds")
    s = records.read_json(os.path.join(run, "slow-summary.json"))
    if s is not None:
        result["longRequests"] = {"requests": s["requests"], "failed": s["failed"], "failedByKind": s["failedByKind"]}
        result["requests"] += s["requests"]
        result["failed"] += s["failed"]
        for k, v in s["failedByKind"].items():
            result["failedByKind"][k] = result["failedByKind"].get(k, 0) + v
    return result, stopped, pods, drains


STREAM_KINDS = ("ws", "sse", "grpc")
STREAM_NAMES = {"ws": "WebSocket", "sse": "SSE", "grpc": "gRPC"}


def streams_facts(run, stopped, change):
    """What the long-lived connections met (streams.json, streams.jsonl, keepalive-summary.json,
    h2-summary.json): per kind the loadgen's counts, and every connection that opened after the
    change judged against the stopped pods: opened on a pod after its drain signal (its
    event=drain-streams line when drain.streams called it, else its SIGTERM line: the demo app ends its
    streams there and refuses new ones), or on a pod whose deletion had begun but whose signal had
    not come (its hold: served until the signal, then ended cleanly like the others)."""
    summary = records.read_json(os.path.join(run, "streams.json"), required=True)
    by_pod = {p["pod"]: p for p in stopped}
    change_ms = change * 1000.0
    out = {"kinds": {}, "keepAlive": None}
    for kind in STREAM_KINDS:
        k = summary.get(kind) or {}
        if kind == "grpc" and not k.get("streams"):
            continue  # runs before the gRPC kind had none
        out["kinds"][kind] = {key: k.get(key) for key in ("streams", "connections", "failedConnects", "abnormal",
                                                        "messages", "lost", "duplicated", "closeKinds")}
        out["kinds"][kind]["reconnectMsMax"] = (k.get("reconnectMs") or {}).get("max")
        out["kinds"][kind]["reconnectMsP99"] = (k.get("reconnectMs") or {}).get("p99")
        out["kinds"][kind].update({"afterSignal": [], "inHold": 0, "failedAfterChange": {}})
    for c in records.jsonl(os.path.join(run, "streams.jsonl")):
        k = out["kinds"].get(c.get("kind"))
        if k is None:
            continue
        at = c.get("connectedEpochMs")
        if at is None:
            if (c.get("openEpochMs") or 0) >= change_ms:
                kind = c.get("closeKind") or "?"
                k["failedAfterChange"][kind] = k["failedAfterChange"].get(kind, 0) + 1
            continue
        p = by_pod.get(c.get("pod"))
        if p is None or at < change_ms:
            continue
        signals = [(p[f], what) for f, what in (("streamsSignalAt", "drain signal"), ("sigtermAt", "SIGTERM"))
                   if p.get(f) is not None]
        signal = min(signals) if signals else None
        if signal is not None and at >= signal[0] * 1000.0:
            k["afterSignal"].append("%s stream %s conn %s on %s %.1f s after its %s"
                                    % (c["kind"], c.get("stream"), c.get("conn"), c["pod"],
                                       at / 1000.0 - signal[0], signal[1]))
        elif at >= p["preStopAt"] * 1000.0:
            k["inHold"] += 1
    for key, name in (("keepAlive", "keepalive-summary.json"), ("keepAliveH2", "h2-summary.json")):
        ka = records.read_json(os.path.join(run, name))
        out[key] = None if ka is None else {"requests": ka["requests"], "failed": ka["failed"],
                                            "failedByKind": ka["failedByKind"]}
    return out


def streams_checks(name, r, gated, need):
    """The streams scenarios' criteria: through the gate no abnormal close, no message lost or
    repeated, no connection on a pod past its drain signal, no attempt refused, no kept-alive request
    failed, and the streams did move (clean closes); a plain Deployment must show a problem."""
    st = r["streams"]
    kinds = st["kinds"]
    present = list(kinds)  # streams_facts keeps STREAM_KINDS' order and only the kinds the run had

    def each(field):
        return ", ".join("%s %s" % (k, kinds[k].get(field)) for k in present)

    after = [a for k in present for a in kinds[k]["afterSignal"]]
    failed_after = {k: kinds[k]["failedAfterChange"] for k in present if kinds[k]["failedAfterChange"]}
    if not gated:
        problems = sum((kinds[k].get("abnormal") or 0) + (kinds[k].get("lost") or 0)
                       + (kinds[k].get("duplicated") or 0) + sum(kinds[k]["failedAfterChange"].values())
                       + len(kinds[k]["afterSignal"]) for k in present)
        need(problems > 0, name + ":streams-show-problem",
             "%s: the plain Deployment shows what streams meet (abnormal: %s; lost: %s; attempts that did not open "
             "after the change: %s; connections on a pod after its drain signal: %d)"
             % (name, each("abnormal"), each("lost"), failed_after or "none", len(after)))
        return
    need(all(kinds[k].get("connections") and (kinds[k].get("closeKinds") or {}).get("clean") for k in present),
         name + ":streams-moved",
         "%s: the streams of the stopped pods were ended by the app's goodbye and reconnected (clean closes: %s; "
         "connections: %s)" % (name, ", ".join("%s %s" % (k, (kinds[k].get("closeKinds") or {}).get("clean"))
                                              for k in present), each("connections")))
    need(all(kinds[k].get("abnormal") == 0 for k in present), name + ":streams-no-abnormal",
         "%s: no stream closed abnormally (%s)" % (name, each("abnormal")))
    need(all(kinds[k].get("lost") == 0 and kinds[k].get("duplicated") == 0 for k in present),
         name + ":streams-no-lost",
         "%s: no message lost or repeated across reconnects (lost: %s; duplicated: %s; messages: %s)"
         % (name, each("lost"), each("duplicated"), each("messages")))
    need(not after and not failed_after, name + ":streams-reconnect-elsewhere",
         "%s: every reconnect opened on a pod before its drain signal, none refused (%s; attempts that did not "
         "open after the change: %s; opened on a pod in its hold, ended cleanly at its signal: %s)"
         % (name, "; ".join(after) or "none after a drain signal", failed_after or "none", each("inHold")))
    parts, ok = [], True
    for key, proto in (("keepAlive", "HTTP/1.1"), ("keepAliveH2", "HTTP/2")):
        k = st.get(key) or {}
        ok = ok and k.get("failed") == 0 and bool(k.get("requests"))
        parts.append("%s %s of %s failed%s" % (proto, k.get("failed"), k.get("requests"),
                                               " " + str(k.get("failedByKind")) if k.get("failed") else ""))
    need(ok, name + ":keepalive-no-failed",
         "%s: kept-alive clients drop no request (%s)" % (name, "; ".join(parts)))


def frontend_fit_facts(app):
    """What the app's status says about the front end as measured: the window, the Degraded
    condition and the hold with its derivation (None without a recorded zdt.json)."""
    if app is None:
        return None
    status = app.get("status") or {}
    observed = status.get("observedPropagation") or {}
    degraded = next((c for c in status.get("conditions") or [] if c.get("type") == "Degraded"), {})
    budget = status.get("drainBudget") or {}
    return {
        # the app object itself: a namespace made afresh for a run gives its app a new uid
        "appUid": (app.get("metadata") or {}).get("uid"),
        "appGeneration": (app.get("metadata") or {}).get("generation"),
        "drains": observed.get("drains"),
        "maxSeconds": observed.get("maxSeconds"),
        "medianSeconds": observed.get("medianSeconds"),
        "lateDrains": observed.get("lateDrains"),
        "replicas": {r.get("replica"): r.get("maxSeconds") for r in observed.get("replicas") or []},
        "degraded": {k: degraded.get(k) for k in ("status", "reason", "message")},
        "holdSeconds": budget.get("holdSeconds"),
        "derivation": budget.get("derivation"),
    }


def calibration_checks(name, r, by, need):
    """slow-frontend (calibration off) shows the problem and names it; gate-calibrated (on), run
    after it in the same namespace, has a calibrated hold that covers what was measured."""
    fit = r.get("frontEndFit") or {}
    deg = fit.get("degraded") or {}
    if r.get("calibration") == "off":
        need(r["failed"] > 0, name + ":shows-problem",
             "%s: without calibration the lagging replica costs requests (%d failed)" % (name, r["failed"]))
        late = fit.get("lateDrains") or 0
        slow = fit.get("maxSeconds")
        hold = fit.get("holdSeconds")
        need(deg.get("status") == "True" and deg.get("reason") == SLOWER_REASON and "replica" in (deg.get("message") or "")
             and late > 0 and slow is not None and hold is not None and slow > hold,
             name + ":slower-named",
             "%s: Degraded=%s %s names the replica (%s), %d late drains, measured max %s s beyond the hold of %s s"
             % (name, deg.get("status"), deg.get("reason"), deg.get("message"), late, slow, hold))
        return
    first = next((x for x in by.values() if x.get("calibration") == "off"), None)
    before = (first or {}).get("frontEndFit") or {}
    # One run: the same app object (its uid; bench.sh makes the namespace afresh for slow-frontend),
    # edited since the uncalibrated half was recorded (a later generation).
    need(first is not None and first.get("namespace") == r.get("namespace") and before.get("appUid")
         and before.get("appUid") == fit.get("appUid")
         and (fit.get("appGeneration") or 0) > (before.get("appGeneration") or 0),
         name + ":both-halves",
         "%s: the same app as the uncalibrated half, edited after it (%s)"
         % (name, "%s in %s, uid %s and %s, generation %s then %s"
            % (first["name"], first.get("namespace"), before.get("appUid"), fit.get("appUid"),
               before.get("appGeneration"), fit.get("appGeneration")) if first else "no uncalibrated half"))
    hold, slow = fit.get("holdSeconds"), before.get("maxSeconds")
    need("calibrated:" in (fit.get("derivation") or "") and hold is not None and slow is not None and hold > slow
         and hold >= (before.get("holdSeconds") or 0),
         name + ":calibrated",
         "%s: the hold was calibrated past the slowest replica measured without it (hold %s s, measured %s s, "
         "derived %s s: %s)" % (name, hold, slow, before.get("holdSeconds"), fit.get("derivation")))
    need(deg.get("reason") != SLOWER_REASON, name + ":slower-cleared",
         "%s: the front end fits the calibrated budget again (Degraded=%s %s)" % (name, deg.get("status"), deg.get("reason")))


def timeline_png(runs, out_png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: no timeline picture", file=sys.stderr)
        return False
    fig, axes = plt.subplots(len(runs), 1, figsize=(12, 2.6 * len(runs)), squeeze=False)
    for ax, (run, result, stopped, pods) in zip(axes[:, 0], runs):
        meta = records.read_json(os.path.join(run, "meta.json"), required=True)
        t0 = meta["changeAtMs"] / 1000.0
        ok, bad = {}, {}
        with records.open_text(os.path.join(run, "requests.csv")) as f:
            for row in csv.DictReader(f):
                sec = math.floor(int(row["sendEpochMs"]) / 1000.0 - t0)
                target = ok if row["errorKind"] == "none" else bad
                target[sec] = target.get(sec, 0) + 1
        xs = sorted(set(ok) | set(bad))
        ax.bar([x + 0.5 for x in xs], [ok.get(x, 0) for x in xs], width=1.0, color="#8fbf8f", label="ok req/s")
        ax.bar([x + 0.5 for x in xs], [bad.get(x, 0) for x in xs], width=1.0, color="#d62728", label="failed req/s")
        for s in stopped:
            ax.axvline(s["preStopAt"] - t0, color="#1f77b4", lw=0.8, ls="--")
            if "sigtermAt" in s:
                ax.axvline(s["sigtermAt"] - t0, color="#ff7f0e", lw=0.8)
            if "exitAt" in s:
                ax.axvline(s["exitAt"] - t0, color="#000000", lw=0.8, ls=":")
        for p in pods.values():
            if "readyAt" in p and p["readyAt"] > t0:
                ax.axvline(p["readyAt"] - t0, color="#2ca02c", lw=0.8, ls="-.")
        ax.set_title("%s: %d failed of %d, rollout %.0f s" % (result["title"], result["failed"], result["requests"],
                                                               result["rolloutSeconds"]), fontsize=9, loc="left")
        ax.set_xlim(-meta.get("warmup", 5), max(xs) if xs else 60)
        ax.set_ylabel("req/s")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel("seconds since the change   (blue dashed: preStop starts, orange: SIGTERM, "
                           "black dotted: exit, green dash-dot: new pod ready)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    return True


def helper_problem(p):
    """Gate mode's preStop is the drain helper: each stopped pod that served must show its one
    report line, with the gate's answer or the hold's end (not bad arguments, which sleep the
    hold blind), written before SIGTERM (the hook ended before the container was signalled)."""
    h, n, at = p.get("helper") or {}, p.get("helperLines", 0), p.get("logLine") or {}
    if not p.get("logRecorded", True):
        return "no log"
    if n != 1:
        return "no zdt-drain line" if n == 0 else "%d zdt-drain lines" % n
    if h.get("outcome") not in HELPER_OK:
        return "outcome %s%s" % (h.get("outcome"), ": " + h["error"] if h.get("error") else "")
    if h.get("pod") and h["pod"].split("/")[-1] != p["pod"]:
        return "the line is for pod %s" % h["pod"]
    if "sigterm" in at and at["helper"] > at["sigterm"]:
        return "zdt-drain line after the SIGTERM line"
    return None


def hook_problem(p):
    """The template's own preStop (httpGet /prestop, which logs event=prestop) is chained after
    the hold: zdt-drain runs it once the gate released the pod (or the hold passed) and only
    then writes its line, which reports the hook; SIGTERM comes after the whole preStop."""
    h, at = p.get("helper") or {}, p.get("logLine") or {}
    if not p.get("logRecorded", True):
        return "no log"
    if "preStopHookAt" not in p:
        return "no event=prestop line"
    if "sigterm" not in at:
        return "no SIGTERM line"
    if at["prestop"] > at["sigterm"]:
        return "event=prestop after the SIGTERM line"
    if "helper" not in at:
        return "no zdt-drain line"
    if h.get("hook") in (None, "", "none"):
        return "the zdt-drain line names no own hook"
    if at["prestop"] > at["helper"]:
        return "event=prestop after the zdt-drain line that reports the hook as done"
    if h.get("held") is None or p["preStopHookAt"] < p["preStopAt"] + h["held"] - HOOK_SLACK:
        return "event=prestop %.1f s after the termination started, before the hold (%s s) ended" % (
            p["preStopHookAt"] - p["preStopAt"], h.get("held"))
    return None


def release_problem(p):
    """No hold may end while Traefik still routes to its pod: the release (the helper's line as the
    runtime stamped it) at or after the last sample that lists the pod."""
    if p.get("release") in (None, "unknown"):
        return "no release time" if p.get("releaseAt") is None else "no sample listing it"
    if p.get("release") == "early":
        return "released by its %s %.3f s before that sample" % (
            p["releaseSource"], p["traefikLastListedAt"] - p["releaseAt"])
    return None


def resolution_problem(p):
    """An early release shorter than the window Traefik's drop lies in would not show: a release
    inside a window wider than RESOLUTION_BOUND_MS is reported, not passed."""
    if p.get("release") != "unresolved":
        return None
    return "unresolved: released %.3f s after the last sample listing the pod, inside a %s window" % (
        p["releaseAt"] - p["traefikLastListedAt"],
        "%d ms" % p["traefikGapMs"] if "traefikGapMs" in p else "still open when the recording ended")


def policy_checks(name, r, need):
    """A DrainPolicy's scenario: the pods carried the drain, every hold was released Verified, the
    status advised the owner's minReadySeconds, and (policy-deployment) pods created after the
    policy's deletion are plain again."""
    f = r.get("policy") or {}
    grace = f.get("graceSeconds")
    pods = f.get("pods") or {}
    bad = []
    for pod, has in sorted(pods.items()):
        missing = [k for k in ("initContainer", "preStop", "readinessGate", "label", "annotation") if not has[k]]
        if grace is None or has["grace"] is None or has["grace"] < grace:
            missing.append("grace %s < %s" % (has["grace"], grace))
        if missing:
            bad.append("%s (%s)" % (pod, ", ".join(missing)))
    need(f.get("policyRecorded") and pods and not bad, name + ":injected",
         "%s: every recorded pod carries the injected init container, preStop, readiness gate %s, label, annotation "
         "and the derived grace (%s s or more) (%d pods%s)"
         % (name, INJECTED_GATE, grace, len(pods), "; offending: " + ", ".join(bad) if bad else ""))
    drains = [d for d in ((r.get("releasedBy") or {}).items())]
    other = {k: v for k, v in drains if k != "Verified"}
    need(r.get("lastDrainsRecorded") and drains and not other, name + ":holds-verified",
         "%s: every hold the operator logged was released Verified (%s)"
         % (name, ", ".join("%s %d" % kv for kv in sorted(drains)) or "no drain logged"))
    # Item 4 of issue 17: the status says what minReadySeconds the owner needs and whether it has it.
    m = f.get("minReadySeconds") or {}
    advised = m.get("advised")
    entry = next((o for o in f.get("owners") or [] if "%s %s" % (o.get("kind"), o.get("name")) == f.get("ownerName")), None)
    has = m.get("ownerHasIt")
    stated = (isinstance(advised, int) and advised >= 0 and entry is not None and has is not None
              and entry.get("neededMinReadySeconds", 0) == advised and entry.get("sufficient") is has
              and entry.get("minReadySeconds", 0) == m.get("owner"))
    need(stated, name + ":min-ready-stated",
         "%s: the policy's status says what minReadySeconds the owner needs and whether it has it (needs %s; "
         "%s has %s, %s; the status says %s)"
         % (name, advised, f.get("ownerName"), m.get("owner"), {True: "enough", False: "too little", None: "unknown"}[has],
            "nothing about it" if entry is None else "needed %s, has %s, sufficient %s" % (
                entry.get("neededMinReadySeconds", 0), entry.get("minReadySeconds", 0), entry.get("sufficient"))))
    if name != "policy-deployment" and "afterDeletion" not in f:
        return
    after = f.get("afterDeletion")
    want = r.get("replicas")
    bad = ["%s (%s)" % (pod, ", ".join(k for k in ("initContainer", "preStop", "readinessGate", "label", "annotation")
                                        if has[k]))
           for pod, has in sorted((after or {}).items()) if any(has[k] for k in ("initContainer", "preStop",
                                                                                  "readinessGate", "label", "annotation"))]
    need(after is not None and len(after) == want and not bad, name + ":plain-after-delete",
         "%s: after the policy's deletion and a restart, the new pods carry nothing of the drain (%s of %s pods%s)"
         % (name, "no record" if after is None else len(after), want, "; still injected: " + ", ".join(bad) if bad else ""))


def check(results, mode, per_pod=None):
    """Prints each criterion and returns the failed ones: {"id": "<scenario>:<criterion>", "text"}."""
    by = {r["name"]: r for r in results}
    failures, passes = [], []

    def need(cond, cid, text):
        (passes if cond else failures).append({"id": cid, "text": text})
        print(("PASS  " if cond else "FAIL  ") + text)

    for name, r in by.items():
        problems = load_problems(r.get("load") or {}, need_min_requests=True)
        load = r.get("load") or {}
        need(not problems, name + ":load-ran",
             "%s: the load ran as asked (%s requests, %s req/s of %s asked, at least %s requests asked): %s"
             % (name, load.get("requests"), load.get("achievedRate"), load.get("rate"), load.get("minRequests"),
                "; ".join(problems) or "yes"))
    def gated(name):
        """A scenario whose pods drain through the gate: a ZeroDowntimeApp's or a DrainPolicy's."""
        return name.startswith("gate") or by[name].get("kind") == "policy"

    for name, r in by.items():
        if gated(name):
            need(r["failed"] == 0, name + ":no-failed",
                 "%s drops no request (%d of %d failed)" % (name, r["failed"], r["requests"]))
    def each_stopped(name, cid, text, problem, label="offending"):
        """One criterion over every stopped pod of a scenario that had been ready (had served):
        problem(pod) says what is wrong with it, None when nothing is. Fails without pods."""
        pods = (per_pod or {}).get(name)
        stopped = pods["stopped"] if pods else []
        bad = ["%s (%s)" % (p["pod"], why) for p in stopped if p.get("wasReady", True) for why in [problem(p)] if why]
        need(pods is not None and stopped and not bad, name + ":" + cid, "%s: %s (%d stopped%s)"
             % (name, text, len(stopped), "; %s: %s" % (label, ", ".join(bad)) if bad else ""))

    for name in by:
        if not gated(name):
            continue
        # The front end whose samples the per-pod checks read (traefik.txt's format for each).
        fe = FRONT_END_NAMES.get(by[name].get("frontEnd") or "traefik", "the front end")
        # Every pod that was stopped and had served must show its SIGTERM and the front end's removal:
        # a pod without them would otherwise pass the hold check below unseen.
        each_stopped(name, "per-pod-evidence", "every stopped pod's SIGTERM line and %s's removal of it were recorded" % fe,
                     lambda p: ", ".join(w for k, w in (("sigtermAt", "no SIGTERM line"),
                                                       ("traefikRemovedAt", "no %s removal seen" % fe)) if k not in p),
                     label="missing")
        timeouts = by[name]["releasedBy"].get("Timeout", 0)
        stopped = ((per_pod or {}).get(name) or {}).get("stopped") or []
        # A DrainPolicy that verifies by the EndpointSlices waits the propagation time after they
        # drop the pod, and Traefik's drop lies in that wait; verified by Traefik, it is held as an app is.
        pol = by[name].get("policy") or {}
        wait = pol.get("propagationSeconds") if by[name].get("kind") == "policy" and pol.get("verify") != "ingress" else 0
        slack = 2.0 + (wait or 0)
        # The hold ends at the release (the helper's own line, else the SIGTERM line that follows the
        # whole preStop); what the kubelet and the pod's own hook take after it is not the hold's.
        # Judged: the pods with an end and an observed removal (per-pod-evidence fails the others);
        # none judged fails too.
        late, judged = [], 0
        for p in stopped:
            end = p.get("releaseAt") if p.get("releaseAt") is not None else p.get("sigtermAt")
            if end is None or "traefikRemovedAt" not in p:
                continue
            judged += 1
            if end - p["traefikRemovedAt"] > slack:
                late.append("%s %.1f s" % (p["pod"], end - p["traefikRemovedAt"]))
        need(judged and (not late or timeouts >= len(late)), name + ":hold-ends",
             "%s: every hold ends within %s of %s's observed removal or by its bound (%s)"
             % (name, "2 s" if not wait else "%g s (2 + the propagation time the EndpointSlice check waits)" % slack,
                fe, ", ".join(late) or ("none later, %d of %d stopped pods judged" % (judged, len(stopped)) if judged
                                        else "judged no pod: %d stopped, none with a hold end and %s's removal"
                                        % (len(stopped), fe))))
        # Traefik's routing observed at 10 Hz or more, and what that achieved, stated.
        smp = by[name].get("traefikSampling") or {}
        med = smp.get("intervalMsMedian")
        need(med is not None and med <= SAMPLING_MEDIAN_MS_MAX, name + ":sampling",
             "%s: %s's routing sampled at least every %d ms (median %s ms, p99 %s, max %s over %s samples, "
             "%s without an answer; widest window around a removal %s ms)"
             % (name, fe, SAMPLING_MEDIAN_MS_MAX, med, smp.get("intervalMsP99"), smp.get("intervalMsMax"),
                smp.get("samples"), smp.get("failedSamples"), smp.get("resolutionMsMax")))
        each_stopped(name, "no-early-release", "no hold ended before %s's last sample still listing its pod" % fe,
                     release_problem)
        each_stopped(name, "release-resolved", "every release is resolved against %s's drop to %d ms or better"
                     % (fe, RESOLUTION_BOUND_MS), resolution_problem)
    for name, r in by.items():
        if r.get("mode") != "gate":
            continue
        each_stopped(name, "helper-drained", "every stopped pod's preStop ran zdt-drain once, for that pod, released or "
                     "held to its end, before SIGTERM", helper_problem)
    for name, r in by.items():
        # The gate records every drain it answers in status.lastDrains (sleep mode asks no gate).
        if not (r.get("lastDrainsRecorded") or r.get("kind") in ("zdt", "policy")) or r.get("mode") == "sleep":
            continue
        pods = (per_pod or {}).get(name)
        stopped = pods["stopped"] if pods else []
        ready = [p["pod"] for p in stopped if p.get("wasReady", True)]
        named = [d.get("pod") for d in (pods or {}).get("lastDrains") or []]
        twice = sorted({n for n in named if named.count(n) > 1})
        missing = [n for n in ready if n not in named]
        # with more stopped pods than lastDrains keeps, the oldest may have been dropped from it
        allowed = max(0, len(ready) - LAST_DRAINS_KEEP)
        problems = ([] if r.get("lastDrainsRecorded") else [
            "no operator.log recorded" if r.get("kind") == "policy" else "no zdt.json recorded"]) + \
            ["named %d times: %s" % (named.count(n), n) for n in twice] + \
            (["not named: " + ", ".join(missing)] if len(missing) > allowed else [])
        need(pods is not None and stopped and not problems, name + ":drains-named-once",
             "%s: %s names each stopped pod, none twice (%d stopped, %d drains%s)"
             % (name, "the operator's log" if r.get("kind") == "policy" else "status.lastDrains", len(stopped),
                len(named), "; " + "; ".join(problems) if problems else ""))
    for name, r in by.items():
        if "noshell" not in (r.get("image") or ""):
            continue
        # bench.sh tried `kubectl exec <pod> -- /bin/sh -c true` in the app's container: it must fail.
        need(r.get("shellAbsent") is True, name + ":no-shell",
             "%s: the app's image has no shell (an exec of /bin/sh failed: %s)" % (name, r.get("shellAbsent")))
    for name, r in by.items():
        if r.get("ownPreStop") is not True:
            continue
        each_stopped(name, "own-prestop-kept", "every stopped pod's own preStop hook ran after its hold, before SIGTERM",
                     hook_problem)
    for name, r in by.items():
        h = r.get("hostile")
        if h is None:
            continue
        f = h["facts"]
        forged = h["attacks"]["forged"]
        # Records made before pod identity name the fact forgedAll401 (every refusal was a 401 then).
        need(f.get("forgedAllRefused", f.get("forgedAll401")), name + ":forged-refused",
             "%s: every call without tenant A's pod's own token was refused, 401 or 403 (%s of %d: %s), "
             "the slowest in %.2f s"
             % (name, forged["answers"].get("401", 0) + forged["answers"].get("403", 0), forged["sent"],
                forged["answers"], f["forgedSlowestSeconds"]))
        flood = h["attacks"]["flood"]
        need(f["floodHeldAtMostLimit"] and f["floodRestRefused429"] and f["floodBoundedByBudget"],
             name + ":flood-bounded",
             "%s: tenant B's own flood: at most the per-namespace limit held at once (peak %s in flight), the rest "
             "429 (answers to %d calls: %s), the slowest held %.1f s, by B's budget and not its 2^31 s annotation"
             % (name, f.get("maxInFlight"), flood["sent"], flood["answers"], f["floodSlowestSeconds"]))
        refusal = h.get("apiUrlRefusal") or {}
        need(refusal.get("reason") == "InvalidSpec" and "allow-list" in (refusal.get("message") or ""),
             name + ":apiurl-refused",
             "%s: tenant B's apiUrl pointed at the API server was refused, never fetched (%s: %s)"
             % (name, refusal.get("reason"), refusal.get("message")))
        need(h["victimRefusalEvents"] == 0, name + ":no-event-storm",
             "%s: no refused-call Event landed in tenant A's namespace (%d)" % (name, h["victimRefusalEvents"]))
        grew = h["after"]["threads"] - h["before"]["threads"]
        need(grew <= HOSTILE_THREADS_GROWTH and h["after"]["heapBytes"] <= HOSTILE_HEAP_MAX_BYTES,
             name + ":operator-bounded",
             "%s: the operator stayed bounded: threads %d -> %d (at most +%d), heap %.0f MiB (at most %d MiB)"
             % (name, h["before"]["threads"], h["after"]["threads"], HOSTILE_THREADS_GROWTH,
                h["after"]["heapBytes"] / 2**20, HOSTILE_HEAP_MAX_BYTES // 2**20))
    for name, r in by.items():
        if r.get("siege") is not None:
            siege_checks(name, r["siege"], need)
    for name, r in by.items():
        if r.get("streams") is not None:
            streams_checks(name, r, gated(name), need)
    for name, r in by.items():
        if r.get("kind") == "policy":
            policy_checks(name, r, need)
    for name, r in by.items():
        if r.get("calibration") in ("off", "on"):
            calibration_checks(name, r, by, need)
    for name in by:
        if name == "plain" or name.startswith("plain-"):
            need(by[name]["failed"] > 0, name + ":shows-problem", "the plain Deployment shows the problem%s (%d failed)"
                 % ("" if name == "plain" else " through " + by[name].get("frontEnd", "traefik"), by[name]["failed"]))
    for name, r in by.items():
        # Through Traefik's Ingress provider: every hold of the gate ended Verified by Traefik, none by
        # its bound, so the rollout's 0 failed is the verification's doing, not the wait's; with
        # several replicas each was asked ("all N replicas asked"), so the lagging one had dropped the
        # pod too. Every Traefik gate scenario of bench.sh is built for that: the operator runs
        # throughout and reaches Traefik's API, and gate-2traefik's app declares the lagging replica's
        # throttle, so its bound covers it. The setups whose holds may end at their bound (Traefik's
        # API out of reach, the operator down or restarted) are drills (e2e/drills), judged there.
        # slow-frontend's holds end at their bound by design: it shows what calibration fixes.
        if r.get("kind") != "zdt" or r.get("mode") != "gate" or (r.get("frontEnd") or "traefik") != "traefik" \
                or r.get("calibration") == "off":
            continue
        n = r.get("frontEndReplicas") or 1
        asked = "all %d replicas asked" % n if n > 1 else None
        drains = ((per_pod or {}).get(name) or {}).get("lastDrains") or []
        if r.get("calibration") == "on":
            # lastDrains also has the drains of the rollout that turning calibration on made (old
            # pods with the short hold, not recorded): only the recorded rollout's pods are judged.
            mine = {p["pod"] for p in ((per_pod or {}).get(name) or {}).get("stopped") or []}
            drains = [d for d in drains if d.get("pod") in mine]

        def verified(d):
            # Bypassed is what the gate calls a release it made once the front end no longer routed to
            # the pod (GateDecision: only after the check completed) while it saw no other ready
            # endpoint of the app: verified all the same, and named below.
            return d.get("releasedBy") == "Verified" or (
                d.get("releasedBy") == "Bypassed" and "no longer routed to by Traefik" in (d.get("message") or ""))
        bad = ["%s %s" % (d.get("pod"), d.get("releasedBy") if not verified(d) else
                          "%s, but not said %s" % (d.get("releasedBy"), "by Traefik" if "by Traefik" not in
                                                   (d.get("message") or "") else "with " + asked))
               for d in drains if not verified(d) or "by Traefik" not in (d.get("message") or "")
               or (asked and asked not in (d.get("message") or ""))]
        alone = [d.get("pod") for d in drains if d.get("releasedBy") == "Bypassed" and d.get("pod") not in
                 " ".join(bad)]
        need(r.get("lastDrainsRecorded") and drains and not bad, name + ":holds-verified",
             "%s: every hold was released Verified by Traefik%s (%d drains%s%s)"
             % (name, ", %s" % asked if asked else "", len(drains),
                "; verified while the gate saw no other ready endpoint: " + ", ".join(alone) if alone else "",
                "; not: " + ", ".join(bad) if bad else "" if drains else "; no drain recorded"))
    for name, r in by.items():
        # A front end other than Traefik's Ingress provider: every hold of the gate ended Verified by
        # its own verifier (none by the bound), so the rollout's 0 failed is that front end's doing,
        # not the wait's. HAProxy's holds are checked per pod below.
        if r.get("kind") != "zdt" or r.get("mode") != "gate" or (r.get("frontEnd") or "traefik") in ("traefik", "haproxy"):
            continue
        drains = sorted((r.get("releasedBy") or {}).items())
        need(r.get("lastDrainsRecorded") and drains and all(k == "Verified" for k, _ in drains), name + ":holds-verified",
             "%s: every hold was released Verified by the %s verifier (%s)"
             % (name, r.get("frontEnd"), ", ".join("%s %d" % kv for kv in drains) or "no drain recorded"))
    for name, r in by.items():
        if r.get("frontEnd") != "haproxy":
            continue
        # Through the probing balancer: every hold of the gate was released because HAProxy's
        # runtime API showed the pod no longer routed.
        if gated(name):
            drains = (per_pod or {}).get(name, {}).get("lastDrains") or []
            bad = ["%s %s" % (d.get("pod"), d.get("releasedBy")) for d in drains
                   if d.get("releasedBy") != "Verified" or "by HAProxy" not in (d.get("message") or "")]
            need(drains and not bad, name + ":holds-verified",
                 "%s: every hold was released Verified by HAProxy's runtime API (%d drains%s)"
                 % (name, len(drains), "; not: " + ", ".join(bad) if bad else ""))
    if "sleep5" in by:
        need(by["sleep5"]["failed"] > 0, "sleep5:too-short",
             "a fixed 5 s sleep is too short for this ingress (%d failed)" % by["sleep5"]["failed"])
    for name in by:
        # Per front end: the gate's rollout against the hand-tuned sleep's through the same one.
        front = name[len("sleep30-"):] if name.startswith("sleep30-") else None
        if front and "gate-" + front in by:
            gate, slept = by["gate-" + front]["rolloutSeconds"], by[name]["rolloutSeconds"]
            need(gate is not None and slept is not None and gate < slept, "gate-%s:faster-than-sleep30" % front,
                 "gate-%s's rollout (%s s) is shorter than %s's (%s s)" % (front, gate, name, slept))
    if "gate" in by and "sleep30" in by:
        need(by["gate"]["rolloutSeconds"] < by["sleep30"]["rolloutSeconds"], "gate:faster-than-sleep30",
             "the gate's rollout (%.1f s) is faster than sleep 30's (%.1f s)"
             % (by["gate"]["rolloutSeconds"], by["sleep30"]["rolloutSeconds"]))
    print("%d passed, %d failed" % (len(passes), len(failures)))
    return failures


def sampling_sentence(results):
    """One sentence on how finely Traefik's routing was observed over the scenarios: the largest
    median interval, the largest interval and the widest window around a removal."""
    smp = [r["traefikSampling"] for r in results if (r.get("traefikSampling") or {}).get("intervalMsMedian") is not None]
    if not smp:
        return ""
    windows = [s["resolutionMsMax"] for s in smp if s.get("resolutionMsMax") is not None]
    return (" Traefik's routing sampled every %g ms or less (median per scenario; largest interval %g ms), each "
            "served pod's removal located to within %s ms."
            % (max(s["intervalMsMedian"] for s in smp), max(s["intervalMsMax"] for s in smp),
               "%g" % max(windows) if windows else "(none seen)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--scenarios", required=True)
    a = ap.parse_args()
    results, pictures = [], []
    per_pod = {}
    for name in a.scenarios.split(","):
        run = os.path.join(a.runs, name)
        result, stopped, pods, drains = analyze(run)
        results.append(result)
        pictures.append((run, result, stopped, pods))
        per_pod[name] = {"stopped": stopped, "lastDrains": drains}
    prefix = "rollout" if a.mode == "full" else "rollout-ci"
    with open(os.path.join(a.out, prefix + ".json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(a.runs, "pods.json"), "w") as f:
        json.dump(per_pod, f, indent=2)
    lines = ["| scenario | change | requests | failed | failed by kind | rollout s (last old pod exited) "
             "| Deployment complete s | hold s mean / max | Traefik propagation s mean / max | released by |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        kinds = ", ".join("%s %d" % kv for kv in sorted(r["failedByKind"].items())) or "-"
        hold = "-" if r["holdSecondsMean"] is None else "%.1f / %.1f" % (r["holdSecondsMean"], r["holdSecondsMax"])
        prop = "-" if r["propagationSecondsObserved"] is None else "%.1f / %.1f" % (
            r["propagationSecondsObserved"], r["propagationSecondsObservedMax"])
        rel = ", ".join("%s %d" % kv for kv in sorted(r["releasedBy"].items())) or "-"
        # the namespace's enforced Pod Security level, as recorded, in the scenario's cell
        title = r["title"] + (" [Pod Security: %s]" % r["podSecurity"] if r.get("podSecurity") else "")
        lines.append("| %s | %s | %d | **%d** | %s | %.1f | %.1f | %s | %s | %s |" % (
            title, r["change"], r["requests"], r["failed"], kinds, r["rolloutSeconds"],
            r["deploymentCompleteSeconds"], hold, prop, rel))
    streamed = [r for r in results if r.get("streams")]
    if streamed:
        lines += ["", "| scenario | kind | streams | connections | clean closes | abnormal | lost / duplicated "
                  "| did not open after the change | opened after a SIGTERM / in a hold | reconnect ms p99 / max "
                  "| kept-alive requests failed, HTTP/1.1 / HTTP/2 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in streamed:
            ka = r["streams"]["keepAlive"] or {}
            kh = r["streams"].get("keepAliveH2") or {}
            for kind, k in r["streams"]["kinds"].items():
                lines.append("| %s | %s | %s | %s | %s | **%s** | **%s / %s** | %s | %d / %d | %s / %s | %s |" % (
                    r["title"], STREAM_NAMES[kind], k["streams"], k["connections"],
                    (k["closeKinds"] or {}).get("clean", 0), k["abnormal"], k["lost"], k["duplicated"],
                    ", ".join("%s %d" % kv for kv in sorted(k["failedAfterChange"].items())) or "0",
                    len(k["afterSignal"]), k["inHold"], k["reconnectMsP99"], k["reconnectMsMax"],
                    "%s of %s / %s of %s" % (ka.get("failed"), ka.get("requests"), kh.get("failed"), kh.get("requests"))
                    if kind == "ws" else ""))
    table = "\n".join(lines)
    with open(os.path.join(a.out, prefix + ".md"), "w") as f:
        f.write("Traefik providers throttle %ss, %s req/s through the ingress, new connection per request.%s%s\n\n"
                % (results[0]["throttleSeconds"], results[0]["rate"], sampling_sentence(results),
                   measured_code.sentence(a.runs)) + table + "\n")
    print(table)
    if timeline_png(pictures, os.path.join(a.out, prefix + ".png")):
        print("timeline: " + os.path.join(a.out, prefix + ".png"))
    failures = check(results, a.mode, per_pod)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
