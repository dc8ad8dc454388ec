"""Samples which pods Envoy balances to, many times a second, in traefik_sampler.py's record format.

Envoy's admin API lists every cluster with its hosts and their health (GET /clusters?format=json).
A host counts as routed unless Envoy excludes it from load balancing: EDS status DRAINING,
UNHEALTHY or TIMEOUT, or a failed active health check (as the operator's EnvoyVerifier reads it).
The clusters watched are those whose name starts with the prefix: Contour names them
<namespace>/<service>/<port>/<hash>.

    python3 -m e2e.rollout.envoy_sampler --admin URL --prefix NS/app/ [--interval-ms 50] >> envoy.txt
    python3 -m e2e.rollout.envoy_sampler --admin URL --prefix NS/app/ --once    # balanced to now

Each line is `<wall ms> <monotonic ms> <took ms> http://<ip>:<port> ...` (or `! <reason>` for a
sample without an answer), so that analyze.py reads it as it reads traefik.txt.
"""
import sys
import urllib.parse

from e2e.rollout import traefik_sampler  # the sampling loop and the record format

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
    return traefik_sampler.main(argv, "admin", "Envoy's admin, e.g. http://10.244.0.1:8086", Client,
                                "print the balanced hosts' URLs once, one a line")

if __name__ == "__main__":
    sys.exit(main())
