#!/usr/bin/env python3
"""Tenant B attacks the drain gate while tenant A rolls out (the rollout proof's gate-hostile scenario).

Every attack runs at once, over plain sockets (asyncio), so that thousands of calls can be open
together on a 2-CPU machine:

  forged      calls for A's terminating pod with no token, an empty one, a made-up one, and B's
              own pod's token: each must be refused at once (401; 403 for B's token, which proves
              B's pod and no other) and hold nothing
  flood       B's own token, for B's decoy pod (labelled as managed, hold annotation 2^31 - 1,
              kept terminating by a finalizer): the gate may hold at most its per-namespace limit,
              answers the rest 429, and releases the held ones by B's own budget, not the annotation

Writes a JSON summary: per attack, the answers by status, the slowest answer, and the statuses
that must not occur. The rollout analysis checks it (analyze.py, criterion "hostile tenant").
"""
import argparse
import asyncio
import json
import time
from collections import Counter


async def call(host, port, path, token, timeout):
    """One GET; returns (status or error text, seconds from the connection being open to the answer)."""
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
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


async def attack(name, host, port, calls, concurrency, timeout):
    """calls: list of (path, token). Runs them with at most `concurrency` open at once."""
    sem = asyncio.Semaphore(concurrency)
    answers = Counter()
    slowest = 0.0

    async def one(path, token):
        nonlocal slowest
        async with sem:
            status, took = await call(host, port, path, token, timeout)
        answers[str(status)] += 1
        slowest = max(slowest, took)

    t0 = time.monotonic()
    await asyncio.gather(*(one(p, t) for p, t in calls))
    return {"name": name, "sent": len(calls), "answers": dict(answers), "slowestSeconds": round(slowest, 3),
            "tookSeconds": round(time.monotonic() - t0, 3)}


def holds_in_flight(url, token=None):
    """One read of a replica's zdt_gate_holds_in_flight; the operator answers /q/metrics only to a
    bearer token whose user may read it (401/403 otherwise, raised here as an HTTPError)."""
    import urllib.request
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    for line in urllib.request.urlopen(request, timeout=2).read().decode().splitlines():
        if line.startswith("zdt_gate_holds_in_flight"):
            return float(line.rsplit(" ", 1)[1])
    return None


def in_flight(urls, stop, seen, token=None, failed=None):
    """Polls each operator replica's zdt_gate_holds_in_flight until stop is set; keeps the highest,
    and counts the polls that failed per replica in `failed` (a refused token shows there)."""
    while not stop.is_set():
        for u in urls:
            try:
                v = holds_in_flight(u, token)
                if v is not None:
                    seen[u] = max(seen.get(u, 0), v)
            except Exception:  # noqa: BLE001 - a missed poll only loses a sample, and is counted
                if failed is not None:
                    failed[u] = failed.get(u, 0) + 1
        stop.wait(0.2)


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
                    "bound to <release>-metrics-reader; e2e/lib/metrics.sh)")
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

    async def both():
        return await asyncio.gather(
            attack("forged", host, port, forged, 20, 10),
            attack("flood", host, port, flood, a.flood, a.budget + 30))

    import threading
    stop, seen, failed = threading.Event(), {}, {}
    token = None
    if a.metrics_token_file:
        with open(a.metrics_token_file) as fh:
            token = fh.read().strip()
    poller = threading.Thread(target=in_flight, args=(a.metrics, stop, seen, token, failed), daemon=True)
    poller.start()
    started = time.time()
    f, fl = asyncio.run(both())
    stop.set()
    poller.join()
    results = {"forged": f, "flood": fl}
    peak = max(seen.values()) if seen else None
    out = {"startedAtMs": int(started * 1000), "attacks": results, "inFlightMaxByReplica": seen,
           "metricsPollsFailedByReplica": failed,
           "facts": summarize(results, a.limit, a.budget, peak), "limit": a.limit, "budgetSeconds": a.budget}
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out["facts"]))


if __name__ == "__main__":
    main()
