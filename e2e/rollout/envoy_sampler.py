#!/usr/bin/env python3
"""Samples which pods Envoy balances to, many times a second, in traefik_sampler.py's record format.

Envoy's admin API lists every cluster with its hosts and their health (GET /clusters?format=json).
A host counts as routed unless Envoy excludes it from load balancing: EDS status DRAINING,
UNHEALTHY or TIMEOUT, or a failed active health check (as the operator's EnvoyVerifier reads it).
The clusters watched are those whose name starts with the prefix: Contour names them
<namespace>/<service>/<port>/<hash>.

    envoy_sampler.py --admin URL --prefix NS/app/ [--interval-ms 50] >> envoy.txt
    envoy_sampler.py --admin URL --prefix NS/app/ --once    # the hosts balanced to now

Each line is `<wall ms> <monotonic ms> <took ms> http://<ip>:<port> ...` (or `! <reason>` for a
sample without an answer), so that analyze.py reads it as it reads traefik.txt.
"""
import argparse
import os
import signal
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import traefik_sampler  # noqa: E402  (the sampling loop and the record format)

EXCLUDED_STATUSES = {"UNHEALTHY", "DRAINING", "TIMEOUT"}
EXCLUDING_FLAGS = ("failed_active_health_check", "active_hc_timeout", "excluded_via_immediate_hc_fail")


def balanced(clusters, prefix):
    """The http://ip:port of the hosts Envoy balances to in the clusters whose name starts with prefix."""
    out = []
    for c in clusters.get("cluster_statuses") or []:
        if not c.get("name", "").startswith(prefix):
            continue
        for h in c.get("host_statuses") or []:
            health = h.get("health_status") or {}
            if health.get("eds_health_status") in EXCLUDED_STATUSES or any(health.get(f) for f in EXCLUDING_FLAGS):
                continue
            sa = (h.get("address") or {}).get("socket_address") or {}
            if sa.get("address"):
                out.append("http://%s:%s" % (sa["address"], sa.get("port_value", 0)))
    return sorted(out)


class Client(traefik_sampler.Client):
    """GETs of Envoy's cluster list over one HTTP/1.1 connection, opened again after a failure."""

    def __init__(self, admin, prefix, timeout):
        super().__init__(admin, prefix, timeout)
        self.path = "%s/clusters?format=json" % urllib.parse.urlsplit(admin).path.rstrip("/")

    def parse(self, answer):
        return balanced(answer, self.prefix)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin", required=True, action="append",
                    help="Envoy's admin, e.g. http://10.244.0.1:8086; repeat it for every replica")
    ap.add_argument("--prefix", required=True, help="the clusters to watch: names starting with this")
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--timeout-s", type=float, default=2.0)
    ap.add_argument("--once", action="store_true", help="print the balanced hosts' URLs once, one a line")
    a = ap.parse_args(argv)
    if a.interval_ms <= 0:
        ap.error("--interval-ms must be positive, got %d" % a.interval_ms)
    clients = [Client(url, a.prefix, a.timeout_s) for url in a.admin]
    client = clients[0] if len(clients) == 1 else traefik_sampler.Replicas(clients)
    if a.once:
        try:
            print("\n".join(client.servers()))
        except Exception as e:  # noqa: BLE001
            print("envoy_sampler: %s: %s" % (a.admin, e), file=sys.stderr)
            return 1
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    traefik_sampler.run(client, a.interval_ms / 1000.0, sys.stdout, lambda: bool(stopping))
    return 0


if __name__ == "__main__":
    sys.exit(main())
