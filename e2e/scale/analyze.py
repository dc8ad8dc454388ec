"""Turns one run of e2e/scale/run.sh (a directory of raw records, one subdirectory per size) into
e2e/results/scale.json: per size the cold start, steady state, churn and restart figures, each
checked against issue 18's targets, and the growth of memory and time with the number of apps.

    python3 -m e2e.scale.analyze e2e/results/scale-runs/<stamp> e2e/results/scale.json

Several runs of different sizes on the same code can be put together:

    python3 -m e2e.scale.analyze e2e/results/scale-runs/<stamp1> e2e/results/scale-runs/<stamp2> out.json
"""
import json
import os
import sys

from e2e.lib import records

# Issue 18's targets.
TARGETS = {
    "coldStartSeconds": 60,          # at 1,000 apps
    "rssMiB": 300,
    "liveHeapKiBPerApp": 100,
    "idleRequestsPerSecond": 5,
    "gateLateSeconds": 1,            # no answer later than the hold bound + 1 s
    "decisionP99Ms": 200,
    "restartServeSeconds": 30,
}
PROPAGATION_SECONDS = 2  # the apps' traffic.propagationSeconds (run.sh create_apps)
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def meta(path):
    return {r["key"]: r["value"] for r in records.jsonl(path)}


def kib(s):
    """jcmd's '123456K' -> KiB."""
    if not s:
        return None
    units = {"K": 1, "M": 1024, "G": 1024 * 1024}
    return float(s[:-1]) * units[s[-1]] if s[-1] in units else float(s) / 1024


def r1(x, digits=1):
    return None if x is None else round(x, digits)


def audit_requests(events):
    """One entry per request (a watch logs ResponseStarted and ResponseComplete): (t, verb, resource)."""
    seen = {}
    for e in events:
        if e.get("auditID") in seen:
            continue
        ref = e.get("objectRef") or {}
        res = ref.get("resource", "?") + ("/" + ref["subresource"] if ref.get("subresource") else "")
        verb = e.get("verb")
        seen[e.get("auditID")] = (records.epoch(e["requestReceivedTimestamp"]), verb, res, e.get("userAgent", ""),
                                  ref.get("name"))
    return sorted(seen.values())


def write_latency(events, t0, t1):
    """The operator's writes received in [t0, t1), by resource: how many, how many failed (a code
    of 400 or more, or none: the API server gave up), and the API server's own time for them."""
    out = {}
    for e in events:
        if e.get("stage") != "ResponseComplete" or e.get("verb") not in ("create", "patch", "update"):
            continue
        t = records.epoch(e["requestReceivedTimestamp"])
        if not t0 <= t < t1:
            continue
        ref = e.get("objectRef") or {}
        res = ref.get("resource", "?") + ("/" + ref["subresource"] if ref.get("subresource") else "")
        o = out.setdefault(res, {"count": 0, "failed": 0, "ms": []})
        o["count"] += 1
        code = (e.get("responseStatus") or {}).get("code")
        if code is None or code >= 400:
            o["failed"] += 1
        o["ms"].append(1000 * (records.epoch(e["stageTimestamp"]) - t))
    return {res: {"count": o["count"], "failed": o["failed"], "p50Ms": r1(records.percentile(o["ms"], 50)),
                  "maxMs": r1(max(o["ms"]))} for res, o in sorted(out.items())}


def rate_by(reqs, t0, t1):
    inside = [r for r in reqs if t0 <= r[0] < t1]
    by = {}
    for _, verb, res, _, _ in inside:
        by[f"{verb} {res}"] = by.get(f"{verb} {res}", 0) + 1
    span = max(t1 - t0, 1e-9)
    return len(inside) / span, {k: round(v / span, 3) for k, v in sorted(by.items(), key=lambda kv: -kv[1])}


