"""Kept-alive HTTP/2 clients: an open-model load over a few long-lived cleartext HTTP/2 connections
(prior knowledge, as gRPC and most service meshes speak to a front end), every request recorded.

  python3 -m e2e.loadgen.h2_load --url http://127.0.0.1:8081/ --host-header demo.local --rate 50 \
      --connections 2 --until-file STOP --out h2-requests.csv --summary h2-summary.json

Needs the `h2` package (PyPI, sans-I/O HTTP/2; `zdt-cluster build h2` installs it into the cache's
venv). Request i is due at start + i/rate and is sent on connection i mod N whether or not earlier
ones were answered, as multiplexed streams; a connection the front end closes (or that fails) is
opened again at once, and the streams it had open count as failed (`goaway` or `reset`). A 2xx
counts only when its body is the demo app's answer (`pod=<pod> version=<version>`), as in loadgen.
Failures by kind: http_<status>, reset (RST_STREAM or the connection lost mid-stream), goaway (the
stream was refused by a GOAWAY), timeout (no end of stream within --timeout), refused (no
connection), bad_body. Exit 0 whatever the failures; the caller judges them.
"""
import argparse
import csv
import json
import os
import re
import selectors
import socket
import sys
import time
from urllib.parse import urlsplit

BODY = re.compile(r"pod=(?P<pod>\S+) version=(?P<version>\S+)\n")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--host-header")
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds; with --until-file the upper bound")
    ap.add_argument("--until-file")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--out")
    ap.add_argument("--summary")
    a = ap.parse_args(argv)
    if a.rate <= 0 or not 1 <= a.connections <= 64 or a.timeout <= 0:
        ap.error("--rate > 0, --connections 1..64, --timeout > 0")
    return a


class Conn:
    """One HTTP/2 connection and its open streams: stream id -> request record."""

    def __init__(self, index, addr, authority):
        self.index, self.addr, self.authority = index, addr, authority
        self.sock = None
        self.h2 = self.new_state()
        self.open = {}
        self.opened = 0

    @staticmethod
    def new_state():
        """The protocol state of a connection not yet opened (a client's, headers as text)."""
        import h2.config
        import h2.connection
        return h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))

    def connect(self):
        self.sock = socket.create_connection(self.addr, timeout=2.0)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h2.initiate_connection()
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        while data:
            try:
                n = self.sock.send(data)
            except BlockingIOError:
                select_write(self.sock)
                continue
            data = data[n:]

    def get(self, path, rec):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":authority", self.authority),
                                   (":path", path), ("user-agent", "zdt-h2-load")], end_stream=True)
        self.flush()
        rec["conn"] = self.index
        self.open[sid] = rec


def select_write(sock):
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_WRITE)
    sel.select(1.0)
    sel.close()


def finish(rec, kind, status=0):
    rec["status"] = status
    rec["errorKind"] = kind
    rec["latencyMs"] = round((time.monotonic() - rec["t0"]) * 1000.0, 3)


