"""Samples which pods Traefik routes to, many times a second, and reads such a record back.

Traefik has no change stream for its dynamic configuration (its API and dashboard answer GETs
only), so its routing is observed by asking its API, /api/http/services, over one keep-alive
connection, only for the services of the app under test (`search=`), on a fixed monotonic
schedule (default every 50 ms: 20 Hz). A forked curl and a JSON parse per sample, as before,
took 320-710 ms median on this 2-CPU machine under load; one persistent connection costs a
fraction of a millisecond per sample.

    python3 -m e2e.rollout.traefik_sampler --api URL --prefix NS-app- [--interval-ms 50] >> traefik.txt
    python3 -m e2e.rollout.traefik_sampler --api URL --prefix NS-app- --once    # routed to now

The record (traefik.txt), one line per sample, stamped before the request is sent:

    <wall ms> <monotonic ms> <took ms> <url> <url> ...    the non-fenced servers listed
    <wall ms> <monotonic ms> <took ms> ! <reason>           no answer (a gap, not an empty list)
    # ...                                                   comments: what was sampled, a summary

A line that lists a pod proves Traefik routed to it at some moment between the stamp and the
stamp plus took. Records written before this sampler have `<wall ms> <url> ...` lines only; a
failed curl there wrote an empty list, indistinguishable from "no server".
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import statistics
import sys
import time
import urllib.parse

from e2e.lib import records


class Sample:
    __slots__ = ("wall", "mono", "took", "servers", "error")

    def __init__(self, wall, mono, took, servers, error=None):
        self.wall, self.mono, self.took, self.servers, self.error = wall, mono, took, servers, error

    def lists(self, needle):
        return self.error is None and any(needle in s for s in self.servers)


def parse_line(line):
    """One traefik.txt line as a Sample (times in seconds), None for comments and blank lines."""
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        return None
    wall = int(parts[0]) / 1000.0
    if len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
        mono, took, rest = int(parts[1]) / 1000.0, int(parts[2]) / 1000.0, parts[3:]
        if rest[:1] == ["!"]:
            return Sample(wall, mono, took, [], " ".join(rest[1:]) or "no answer")
        return Sample(wall, mono, took, rest)
    return Sample(wall, None, 0.0, parts[1:])  # the old format: wall clock only


def read_samples(lines):
    return [s for s in (parse_line(line) for line in lines) if s is not None]


def stats(samples):
    """What the sampling achieved: answered samples, failed ones, and the intervals between
    answered samples in ms (a failed sample widens the gap it falls in). Monotonic stamps when
    the record has them, else the wall clock."""
    ok = [s for s in samples if s.error is None]
    clock = [s.mono if s.mono is not None else s.wall for s in ok]
    gaps = [round((b - a) * 1000) for a, b in zip(clock, clock[1:])]
    return {
        "samples": len(ok),
        "failedSamples": len(samples) - len(ok),
        "clock": "monotonic" if ok and ok[0].mono is not None else "wall",
        "intervalMsMedian": statistics.median(gaps) if gaps else None,
        "intervalMsP99": records.percentile(gaps, 99),
        "intervalMsMax": max(gaps) if gaps else None,
    }


def unfenced(services, prefix):
    """The URLs of the non-fenced servers of the services whose name starts with prefix."""
    out = []
    for s in services:
        if s.get("name", "").startswith(prefix):
            out.extend(v["url"] for v in (s.get("loadBalancer") or {}).get("servers") or [] if not v.get("fenced"))
    return out


class Client:
    """GETs over one HTTP/1.1 connection, opened again after a failure."""

    def __init__(self, api, prefix, timeout):
        u = urllib.parse.urlsplit(api)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.path = "%s/api/http/services?%s" % (u.path.rstrip("/"), urllib.parse.urlencode(
            {"search": prefix, "per_page": 1000}))
        self.prefix, self.conn = prefix, None

    def parse(self, answer):
        """The routed server URLs in one answer (envoy_sampler.py reads Envoy's cluster list instead)."""
        return unfenced(answer, self.prefix)

    def servers(self):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("GET", self.path)
            r = self.conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise OSError("HTTP %d" % r.status)
            return self.parse(json.loads(body))
        except (OSError, http.client.HTTPException, ValueError):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            raise


class Replicas:
    """Several Traefik replicas asked in turn, as one: a server is listed while any replica lists it,
    and a sample with any replica unanswered is a gap (it cannot tell that the pod is gone)."""

    def __init__(self, clients):
        self.clients, self.prefix = clients, clients[0].prefix
        # Asked at the same time, so that a sample takes as long as the slowest replica, not the sum.
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(clients))

    def servers(self):
        out = set()
        for listed in self.pool.map(lambda c: c.servers(), self.clients):
            out.update(listed)
        return sorted(out)


