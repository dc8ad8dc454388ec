"""The scale benchmark's client side (e2e/scale/run.sh): talks to the scale API server directly
(HTTPS, the admin client certificate) and plays the parts nobody plays under KWOK.

  ready   waits until N ZeroDowntimeApps are Ready=True for their current generation, from a watch,
          and writes when each one got there (cold start, scenario a).
  churn   rolls M apps at once and, like a kubelet running the preStop hook, calls the drain gate
          for every pod that starts terminating, times each answer, then marks the pod so KWOK lets
          it go (scenario c). Records when each pod's endpoint stopped being ready, as its own
          EndpointSlice watch saw it.
  probe   after a replica restart: polls its /q/health/ready and a gate call until the gate serves
          (scenario d).

Raw records are JSON lines; analyze.py turns them into e2e/results/scale.json.
"""
import argparse
import concurrent.futures
import http.client
import json
import random
import ssl
import sys
import threading
import time
import urllib.parse

PRESTOP_DONE = "scale.zdt.dev/prestop-done"
APP_LABEL = "zdt.dev/app"
PROGRESS_SECONDS = 10
GATE_AUDIENCE = "zdt.dev/gate"  # the audience of the pod's projected token (PodIdentity.AUDIENCE)


def pod_token(kube, p):
    """What the kubelet mounts into a gate-mode pod and its helper sends: a token bound to the pod,
    for the gate's audience (KWOK runs no kubelet, so the driver asks for it as the kubelet would)."""
    md, spec = p["metadata"], p.get("spec") or {}
    sa = spec.get("serviceAccountName") or "default"
    try:
        r = kube.call("POST", f"/api/v1/namespaces/{md['namespace']}/serviceaccounts/{sa}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [GATE_AUDIENCE], "expirationSeconds": 600,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": md["name"], "uid": md["uid"]}}})
        return r["status"]["token"]
    except (RuntimeError, KeyError):
        return None


class Kube:
    """Just enough of a Kubernetes client: one TLS connection per call, JSON in and out."""

    def __init__(self, server, ca, cert, key):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
            self.local.conn = c
        return c

    def call(self, method, path, body=None, ctype="application/json"):
        for attempt in range(2):
            c = self._conn()
            try:
                headers = {"Accept": "application/json", "User-Agent": "zdt-scale-driver"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = ctype
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                if r.status >= 400:
                    raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
                return json.loads(raw) if raw else None
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.conn = None
                if attempt:
                    raise
        return None

    def watch(self, path, rv, stop):
        """Yields (type, object) from a watch starting after resourceVersion rv, reconnecting from the
        last version seen until stop is set."""
        while not stop.is_set():
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
            sep = "&" if "?" in path else "?"
            try:
                c.request("GET", f"{path}{sep}watch=1&allowWatchBookmarks=true&resourceVersion={rv}",
                          headers={"Accept": "application/json", "User-Agent": "zdt-scale-driver"})
                r = c.getresponse()
                if r.status != 200:
                    raise RuntimeError(f"watch {path}: {r.status} {r.read()[:300]!r}")
                while not stop.is_set():
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    if ev["type"] == "ERROR":
                        raise RuntimeError(f"watch {path}: {ev['object']}")
                    rv = ev["object"]["metadata"].get("resourceVersion", rv)
                    if ev["type"] != "BOOKMARK":
                        yield ev["type"], ev["object"]
            except TimeoutError:
                pass  # quiet watch; reconnect from rv
            finally:
                c.close()


def ready_for_generation(app):
    st = app.get("status") or {}
    if st.get("observedGeneration") != app["metadata"].get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])


def rolled(app, replicas):
    st = app.get("status") or {}
    return (ready_for_generation(app) and st.get("updatedReplicas") == replicas
            and st.get("readyReplicas") == replicas and st.get("replicas") == replicas)


APPS = "/apis/zdt.dev/v1alpha1/zerodowntimeapps"


def list_and_watch(kube, path, handle, stop):
    """Lists path and hands every item to handle("ADDED", obj) now, then every later change to
    handle(type, obj) on a daemon thread, watching from the list's resourceVersion until stop is set.
    Returns that thread."""
    lst = kube.call("GET", path)
    for item in lst["items"]:
        handle("ADDED", item)

    def follow():
        for typ, obj in kube.watch(path, lst["metadata"]["resourceVersion"], stop):
            handle(typ, obj)

    th = threading.Thread(target=follow, daemon=True)
    th.start()
    return th