def cold_start(m, ready, reqs, events=()):
    t0 = m["coldStartT0"]
    times = [r["readyAt"] - t0 for r in ready]
    first_apply = {}
    for r in reqs:
        if r[2] == "deployments" and r[1] in ("create", "patch") and r[0] >= t0:
            first_apply.setdefault(r[4], r[0])
    creates = list(first_apply.values())
    # Warm-in's condition on a new pod is a PATCH of pods/status; the latest of the pods' first ones
    # is when the operator had admitted every pod of the start (KWOK then marks them Ready). Pods
    # of the later scenarios are not the start's.
    first_admit = {}
    done = m.get("coldStartDone", float("inf"))
    for r in reqs:
        if r[2] == "pods/status" and r[1] == "patch" and t0 <= r[0] < done:
            first_admit.setdefault(r[4], r[0])
    first = [r[0] for r in reqs if r[0] >= t0]
    return {
        "appsReady": len(times),
        "complete": m.get("coldStartComplete", len(times) == m["apps"]),
        # Only when every app got there: a cut-off start has no "all Ready" time.
        "allReadySeconds": r1(max(times) if times and len(times) == m["apps"] else None),
        "firstAppReadySeconds": r1(min(times) if times else None),
        "medianAppReadySeconds": r1(records.percentile(times, 50)),
        "firstApiRequestSeconds": r1(first[0] - t0 if first else None),
        # Server-side apply of a Deployment is a PATCH; the latest of the Deployments' first applies
        # is when the operator had rendered every app's Deployment (the cluster then makes the pods).
        "allDeploymentsAppliedSeconds": r1(max(creates) - t0 if creates else None),
        "podsAdmitted": len(first_admit),
        "allPodsAdmittedSeconds": r1(max(first_admit.values()) - t0 if first_admit else None),
        "operatorWrites": write_latency(events, t0, m.get("coldStartDone", float("inf"))),
        "loadBefore": m.get("coldStartLoadBefore"),
        "loadAfter": m.get("coldStartLoadAfter"),
    }


STATUS_WRITE = " status of "
STATUS_CHANGED = " written, changed: "


def status_writes(d, t0, t1):
    """What the reconciler's status writes in [t0, t1) changed, from its debug lines in each
    replica's log ("status of NS/NAME written, changed: [conditions Ready, readyReplicas]"):
    how many writes per set of changed fields, and how many apps they touched."""
    by, apps = {}, set()
    for i in (0, 1):
        path = os.path.join(d, f"operator-{i}.log")
        if not records.exists(path):
            continue
        with records.open_text(path, errors="replace") as f:
            for line in f:
                if STATUS_WRITE not in line or STATUS_CHANGED not in line:
                    continue
                try:
                    t = records.epoch(line.split(" ", 1)[0])
                except ValueError:
                    continue
                if not t0 <= t < t1:
                    continue
                app, changed = line.split(STATUS_WRITE, 1)[1].split(STATUS_CHANGED, 1)
                apps.add(app)
                changed = changed.strip()
                by[changed] = by.get(changed, 0) + 1
    return {"apps": len(apps), "byChange": dict(sorted(by.items(), key=lambda kv: -kv[1]))}


def steady(m, proc, reqs, apps, d=None):
    by = {(p["replica"], p["label"]): p for p in proc}
    window = m["idleEnd"] - m["idleStart"]
    replicas = {}
    for i in (0, 1):
        a, b = by.get((i, "idleStart")), by.get((i, "idleEnd"))
        pre = by.get((i, "idleEndBeforeGc"))
        if not a or not b:
            continue
        role = "leader" if m.get("leader", "").endswith(f"-{i}") else "standby"
        cpu = (b["cpuTicks"] - a["cpuTicks"]) / CLK_TCK
        replicas[role] = {
            "liveHeapMiB": r1(kib(b["heapUsed"]) / 1024),
            "heapUsedBeforeGcMiB": r1(kib(pre["heapUsed"]) / 1024) if pre else None,
            "rssMiB": r1(b["rssKiB"] / 1024),
            "threads": b["threads"],
            # The live set grew or shrank over the window by this much (a leak shows here).
            "liveHeapChangeOverWindowMiB": r1((kib(b["heapUsed"]) - kib(a["heapUsed"])) / 1024),
            "cpuPercentOfOneCore": r1(100 * cpu / window, 2),
            "load": b["load"],
        }
    total, by_kind = rate_by(reqs, m["idleStart"], m["idleEnd"])
    out = {"windowSeconds": round(window), "replicas": replicas,
           "apiRequestsPerSecond": round(total, 3), "apiRequestsPerSecondByKind": by_kind,
           "loadAfter": m.get("idleLoadAfter")}
    if d is not None:
        out["statusWrites"] = status_writes(d, m["idleStart"], m["idleEnd"])
    return out