def run(client, interval, out, stop):
    """Samples until stop() is true, every interval seconds on the monotonic clock; a sample that
    overruns its slot is followed at once by the next, without a burst to catch up."""
    samples = []
    out.write("# traefik_sampler: wall_ms mono_ms took_ms, then the non-fenced servers of %s* "
              "(or ! and why no answer), every %d ms\n" % (client.prefix, round(interval * 1000)))
    out.flush()
    due = time.monotonic()
    while not stop():
        wall, mono = time.time_ns() // 1_000_000, time.monotonic_ns() // 1_000_000
        try:
            servers, error = client.servers(), None
        except Exception as e:  # noqa: BLE001 - every failure is recorded as a gap
            servers, error = [], (str(e) or type(e).__name__).replace("\n", " ")
        took = time.monotonic_ns() // 1_000_000 - mono
        s = Sample(wall / 1000.0, mono / 1000.0, took / 1000.0, servers, error)
        samples.append(s)
        out.write("%d %d %d %s\n" % (wall, mono, took, ("! " + error) if error else " ".join(servers)))
        out.flush()
        due += interval
        now = time.monotonic()
        if due < now:
            due = now
        else:
            time.sleep(due - now)
    st = stats(samples)
    out.write("# stopped: %d samples answered, %d failed; interval ms median %s, p99 %s, max %s\n"
              % (st["samples"], st["failedSamples"], st["intervalMsMedian"], st["intervalMsP99"], st["intervalMsMax"]))
    out.flush()
    return samples


def main(argv=None, what="api", what_help="Traefik's API, e.g. http://10.244.0.1:8082", client_class=None,
         once_help="print the non-fenced server URLs once, one a line"):
    """The command line of this sampler, and of envoy_sampler.py with its own client (--admin)."""
    ap = argparse.ArgumentParser(description=(sys.modules["__main__"].__doc__ or __doc__).split("\n")[0])
    ap.add_argument("--" + what, required=True, action="append", help=what_help + "; repeat it for every replica")
    ap.add_argument("--prefix", required=True, help="the backends to watch: names starting with this")
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--timeout-s", type=float, default=2.0)
    ap.add_argument("--once", action="store_true", help=once_help)
    a = ap.parse_args(argv)
    if a.interval_ms <= 0:
        ap.error("--interval-ms must be positive, got %d" % a.interval_ms)
    urls = getattr(a, what)
    clients = [(client_class or Client)(url, a.prefix, a.timeout_s) for url in urls]
    client = clients[0] if len(clients) == 1 else Replicas(clients)
    return once_or_run(client, a.once, a.interval_ms, "%s: %s" % (os.path.basename(sys.argv[0]), urls))


def once_or_run(client, once, interval_ms, name):
    """once: prints the servers routed to now, one a line (1 and a line on stderr when the front end
    did not answer); else samples to stdout until SIGTERM or SIGINT. Shared with haproxy_sampler.py."""
    if once:
        try:
            print("\n".join(client.servers()))
        except Exception as e:  # noqa: BLE001
            print("%s: %s" % (name, e), file=sys.stderr)
            return 1
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    run(client, interval_ms / 1000.0, sys.stdout, lambda: bool(stopping))
    return 0


if __name__ == "__main__":
    sys.exit(main())