def await_apps(kube, done, want, on_done, timeout):
    """Lists then watches every ZeroDowntimeApp; calls on_done(key, t) the first time done(app) holds
    for an app in want. True once it held for all of them, False when timeout seconds passed first."""
    seen = set()
    lock = threading.Lock()
    stop = threading.Event()

    def check(typ, app):
        if typ not in ("ADDED", "MODIFIED"):
            return
        key = app["metadata"]["namespace"] + "/" + app["metadata"]["name"]
        with lock:
            if key in want and key not in seen and done(app):
                seen.add(key)
                on_done(key, time.time())
            if want <= seen:
                stop.set()

    list_and_watch(kube, APPS, check, stop)
    # Progress on stderr every PROGRESS_SECONDS: a cold start of 1,000 apps takes minutes.
    t0 = time.time()
    finished = False
    while not finished and time.time() - t0 < timeout:
        finished = stop.wait(min(PROGRESS_SECONDS, max(0.0, timeout - (time.time() - t0))))
        if not finished:
            with lock:
                done_now = len(seen)
            print("  %d of %d apps done after %.0f s" % (done_now, len(want), time.time() - t0),
                  file=sys.stderr, flush=True)
    stop.set()
    return finished


def cmd_ready(kube, a):
    lst = kube.call("GET", APPS)
    want = {i["metadata"]["namespace"] + "/" + i["metadata"]["name"] for i in lst["items"]}
    if len(want) != a.apps:
        sys.exit(f"expected {a.apps} ZeroDowntimeApps, found {len(want)}")
    with open(a.out, "w") as out:
        finished = await_apps(kube, ready_for_generation, want,
                              lambda key, t: out.write(json.dumps({"app": key, "readyAt": t}) + "\n"), a.timeout)
    if not finished:
        sys.exit(f"not every app was Ready within {a.timeout}s (see {a.out})")


def cmd_churn(kube, a):
    lst = kube.call("GET", APPS)
    apps = sorted(lst["items"], key=lambda i: (i["metadata"]["namespace"], i["metadata"]["name"]))[: a.apps]
    if len(apps) < a.apps:
        sys.exit(f"only {len(apps)} apps exist, {a.apps} asked")
    want = {i["metadata"]["namespace"] + "/" + i["metadata"]["name"] for i in apps}
    hold = {k: (i.get("status") or {}).get("drainBudget", {}).get("holdSeconds") for k, i in
            ((i["metadata"]["namespace"] + "/" + i["metadata"]["name"], i) for i in apps)}
    if any(v is None for v in hold.values()):
        sys.exit("an app has no status.drainBudget.holdSeconds yet")
    gates = a.gate.split(",")
    out = open(a.out, "w")
    lock = threading.Lock()
    stop = threading.Event()

    def record(rec):
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    # EndpointSlices: the first moment each pod's endpoint is seen not ready (or gone).
    ready_pods = {}

    def slice_event(typ, s):
        now = time.time()
        ns = s["metadata"]["namespace"]
        key = (ns, s["metadata"]["name"])
        now_ready = set()
        if typ != "DELETED":
            for e in s.get("endpoints") or []:
                ref = e.get("targetRef") or {}
                if ref.get("kind") == "Pod" and (e.get("conditions") or {}).get("ready"):
                    now_ready.add(ns + "/" + ref["name"])
        for pod in ready_pods.get(key, set()) - now_ready:
            record({"kind": "endpointNotReady", "pod": pod, "t": now})
        ready_pods[key] = now_ready

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.max_calls)
    called = set()
    terminated = {}  # app -> pods seen terminating: an app has rolled once all its old pods went

    def prestop(ns, pod, app, token):
        # What the kubelet does for a terminating pod: run the hook (the gate call), then let the
        # container stop; here KWOK deletes the pod once it carries PRESTOP_DONE.
        gate = random.choice(gates)
        u = urllib.parse.urlparse(gate)
        t0 = time.time()
        rec = {"kind": "gate", "pod": ns + "/" + pod, "app": ns + "/" + app, "replica": gate,
               "holdSeconds": hold.get(ns + "/" + app), "sent": t0}
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
            headers = {"User-Agent": "kube-probe/scale"}
            if token:
                headers["Authorization"] = "Bearer " + token
            c.request("GET", f"/gate/v1/{ns}/{app}/{pod}", headers=headers)
            r = c.getresponse()
            body = r.read().decode(errors="replace")
            rec.update(answered=time.time(), status=r.status, decidedAt=r.getheader("X-Zdt-Decided-At"),
                       body=body.strip()[:200])
            c.close()
        except OSError as e:
            rec.update(answered=time.time(), status=0, body=str(e))
        record(rec)
        try:
            kube.call("PATCH", f"/api/v1/namespaces/{ns}/pods/{pod}",
                      {"metadata": {"annotations": {PRESTOP_DONE: "true"}}}, "application/merge-patch+json")
        except RuntimeError as e:
            if " 404 " not in str(e):
                record({"kind": "error", "pod": ns + "/" + pod, "error": str(e)})

    def pod_event(typ, p):
        md = p["metadata"]
        app = (md.get("labels") or {}).get(APP_LABEL)
        key = md["namespace"] + "/" + md["name"]
        if typ == "DELETED" or not md.get("deletionTimestamp") or key in called or not app:
            return
        called.add(key)
        terminated[md["namespace"] + "/" + app] = terminated.get(md["namespace"] + "/" + app, 0) + 1
        record({"kind": "terminating", "pod": key, "t": time.time()})
        try:
            pool.submit(lambda: prestop(md["namespace"], md["name"], app, pod_token(kube, p)))
        except RuntimeError:  # the churn is over (done or timed out) and its call pool shut down
            record({"kind": "afterEnd", "pod": key, "t": time.time()})

    list_and_watch(kube, "/apis/discovery.k8s.io/v1/endpointslices?labelSelector=" +
                   urllib.parse.quote("app.kubernetes.io/managed-by=zdt-operator"), slice_event, stop)
    list_and_watch(kube, "/api/v1/pods?labelSelector=" + urllib.parse.quote(APP_LABEL), pod_event, stop)

    # Roll every chosen app at once, as one `kubectl patch` each would.
    rev = str(int(time.time()))
    t_roll = time.time()
    record({"kind": "rollStart", "t": t_roll, "apps": len(apps)})
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as roll:
        list(roll.map(lambda i: kube.call(
            "PATCH", f"/apis/zdt.dev/v1alpha1/namespaces/{i['metadata']['namespace']}/zerodowntimeapps/{i['metadata']['name']}",
            {"spec": {"template": {"metadata": {"annotations": {"scale.zdt.dev/rev": rev}}}}},
            "application/merge-patch+json"), apps))
    record({"kind": "rollPatched", "t": time.time()})

    # Rolled apps are only counted after the patch above raised their generation.
    finished = await_apps(kube, lambda app: rolled(app, a.replicas) and terminated.get(
        app["metadata"]["namespace"] + "/" + app["metadata"]["name"], 0) >= a.replicas, want,
        lambda key, t: record({"kind": "appRolled", "app": key, "t": t}), a.timeout)
    pool.shutdown(wait=True)
    stop.set()
    record({"kind": "rollEnd", "t": time.time(), "complete": finished})
    out.close()
    if not finished:
        sys.exit(f"the rollout of {a.apps} apps did not complete within {a.timeout}s (see {a.out})")