def churn(m, recs, reqs):
    if not recs:
        return None
    start = next(r["t"] for r in recs if r["kind"] == "rollStart")
    end = next((r for r in recs if r["kind"] == "rollEnd"), None)
    gates = [r for r in recs if r["kind"] == "gate"]
    not_ready = {}
    for r in recs:
        if r["kind"] == "endpointNotReady":
            not_ready.setdefault(r["pod"], r["t"])
    statuses = {}
    for g in gates:
        statuses[str(g["status"])] = statuses.get(str(g["status"]), 0) + 1
    late = [(g["answered"] - g["sent"]) - g["holdSeconds"] for g in gates]
    holds = [g["answered"] - g["sent"] for g in gates]
    # Decision latency: from the moment the gate could release the pod (its endpoint seen not ready
    # by our own watch, plus the app's propagation time) to the gate's X-Zdt-Decided-At.
    decision = []
    for g in gates:
        if g.get("decidedAt") and g["pod"] in not_ready:
            due = max(not_ready[g["pod"]] + PROPAGATION_SECONDS, g["sent"])
            decision.append(1000 * (records.epoch(g["decidedAt"]) - due))
    t1 = end["t"] if end else max(g["answered"] for g in gates)
    status_total, status_by = rate_by([r for r in reqs if r[2] in ("zerodowntimeapps/status", "pods/status")
                                       and r[1] in ("patch", "update")], start, t1)
    total, by_kind = rate_by(reqs, start, t1)
    rolled = [r for r in recs if r["kind"] == "appRolled"]
    return {
        "apps": m.get("churnApps"),
        "complete": bool(end and end.get("complete")),
        "appsRolled": len(rolled),
        "rolloutSeconds": r1(max(r["t"] for r in rolled) - start if rolled else None),
        "gateCalls": len(gates),
        # Pods seen terminating whose call had no answer when the churn ended (a cut-off run).
        "callsUnanswered": sum(1 for r in recs if r["kind"] == "terminating") - len(gates),
        "answersByStatus": statuses,
        "holdP50Seconds": r1(records.percentile(holds, 50), 2),
        "holdMaxSeconds": r1(max(holds) if holds else None, 2),
        "holdBoundSeconds": max(g["holdSeconds"] for g in gates) if gates else None,
        "latestAfterBoundSeconds": r1(max(late) if late else None, 2),
        "answeredLaterThanBoundPlus1s": sum(1 for x in late if x > TARGETS["gateLateSeconds"]),
        "decisionsMeasured": len(decision),
        "decisionP50Ms": r1(records.percentile(decision, 50)),
        "decisionP99Ms": r1(records.percentile(decision, 99)),
        "decisionMaxMs": r1(max(decision) if decision else None),
        "statusWritesPerSecond": round(status_total, 2),
        "statusWritesByKind": status_by,
        "apiRequestsPerSecond": round(total, 2),
        "windowSeconds": r1(t1 - start),
        "loadBefore": m.get("churnLoadBefore"),
        "loadAfter": m.get("churnLoadAfter"),
    }


FAILURE_MARKS = ("Failed to start application", "OutOfMemoryError")


def failed_start(d, since):
    """The first line of a replica's log after `since` that says it could not start or run (Quarkus'
    'Failed to start application', or an OutOfMemoryError), with its cause."""
    for i in (0, 1):
        path = os.path.join(d, f"operator-{i}.log")
        if not records.exists(path):
            continue
        with records.open_text(path, errors="replace") as f:
            lines = f.read().splitlines()
        for n, line in enumerate(lines):
            if any(mark in line for mark in FAILURE_MARKS):
                try:
                    t = records.epoch(line.split(" ", 1)[0])
                except ValueError:
                    continue
                if t >= since:
                    cause = next((c for c in reversed(lines[n:n + 400]) if c.startswith("Caused by:")), "")
                    return {"replica": i, "seconds": r1(t - since), "cause": (cause or line)[:240]}
    return None