def main(argv=None):
    import h2.events
    import h2.exceptions
    a = parse(sys.argv[1:] if argv is None else argv)
    u = urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit("--url must be http://host[:port]/path (cleartext HTTP/2, prior knowledge)")
    addr = (u.hostname, u.port or 80)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    authority = a.host_header or u.netloc
    conns = [Conn(i, addr, authority) for i in range(a.connections)]
    sel = selectors.DefaultSelector()
    done, connections = [], 0

    def lose(c, kind):
        """The connection ended: its open streams fail with kind, it is opened again on the next send."""
        for rec in c.open.values():
            finish(rec, kind)
            done.append(rec)
        c.open.clear()
        if c.sock is not None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        c.sock = None
        c.h2 = Conn.new_state()

    start_wall, start = time.time(), time.monotonic()
    seq, stop_reason = 0, "duration"
    while True:
        now = time.monotonic()
        stopping = now - start >= a.duration or (a.until_file and os.path.exists(a.until_file))
        if stopping and a.until_file and os.path.exists(a.until_file):
            stop_reason = "until-file"
        # send what is due
        while not stopping and start + seq / a.rate <= now:
            c = conns[seq % len(conns)]
            rec = {"seq": seq, "sendEpochMs": int(time.time() * 1000), "t0": time.monotonic(), "pod": "",
                   "version": "", "body": b""}
            seq += 1
            try:
                if c.sock is None:
                    c.connect()
                    c.opened += 1
                    connections += 1
                    sel.register(c.sock, selectors.EVENT_READ, c)
                c.get(path, rec)
            except (OSError, h2.exceptions.ProtocolError) as e:
                finish(rec, "refused" if isinstance(e, ConnectionRefusedError) else "reset")
                done.append(rec)
                if c.sock is not None:
                    lose(c, "reset")
        if stopping and not any(c.open for c in conns):
            break
        if stopping and now - start > a.duration + a.timeout + 1:
            break
        # read what came
        wait = max(0.0, min(0.05, start + seq / a.rate - time.monotonic()))
        for key, _ in sel.select(wait):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                lose(c, "reset")
                continue
            if not data:
                lose(c, "reset")
                continue
            try:
                events = c.h2.receive_data(data)
            except h2.exceptions.ProtocolError:
                lose(c, "reset")
                continue
            for ev in events:
                rec = c.open.get(getattr(ev, "stream_id", None))
                if isinstance(ev, h2.events.ResponseReceived) and rec is not None:
                    hdr = dict(ev.headers)
                    rec["status"] = int(hdr.get(":status", "0"))
                    rec["pod"], rec["version"] = hdr.get("x-pod", ""), hdr.get("x-version", "")
                elif isinstance(ev, h2.events.DataReceived):
                    if rec is not None and len(rec["body"]) < 4096:
                        rec["body"] += ev.data
                    c.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and rec is not None:
                    del c.open[ev.stream_id]
                    status = rec.get("status", 0)
                    kind = "none"
                    if not 200 <= status < 300:
                        kind = "http_%d" % status if status in (502, 503, 504) else "http_other"
                    else:
                        m = BODY.fullmatch(rec["body"].decode("utf-8", "replace"))
                        if m is None or (rec["pod"] and m["pod"] != rec["pod"]):
                            kind = "bad_body"
                        elif not rec["pod"]:
                            rec["pod"], rec["version"] = m["pod"], m["version"]
                    finish(rec, kind, status)
                    done.append(rec)
                elif isinstance(ev, h2.events.StreamReset) and rec is not None:
                    del c.open[ev.stream_id]
                    finish(rec, "reset", rec.get("status", 0))
                    done.append(rec)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    # Streams above the last one the peer processed were refused: safe to retry.
                    last = ev.last_stream_id or 0
                    for sid in [s for s in c.open if s > last]:
                        r = c.open.pop(sid)
                        finish(r, "goaway")
                        done.append(r)
                    lose(c, "reset")
                    break
            if c.sock is not None:
                try:
                    c.flush()
                except OSError:
                    lose(c, "reset")
        # time out what is overdue
        now = time.monotonic()
        for c in conns:
            for sid in [s for s, r in c.open.items() if now - r["t0"] > a.timeout]:
                rec = c.open.pop(sid)
                finish(rec, "timeout", rec.get("status", 0))
                done.append(rec)
                try:
                    c.h2.reset_stream(sid)
                    c.flush()
                except (OSError, h2.exceptions.ProtocolError):
                    pass
    for c in conns:
        if c.sock is not None:
            try:
                c.h2.close_connection()
                c.flush()
            except (OSError, h2.exceptions.ProtocolError):
                pass
            c.sock.close()
    done.sort(key=lambda r: r["seq"])
    failed = [r for r in done if r["errorKind"] != "none"]
    by_kind = {}
    for r in failed:
        by_kind[r["errorKind"]] = by_kind.get(r["errorKind"], 0) + 1
    pods = {}
    for r in done:
        if r["pod"]:
            pods[r["pod"]] = pods.get(r["pod"], 0) + 1
    duration = max(1e-9, min(time.monotonic() - start, a.duration))
    summary = {"protocol": "h2c", "startEpochMs": int(start_wall * 1000), "requests": len(done),
               "ok": len(done) - len(failed), "failed": len(failed), "failedByKind": by_kind,
               "connections": connections, "connectionsAsked": a.connections, "rate": a.rate,
               "achievedRate": round(len(done) / duration, 1), "stopReason": stop_reason, "pods": pods}
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seq", "sendEpochMs", "latencyMs", "status", "errorKind", "pod", "version", "conn"])
            for r in done:
                w.writerow([r["seq"], r["sendEpochMs"], r["latencyMs"], r["status"], r["errorKind"], r["pod"],
                            r["version"], r.get("conn", "")])
    text = json.dumps(summary, indent=1)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
