"""Samples which pods an HAProxy sends new requests to, many times a second, through its runtime
API (`show servers state <backend>` on the TCP stats socket, level user), and writes the same
record as traefik_sampler.py so that analyze.py reads either:

    python3 -m e2e.rollout.haproxy_sampler --api 10.244.0.1:8088 --backend app [--interval-ms 50] >> haproxy.txt
    python3 -m e2e.rollout.haproxy_sampler --api 10.244.0.1:8088 --backend app --once   # routed to now

A server is listed as http://<address>:<port> when it routes new requests: running or starting,
no maintenance or drain flag, weight above 0 (the rule of ingress/HaproxyVerifier.java). The
runtime API answers one command per connection, so each sample opens one (~1 ms locally).
"""
import argparse
import socket
import sys

from e2e.rollout import traefik_sampler

# HAProxy's srv_state RUNNING and STARTING; srv_admin maintenance (forced, inherited, configured,
# resolution) and drain (forced, inherited) flags.
ROUTING_OP_STATES = (1, 2)
NOT_ROUTING_ADMIN = 0x01 | 0x02 | 0x04 | 0x20 | 0x08 | 0x10
MAX_BYTES = 8 << 20


def routed(text):
    """The routed servers of a `show servers state` answer as http://addr:port, in its order.
    Raises ValueError when the text is not that answer."""
    lines = text.split("\n")
    if len(lines) < 2 or lines[0].strip() != "1" or not lines[1].startswith("#"):
        raise ValueError("not HAProxy's server state")
    col = {n: i for i, n in enumerate(lines[1][1:].split())}
    try:
        addr, port, op, admin, weight = (col[n] for n in ("srv_addr", "srv_port", "srv_op_state",
                                                         "srv_admin_state", "srv_uweight"))
    except KeyError as e:
        raise ValueError("no column %s" % e) from None
    out = []
    for line in lines[2:]:
        f = line.split()
        if len(f) < len(col):
            continue
        if int(f[op]) in ROUTING_OP_STATES and not int(f[admin]) & NOT_ROUTING_ADMIN and int(f[weight]) > 0:
            out.append("http://%s:%s" % (f[addr], f[port]))
    return out


class Client:
    """One runtime API, one connection per sample."""

    def __init__(self, api, backend, timeout):
        host, _, port = api.rpartition(":")
        self.addr, self.backend, self.timeout = (host, int(port)), backend, timeout
        self.prefix = "backend " + backend

    def servers(self):
        with socket.create_connection(self.addr, timeout=self.timeout) as s:
            s.sendall(("show servers state %s\n" % self.backend).encode())
            chunks, size = [], 0
            while True:
                b = s.recv(65536)
                if not b:
                    break
                size += len(b)
                if size > MAX_BYTES:
                    raise OSError("answer over %d bytes" % MAX_BYTES)
                chunks.append(b)
        return routed(b"".join(chunks).decode("utf-8", "replace"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", required=True, help="the runtime API's address:port")
    ap.add_argument("--backend", required=True)
    ap.add_argument("--interval-ms", type=int, default=50)
    ap.add_argument("--timeout-s", type=float, default=2.0)
    ap.add_argument("--once", action="store_true")
    a = ap.parse_args(argv)
    if a.interval_ms <= 0:
        ap.error("--interval-ms must be positive, got %d" % a.interval_ms)
    client = Client(a.api, a.backend, a.timeout_s)
    return traefik_sampler.once_or_run(client, a.once, a.interval_ms, "haproxy_sampler: %s" % a.api)

if __name__ == "__main__":
    sys.exit(main())