def restart(m, path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        if "restartT0" not in m:
            return None
        # The probe got no answer but 503 or none: say why, from the restarted replica's log.
        return {"readySeconds": None, "gateServesSeconds": None,
                "failedToStart": failed_start(os.path.dirname(path), m["restartT0"]),
                "loadBefore": m.get("restartLoadBefore"), "loadAfter": m.get("restartLoadAfter")}
    with open(path) as f:
        r = json.loads(f.read().strip().splitlines()[-1])
    t0 = m["restartT0"]
    return {"readySeconds": r1(r["readyAt"] - t0 if r.get("readyAt") else None),
            "gateServesSeconds": r1(r["gateServedSent"] - t0),
            "firstAnswer": f'{r["status"]} {r["body"]}'[:120],
            "loadBefore": m.get("restartLoadBefore"), "loadAfter": m.get("restartLoadAfter")}


def analyze_size(d):
    m = meta(os.path.join(d, "meta.jsonl"))
    events = records.jsonl(os.path.join(d, "audit.jsonl"))
    reqs = audit_requests(events)
    n = m["apps"]
    out = {"apps": n, "replicasPerApp": m["replicas"], "pods": n * m["replicas"],
           "coldStart": cold_start(m, records.jsonl(os.path.join(d, "ready.jsonl")), reqs, events)}
    if "idleEnd" in m:
        out["steady"] = steady(m, records.jsonl(os.path.join(d, "process.jsonl")), reqs, n, d)
    out["churn"] = churn(m, records.jsonl(os.path.join(d, "churn.jsonl")), reqs)
    out["restart"] = restart(m, os.path.join(d, "restart.json"))
    return out


def fit(xs, ys):
    """Least-squares slope and intercept; None with fewer than two points."""
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
    if len(pts) < 2:
        return None, None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None, None
    slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    return slope, my - slope * mx


def checks(sizes, growth):
    """Each target against the figures: True, False, or None (not measured)."""
    top = max(sizes, key=lambda s: s["apps"]) if sizes else None
    res = {}

    def worst(key, f):
        vals = [f(s) for s in sizes]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    cold = top["coldStart"]["allReadySeconds"] if top else None
    res["coldStart"] = {"target": f"all apps Ready within {TARGETS['coldStartSeconds']} s at 1,000 apps",
                        "measuredAt": top["apps"] if top else None, "value": cold,
                        "met": None if cold is None or top["apps"] < 1000 else cold <= TARGETS["coldStartSeconds"]}
    rss = worst("rss", lambda s: max((r["rssMiB"] for r in s.get("steady", {}).get("replicas", {}).values()), default=None))
    res["rss"] = {"target": f"RSS under {TARGETS['rssMiB']} MiB", "value": rss,
                  "met": None if rss is None else rss < TARGETS["rssMiB"]}
    slope = growth.get("liveHeapKiBPerApp")
    res["heapPerApp"] = {"target": f"live heap growth under {TARGETS['liveHeapKiBPerApp']} KiB per app", "value": slope,
                         "met": None if slope is None else slope < TARGETS["liveHeapKiBPerApp"]}
    idle = worst("idle", lambda s: s.get("steady", {}).get("apiRequestsPerSecond"))
    res["idleApiLoad"] = {"target": f"idle API requests under {TARGETS['idleRequestsPerSecond']}/s", "value": idle,
                          "met": None if idle is None else idle < TARGETS["idleRequestsPerSecond"]}
    late = sum((s.get("churn") or {}).get("answeredLaterThanBoundPlus1s", 0) for s in sizes)
    calls = sum((s.get("churn") or {}).get("gateCalls", 0) for s in sizes)
    res["gateBound"] = {"target": "no gate call answered later than its bound + 1 s", "value": f"{late} of {calls}",
                        "met": None if not calls else late == 0}
    p99 = worst("p99", lambda s: (s.get("churn") or {}).get("decisionP99Ms"))
    res["decisionP99"] = {"target": f"decision p99 under {TARGETS['decisionP99Ms']} ms", "value": p99,
                          "met": None if p99 is None else p99 < TARGETS["decisionP99Ms"]}
    rs = worst("restart", lambda s: (s.get("restart") or {}).get("gateServesSeconds"))
    # A size whose restarted replica never served (the probe gave up) fails the target, whatever the
    # smaller sizes did: its cause, if the log has one, is in failedToStart.
    failed = [s["apps"] for s in sizes if s.get("restart") and s["restart"].get("gateServesSeconds") is None]
    res["restart"] = {"target": f"a restarted replica serves the gate within {TARGETS['restartServeSeconds']} s",
                      "measuredAt": failed[0] if failed else top["apps"] if top else None,
                      "value": "did not serve" if failed else rs,
                      "met": False if failed else None if rs is None else rs <= TARGETS["restartServeSeconds"]}
    return res


def analyze(*run_dirs):
    """The result of one run, or of several runs of different sizes (e.g. 100 and 300 apps in one
    run, 1,000 in another, on the same operator code): their sizes side by side, each naming its
    run, and the growth fitted over all of them. A size measured twice is refused."""
    runs = [meta(os.path.join(d, "run.jsonl")) for d in run_dirs]
    run = runs[0]
    sizes = []
    for run_dir in run_dirs:
        for name in sorted(os.listdir(run_dir), key=lambda x: (len(x), x)):
            d = os.path.join(run_dir, name)
            if name.isdigit() and os.path.isdir(d) and os.path.exists(os.path.join(d, "meta.jsonl")):
                size = analyze_size(d)
                size["raw"] = os.path.basename(os.path.normpath(run_dir))
                if any(x["apps"] == size["apps"] for x in sizes):
                    raise SystemExit(f"{size['apps']} apps measured in more than one of {', '.join(run_dirs)}")
                sizes.append(size)
    sizes.sort(key=lambda x: x["apps"])
    xs = [s["apps"] for s in sizes]

    def joined(key):
        values = []
        for r in runs:
            if r.get(key) not in values:
                values.append(r.get(key))
        return values[0] if len(values) == 1 else " + ".join(str(v) for v in values)

    def leader_val(s, key):
        r = s.get("steady", {}).get("replicas", {})
        return (r.get("leader") or {}).get(key)

    heap_slope, heap_base = fit(xs, [leader_val(s, "liveHeapMiB") for s in sizes])
    rss_slope, _ = fit(xs, [leader_val(s, "rssMiB") for s in sizes])
    cold_slope, _ = fit(xs, [s["coldStart"]["allReadySeconds"] for s in sizes])
    growth = {
        "liveHeapKiBPerApp": r1(heap_slope * 1024 if heap_slope is not None else None),
        "liveHeapMiBAtZeroApps": r1(heap_base),
        "rssKiBPerApp": r1(rss_slope * 1024 if rss_slope is not None else None),
        "coldStartSecondsPerApp": r1(cold_slope, 3),
        "fitOver": xs,
        "note": "least-squares lines through the leader's figures at each size",
    }
    return {
        "command": joined("command"),
        "commit": joined("commit"),
        "machine": {"cpus": run.get("cpus"), "memoryMiB": run.get("memoryMiB"), "java": run.get("java"),
                    "loadAtStart": run.get("startLoad")},
        "cluster": f"kube-apiserver {run.get('kubernetes')} + etcd, kube-controller-manager (deployment, replicaset, "
                   f"endpointslice controllers), kube-scheduler, KWOK {run.get('kwok')} nodes and pods",
        "idleWindowSeconds": run.get("idleSeconds"),
        "raw": ", ".join(os.path.basename(os.path.normpath(d)) for d in run_dirs),
        "sizes": sizes,
        "growth": growth,
        "targets": checks(sizes, growth),
    }


def fmt(v, unit=""):
    return "-" if v is None else f"{v:g}{unit}"


def served(rs):
    """The restart column: seconds until the gate served, or why not."""
    if rs and rs.get("gateServesSeconds") is None:
        return "did not serve" + (" (%s)" % rs["failedToStart"]["cause"].split(":")[-1].strip()
                                  if rs.get("failedToStart") else "")
    return fmt((rs or {}).get("gateServesSeconds"), " s")


def markdown(r):
    """The tables of docs/scale.md (rendered there by e2e/readme_results.py from scale.md)."""
    m = r.get("machine") or {}
    out = [f"{m.get('cpus')} CPUs, load average at start {m.get('loadAtStart')}; idle window "
           f"{r.get('idleWindowSeconds')} s; operator commit {r.get('commit')}; raw records "
           + ", ".join(f"e2e/results/scale-runs/{x}" for x in str(r.get('raw')).split(", "))
           + ("" if ", " not in str(r.get('raw')) else " (one run per record; the load at start is the first's)")
           + ".", "",
           "| apps (pods) | cold start: all Ready | all Deployments applied | every pod admitted (warm-in) | live heap leader / standby | "
           "heap in use before GC (leader) | RSS leader / standby | threads | idle CPU (leader) | "
           "idle API requests/s | restart: gate serves | load (1 min) during start / idle |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["sizes"]:
        c = s["coldStart"]
        st = s.get("steady") or {}
        rep = st.get("replicas") or {}
        lead, stand = rep.get("leader") or {}, rep.get("standby") or {}
        rs = s.get("restart") or {}
        out.append(
            f"| {s['apps']:,} ({s['pods']:,}) | {fmt(c['allReadySeconds'], ' s')} | {fmt(c['allDeploymentsAppliedSeconds'], ' s')} | "
            f"{fmt(c.get('allPodsAdmittedSeconds'), ' s')} | "
            f"{fmt(lead.get('liveHeapMiB'))} / {fmt(stand.get('liveHeapMiB'), ' MiB')} | {fmt(lead.get('heapUsedBeforeGcMiB'), ' MiB')} | "
            f"{fmt(lead.get('rssMiB'))} / {fmt(stand.get('rssMiB'), ' MiB')} | {fmt(lead.get('threads'))} | "
            f"{fmt(lead.get('cpuPercentOfOneCore'), ' %')} | {fmt(st.get('apiRequestsPerSecond'))} | "
            f"{served(rs)} | {(c.get('loadAfter') or '-').split()[0]} / "
            f"{(st.get('loadAfter') or '-').split()[0]} |")
    out += ["", "| apps | churn: apps rolled | gate calls | answers | hold median / max (bound) | "
            "later than bound + 1 s | decision p50 / p99 / max | status writes/s | operator API requests/s | "
            "rollout | load (1 min) after |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["sizes"]:
        ch = s.get("churn")
        if not ch:
            continue
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(ch["answersByStatus"].items()))
        out.append(
            f"| {s['apps']:,} | {ch['appsRolled']} of {ch['apps']} | {ch['gateCalls']} | {answers} | "
            f"{fmt(ch['holdP50Seconds'])} / {fmt(ch['holdMaxSeconds'])} ({fmt(ch['holdBoundSeconds'], ' s')}) | "
            f"{ch['answeredLaterThanBoundPlus1s']} | {fmt(ch['decisionP50Ms'])} / {fmt(ch['decisionP99Ms'])} / "
            f"{fmt(ch['decisionMaxMs'], ' ms')} | {fmt(ch['statusWritesPerSecond'])} | {fmt(ch['apiRequestsPerSecond'])} | "
            f"{fmt(ch['rolloutSeconds'], ' s')} | {(ch.get('loadAfter') or '-').split()[0]} |")
    g = r["growth"]
    out += ["", f"Growth (least squares over {', '.join(map(str, g['fitOver']))} apps, leader): live heap "
            f"{fmt(g['liveHeapKiBPerApp'], ' KiB')} per app over {fmt(g['liveHeapMiBAtZeroApps'], ' MiB')}, RSS "
            f"{fmt(g['rssKiBPerApp'], ' KiB')} per app, cold start {fmt(g['coldStartSecondsPerApp'], ' s')} per app.", "",
            "| target (issue 18) | measured | met |", "|---|---|---|"]
    for t in r["targets"].values():
        at = f" (at {t['measuredAt']:,} apps)" if t.get("measuredAt") else ""
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        out.append(f"| {t['target']} | {fmt(t['value']) if not isinstance(t['value'], str) else t['value']}{at} | {met} |")
    return "\n".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: python3 -m e2e.scale.analyze <run directory> [<run directory> ...] <scale.json>   (also writes scale.md next to it)")
    result = analyze(*sys.argv[1:-1])
    with open(sys.argv[-1], "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(os.path.splitext(sys.argv[-1])[0] + ".md", "w") as f:
        f.write(markdown(result) + "\n")
    print(json.dumps(result["targets"], indent=2))


if __name__ == "__main__":
    main()
