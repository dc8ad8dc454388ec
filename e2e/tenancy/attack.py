"""Tenant B attacks the drain gate while tenant A rolls out (the rollout proof's gate-hostile scenario).

Every attack runs at once, over plain sockets (asyncio), so that thousands of calls can be open
together on a 2-CPU machine:

  forged      calls for A's terminating pod with no token, an empty one, a made-up one, and B's
              own pod's token: each must be refused at once (401; 403 for B's token, which proves
              B's pod and no other) and hold nothing
  flood       B's own token, for B's decoy pod (labelled as managed, hold annotation 2^31 - 1,
              kept terminating by a finalizer): the gate may hold at most its per-namespace limit,
              answers the rest 429, and releases the held ones by B's own budget, not the annotation

With --flooder (gate-siege), more tenants attack at once, each with its own pods' valid tokens:

  floods      per namespace, calls for that namespace's decoy pods with each pod's own token: at
              most two held per pod per operator replica, the rest 429 at once, every held call
              ended by its own budget
  replayed    (--replayed) the token of a decoy pod that has been deleted since, for that pod and for
              a live one: 401 or 403, nothing held
  webhook     (--webhook) an AdmissionReview POSTed straight to the webhook Service, for a pod that a
              DrainPolicy selects: the patch in its reply carries no credential; and four chunked
              bodies of 1.5 GB without Content-Length at once: each refused long before its end
              (413 past the body cap, or 408 at the read timeout)

Throughout, every operator replica's heap, live threads and held calls are sampled from its
/q/metrics every 250 ms, so the peak is what is judged, not the state after the attack.

Writes a JSON summary: per attack, the answers by status, the slowest answer, and the statuses
that must not occur. The rollout analysis checks it (analyze.py, criteria hostile tenant / siege).
"""
import argparse
import asyncio
import base64
import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections import Counter


async def call(host, port, path, token, timeout, source=None):
    """One GET (from the address source, when given); returns (status or error text, seconds from
    the connection being open to the answer)."""
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(source, 0) if source else None), timeout)
    except Exception as e:  # refused, timeout: counted by kind
        return "connect:" + type(e).__name__, time.monotonic() - t0
    t0 = time.monotonic()  # from here on: the gate's own time (a hold), not the node's connection backlog
    try:
        headers = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        if token is not None:
            headers += f"Authorization: Bearer {token}\r\n"
        writer.write((headers + "\r\n").encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        parts = line.decode(errors="replace").split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "bad-answer"
        return status, time.monotonic() - t0
    except Exception as e:
        return "error:" + type(e).__name__, time.monotonic() - t0
    finally:
        writer.close()


async def attack(name, host, port, calls, concurrency, timeout, source=None):
    """calls: list of (path, token). Runs them with at most `concurrency` open at once, from the
    address source when given (each tenant from its own, as each pod has its own)."""
    sem = asyncio.Semaphore(concurrency)
    answers = Counter()
    slowest = 0.0

    async def one(path, token):
        nonlocal slowest
        async with sem:
            status, took = await call(host, port, path, token, timeout, source)
        answers[str(status)] += 1
        slowest = max(slowest, took)

    t0 = time.monotonic()
    await asyncio.gather(*(one(p, t) for p, t in calls))
    return {"name": name, "sent": len(calls), "answers": dict(answers), "slowestSeconds": round(slowest, 3),
            "tookSeconds": round(time.monotonic() - t0, 3)}


# What the sampler keeps of each replica's /q/metrics: sums over the heap's pools, and two gauges.
HEAP = 'jvm_memory_used_bytes{area="heap"'
THREADS = "jvm_threads_live_threads"
HELD = "zdt_gate_holds_in_flight"


def parse_vitals(text):
    """(heap bytes used, live threads, held calls) from Prometheus text; None for what is missing. Pure."""
    heap = threads = held = None
    for line in text.splitlines():
        if line.startswith(HEAP):
            heap = (heap or 0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(THREADS):
            threads = float(line.rsplit(" ", 1)[1])
        elif line.startswith(HELD):
            held = (held or 0) + float(line.rsplit(" ", 1)[1])
    return heap, threads, held


def vitals(url, token=None):
    """One read of a replica's (heap, threads, held calls). The operator answers /q/metrics only to
    a bearer token whose user may read it (401/403 otherwise, raised here as an HTTPError)."""
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    return parse_vitals(urllib.request.urlopen(req, timeout=2).read().decode())


def sample_vitals(urls, token, stop, seen, series, failed=None):
    """Polls each operator replica every 250 ms until stop is set: keeps the highest held-calls gauge
    per replica in seen (the flood's limit), every sample in series (the peak heap and threads), and
    counts the polls that failed per replica in failed (a refused token shows there)."""
    while not stop.is_set():
        for u in urls:
            try:
                heap, threads, held = vitals(u, token)
            except Exception:  # noqa: BLE001 - a missed poll loses a sample, and is counted
                if failed is not None:
                    failed[u] = failed.get(u, 0) + 1
                continue
            series.append({"url": u, "atMs": int(time.time() * 1000), "heapBytes": heap, "threads": threads,
                           "held": held})
            if held is not None:
                seen[u] = max(seen.get(u, 0), held)
        stop.wait(0.25)


def peaks(series):
    """Per replica: samples, the highest heap and threads, the first threads seen. Pure."""
    out = {}
    for x in series:
        p = out.setdefault(x["url"], {"samples": 0, "heapBytesMax": 0, "threadsMax": 0, "threadsFirst": None})
        p["samples"] += 1
        p["heapBytesMax"] = max(p["heapBytesMax"], int(x["heapBytes"] or 0))
        p["threadsMax"] = max(p["threadsMax"], int(x["threads"] or 0))
        if p["threadsFirst"] is None and x["threads"] is not None:
            p["threadsFirst"] = int(x["threads"])
    return out


# --- the webhook: a review sent straight to it, and bodies that never end ----------------------
# What a credential in a reply would look like: the old env name, a bearer, a JWT, an app token.
CREDENTIAL = re.compile(r"ZDT_GATE_TOKEN|Bearer |eyJ[\w-]{10,}\.[\w-]{10,}|\bv1\.[A-Za-z0-9_-]{20,}")


def admission_review(namespace, labels):
    """A pod CREATE review as the API server would send it, for a pod with those labels."""
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "stolen", "namespace": namespace, "labels": labels},
           "spec": {"containers": [{"name": "app", "image": "localhost/demo-app:dev",
                                    "ports": [{"name": "http", "containerPort": 8080}]}]}}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "0b5e2c1e-5f6a-4d59-9c43-7a1c1d1f0001", "operation": "CREATE", "namespace": namespace,
                        "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "userInfo": {"username": "system:serviceaccount:%s:default" % namespace},
                        "object": pod}}


def tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the webhook's own CA: what is judged is the answer, not the certificate
    return ctx


def webhook_theft(host, port, namespace, labels):
    """POSTs the review; returns the reply's status, whether it was patched, the patch's paths and
    whether anything in the reply looks like a credential."""
    conn = http.client.HTTPSConnection(host, port, context=tls(), timeout=15)
    try:
        conn.request("POST", "/mutate/v1/pods", body=json.dumps(admission_review(namespace, labels)),
                     headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        body = reply.read(4 * 1024 * 1024).decode(errors="replace")
        status = reply.status
    except Exception as e:  # noqa: BLE001 - recorded as what happened
        return {"status": "error:" + type(e).__name__}
    finally:
        conn.close()
    patch = ""
    try:
        response = json.loads(body).get("response") or {}
        patch = base64.b64decode(response.get("patch") or "").decode(errors="replace")
        paths = sorted({op.get("path", "") for op in json.loads(patch or "[]")})
    except Exception:  # noqa: BLE001
        paths = []
    return {"status": status, "patched": bool(patch), "patchPaths": paths,
            "credentialInReply": bool(CREDENTIAL.search(body) or CREDENTIAL.search(patch))}


def endless_body(host, port, total):
    """One chunked POST of up to `total` bytes with no Content-Length; returns the answer's status
    (or how it ended) and the bytes that got out before the webhook answered or closed."""
    sent, status = 0, None
    t0 = time.monotonic()
    piece = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    try:
        s = tls().wrap_socket(socket.create_connection((host, port), timeout=15), server_hostname="webhook")
    except Exception as e:  # noqa: BLE001
        return {"status": "connect:" + type(e).__name__, "bytesSent": 0, "seconds": 0.0}
    with s:
        try:
            s.sendall(b"POST /mutate/v1/pods HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            while sent < total and status is None:
                status = answered(s)
                if status is None:
                    s.sendall(piece)
                    sent += 65536
            if status is None:
                s.sendall(b"0\r\n\r\n")
                status = read_status(s)
        except Exception as e:  # noqa: BLE001 - the webhook closing on us is how a cap may show
            try:
                status = read_status(s)
            except Exception:  # noqa: BLE001
                status = "closed:" + type(e).__name__
    return {"status": status, "bytesSent": sent, "seconds": round(time.monotonic() - t0, 3)}


def answered(s):
    """The status of an answer that has arrived, or None. Not select() on the socket: TLS 1.3 sends
    session tickets after the handshake, which make it readable with no answer in them."""
    s.setblocking(False)
    try:
        data = s.recv(4096)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return None
    finally:
        s.setblocking(True)
        s.settimeout(15)
    if not data:
        return "closed"
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "bad-answer"


def read_status(s):
    """The status line of the answer (waits for it, up to the socket's timeout)."""
    data = s.recv(4096)
    if not data:
        return "closed"
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "bad-answer"


def webhook_memory(host, port, bodies, total):
    out = [None] * bodies

    def one(i):
        out[i] = endless_body(host, port, total)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def summarize(results, limit, budget_seconds, max_in_flight=None):
    """The pass/fail facts the analysis checks, from the attacks' answers and the most calls any
    replica held at once (max_in_flight). Pure (tested)."""
    forged = results["forged"]
    flood = results["flood"]
    held = flood["answers"].get("200", 0)
    return {
        "forgedAllRefused": forged["answers"].get("401", 0) + forged["answers"].get("403", 0) == forged["sent"],
        "forgedSlowestSeconds": forged["slowestSeconds"],
        # tenant A's own few calls are held beside B's: a small allowance above the limit
        "floodHeldAtMostLimit": max_in_flight is not None and max_in_flight <= limit + 10,
        "maxInFlight": max_in_flight,
        "floodRestRefused429": flood["answers"].get("429", 0) == flood["sent"] - held,
        "floodHeld": held,
        "floodSlowestSeconds": flood["slowestSeconds"],
        # A held call of B's ends by B's own budget, never by its 2^31 s annotation.
        "floodBoundedByBudget": flood["slowestSeconds"] <= budget_seconds + 5,
    }


# gate-siege: how long a flooding tenant's call may wait for its token's review beyond its budget.
SIEGE_REVIEW_WAIT = 20


def summarize_siege(floods, replicas, budget_seconds, replayed=None, theft=None, memory=None, series=()):
    """gate-siege's pass/fail facts. floods: {namespace: (attack result, that namespace's decoy pods)}.
    Pure (tested)."""
    per_ns = {}
    for ns, (r, pods) in sorted(floods.items()):
        held = r["answers"].get("200", 0)
        limit = 2 * pods * replicas  # two calls per proven pod per operator replica
        per_ns[ns] = {"sent": r["sent"], "held": held, "limit": limit, "refused429": r["answers"].get("429", 0),
                      "slowestSeconds": r["slowestSeconds"]}
    facts = {
        "floodsPerNamespace": per_ns,
        # every namespace got calls held (its tokens are valid), reached its limit (429s seen) and
        # held no more than its pods earn
        "floodsBounded": bool(per_ns) and all(
            0 < x["held"] <= x["limit"] and x["refused429"] > 0 and x["refused429"] == x["sent"] - x["held"]
            for x in per_ns.values()),
        # The caller's wait: its token's review in the queue (six tenants at once), then the hold.
        # Far from the decoys' 2^31 s annotation; the hold itself is judged from the apps' status.
        "floodsEndedByBudget": bool(per_ns) and all(x["slowestSeconds"] <= budget_seconds + SIEGE_REVIEW_WAIT
                                                     for x in per_ns.values()),
    }
    if replayed is not None:
        facts["replayedAllRefused"] = replayed["sent"] > 0 and (
            replayed["answers"].get("401", 0) + replayed["answers"].get("403", 0) == replayed["sent"])
    if theft is not None:
        facts["webhookTheft"] = theft
        facts["webhookReplyHasNoCredential"] = theft.get("status") == 200 and not theft.get("credentialInReply")
    if memory is not None:
        facts["webhookBodies"] = memory
        # each refused, far from the 1.5 GB it offered: 413 at the body cap (3 MiB), or 408 at the
        # read timeout (10 s) when the cap was not reached by then, or the connection cut
        facts["webhookBodiesRefused"] = bool(memory) and all(
            m["status"] in (408, 413, "closed") or str(m["status"]).startswith("closed:") for m in memory) and all(
            m["bytesSent"] < 64 * 1024 * 1024 for m in memory)
    p = peaks(series)
    facts["vitalsPeak"] = p
    facts["vitalsSampled"] = bool(p) and all(x["samples"] >= 10 for x in p.values())
    return facts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gate", required=True, help="host:port of the gate Service")
    ap.add_argument("--victim", required=True, help="namespace/app/pod: a terminating pod of tenant A")
    ap.add_argument("--attacker", required=True, help="namespace/app/pod: tenant B's decoy pod")
    ap.add_argument("--token", required=True, help="a token bound to tenant B's decoy pod, for the gate's audience")
    ap.add_argument("--forged", type=int, default=1000, help="forged calls, of four kinds in turn")
    ap.add_argument("--flood", type=int, default=1200)
    ap.add_argument("--limit", type=int, default=1000, help="the gate's per-namespace limit")
    ap.add_argument("--budget", type=float, required=True, help="tenant B's hold, seconds")
    ap.add_argument("--metrics", action="append", default=[], help="an operator replica's /q/metrics URL")
    ap.add_argument("--metrics-token-file", help="a file holding the bearer token sent to --metrics (a ServiceAccount "
                    "bound to <release>-metrics-reader; a file, so that ps does not show it)")
    ap.add_argument("--flooder", action="append", default=[],
                    help="gate-siege: namespace/app/pod=token, one per decoy pod of each flooding tenant")
    ap.add_argument("--flood-per-pod", type=int, default=300, help="gate-siege: calls per flooder pod")
    ap.add_argument("--replicas", type=int, default=2, help="gate-siege: operator replicas (the per-pod limit scales)")
    ap.add_argument("--replayed", default="", help="gate-siege: namespace/app/pod=token of a pod deleted since")
    ap.add_argument("--source", action="append", default=[],
                    help="gate-siege: name=address, the address a tenant's calls leave from (name: a flooding "
                         "namespace, 'flood' for tenant B, 'replayed'); without it the host's own")
    ap.add_argument("--webhook", default="", help="gate-siege: host:port of the webhook Service")
    ap.add_argument("--webhook-pod", default="", help="gate-siege: namespace/label=value of a pod a DrainPolicy selects")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    host, port = a.gate.rsplit(":", 1)
    port = int(port)
    vns, vapp, vpod = a.victim.split("/")
    bns, bapp, bpod = a.attacker.split("/")
    victim_pod = f"/gate/v1/{vns}/{vapp}/{vpod}"
    victim_app = f"/gate/v1/{vns}/{vapp}"
    forged_tokens = [None, "", "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", a.token]
    forged = [(victim_pod if i % 2 else victim_app, forged_tokens[i % len(forged_tokens)]) for i in range(a.forged)]
    flood = [(f"/gate/v1/{bns}/{bapp}/{bpod}", a.token)] * a.flood

    # gate-siege: each flooding tenant's calls, per namespace; the replayed token for its dead pod and a live one
    floods = {}
    for f in a.flooder:
        target, token = f.split("=", 1)
        ns, app, pod = target.split("/")
        floods.setdefault(ns, []).extend([(f"/gate/v1/{ns}/{app}/{pod}", token)] * a.flood_per_pod)
    replayed = []
    if a.replayed:
        target, token = a.replayed.split("=", 1)
        ns, app, pod = target.split("/")
        live = next((f.split("=", 1)[0] for f in a.flooder if f.startswith(ns + "/")), target)
        replayed = [(f"/gate/v1/{ns}/{app}/{pod}", token), (f"/gate/v1/{live}", token)] * 100

    sources = dict(x.split("=", 1) for x in a.source)

    async def all_at_once():
        runs = [attack("forged", host, port, forged, 20, 10),
                attack("flood", host, port, flood, a.flood, a.budget + 30, sources.get("flood"))]
        runs += [attack("flood:" + ns, host, port, calls, len(calls), a.budget + 30, sources.get(ns))
                 for ns, calls in floods.items()]
        if replayed:
            runs.append(attack("replayed", host, port, replayed, 20, 10, sources.get("replayed")))
        return await asyncio.gather(*runs)

    stop, seen, series, failed = threading.Event(), {}, [], {}
    token = None
    if a.metrics_token_file:
        with open(a.metrics_token_file) as fh:
            token = fh.read().strip()
    poller = threading.Thread(target=sample_vitals, args=(a.metrics, token, stop, seen, series, failed), daemon=True)
    poller.start()
    started = time.time()
    theft = memory = None
    if a.webhook:  # beside the gate's attacks: four endless bodies and a stolen review
        whost, wport = a.webhook.rsplit(":", 1)
        wns, label = a.webhook_pod.split("/", 1)
        k, v = label.split("=", 1)
        box = {}
        side = threading.Thread(target=lambda: box.update(
            memory=webhook_memory(whost, int(wport), 4, 1536 * 1024 * 1024),
            theft=webhook_theft(whost, int(wport), wns, {k: v})))
        side.start()
    answers = asyncio.run(all_at_once())
    if a.webhook:
        side.join()
        theft, memory = box.get("theft"), box.get("memory")
    stop.set()
    poller.join()
    results = {r["name"]: r for r in answers}
    peak = max(seen.values()) if seen else None
    out = {"startedAtMs": int(started * 1000), "attacks": results, "inFlightMaxByReplica": seen,
           "metricsPollsFailedByReplica": failed,
           "facts": summarize(results, a.limit, a.budget, peak), "limit": a.limit, "budgetSeconds": a.budget}
    if floods:
        pods = {ns: sum(1 for f in a.flooder if f.startswith(ns + "/")) for ns in floods}
        out["siege"] = summarize_siege({ns: (results["flood:" + ns], pods[ns]) for ns in floods}, a.replicas,
                                       a.budget, results.get("replayed"), theft, memory, series)
        out["vitals"] = series
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out["facts"]))


if __name__ == "__main__":
    main()