def cmd_probe(kube, a):
    """Polls a restarted replica until its gate serves: readiness UP and a gate call not answered 503."""
    lst = kube.call("GET", "/apis/zdt.dev/v1alpha1/zerodowntimeapps?limit=1")
    ns, app = lst["items"][0]["metadata"]["namespace"], lst["items"][0]["metadata"]["name"]
    # A token of one of its pods: without it the gate answers 401 before it looks at anything,
    # synced or not, and the probe could not tell a serving gate from a syncing one.
    pods = kube.call("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=" + urllib.parse.quote(APP_LABEL + "=" + app))
    token = next((t for t in (pod_token(kube, p) for p in pods["items"]) if t), None)
    headers = {"Authorization": "Bearer " + token} if token else {}
    gu, mu = urllib.parse.urlparse(a.gate), urllib.parse.urlparse(a.management)
    ready_at = served = None
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        if ready_at is None:
            try:
                c = http.client.HTTPConnection(mu.hostname, mu.port, timeout=2)
                c.request("GET", "/q/health/ready")
                if c.getresponse().status == 200:
                    ready_at = time.time()
                c.close()
            except OSError:
                pass
        try:
            if served:
                raise OSError("served already")
            t0 = time.time()
            c = http.client.HTTPConnection(gu.hostname, gu.port, timeout=10)
            # A pod name no app has: a serving gate refuses it (404/409), a gate still syncing says 503.
            c.request("GET", f"/gate/v1/{ns}/{app}/scale-probe-no-such-pod", headers=headers)
            r = c.getresponse()
            body = r.read().decode(errors="replace").strip()
            c.close()
            if r.status != 503 and served is None:
                served = {"gateServedSent": t0, "gateServedAnswered": time.time(), "status": r.status, "body": body[:200]}
        except OSError:
            pass
        if served and ready_at:
            print(json.dumps(dict(served, readyAt=ready_at)))
            return
        time.sleep(0.1)
    sys.exit(f"the restarted replica did not serve the gate within {a.timeout}s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("ready")
    r.add_argument("--apps", type=int, required=True)
    r.add_argument("--timeout", type=float, default=900)
    r.add_argument("--out", required=True)
    c = sub.add_parser("churn")
    c.add_argument("--apps", type=int, default=100)
    c.add_argument("--replicas", type=int, default=10)
    c.add_argument("--gate", required=True, help="comma-separated gate base URLs, one per replica")
    c.add_argument("--max-calls", type=int, default=2000)
    c.add_argument("--timeout", type=float, default=900)
    c.add_argument("--out", required=True)
    q = sub.add_parser("probe")
    q.add_argument("--gate", required=True)
    q.add_argument("--management", required=True)
    q.add_argument("--timeout", type=float, default=300)
    a = p.parse_args()
    kube = Kube(a.server, a.ca, a.cert, a.key)
    {"ready": cmd_ready, "churn": cmd_churn, "probe": cmd_probe}[a.cmd](kube, a)


if __name__ == "__main__":
    main()
