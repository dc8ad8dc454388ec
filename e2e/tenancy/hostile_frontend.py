"""Front ends that answer the operator badly, one port per way (the rollout proof's gate-siege).

A tenant may name a Service of its own namespace as its app's front end (traffic.controller); the
operator then asks each of that Service's endpoints for its routing table. This server is what a
hostile tenant would put behind such a Service. Each mode listens on base-port + its index:

  huge       200, Content-Length 64 MiB of `[{},{},...]`: larger than any cap
  endless    200, chunked `[{},{},...` that never ends
  slow       200, Content-Length 1 MiB, one byte every 2 s
  malformed  200, JSON that breaks off into bytes that are no JSON at all
  redirect   302 to the API server's Secrets (a fetch must not follow it)

Every connection is recorded: mode, when it opened and closed, and the bytes sent before the
operator closed it. SIGTERM (or --seconds) stops accepting, gives open connections LINGER seconds
to end, and writes --out (JSON), which the rollout analysis reads: each mode must have been asked,
none read whole, none still open after that.
"""
import argparse
import json
import signal
import socket
import threading
import time

MODES = ("huge", "endless", "slow", "malformed", "redirect")
HUGE_BYTES = 64 * 1024 * 1024
SLOW_BYTES = 1024 * 1024
PIECE = b"{}," * 10922  # ~32 KiB
# Seconds the server waits at its stop for open connections to end (the operator cuts at 4 s).
LINGER = 10


def answer(mode, conn, record):
    """Writes mode's answer to conn, counting the bytes that got out; stops when conn is closed."""
    def send(data):
        conn.sendall(data)
        record["bytesSent"] += len(data)

    if mode == "redirect":
        send(b"HTTP/1.1 302 Found\r\nLocation: https://10.96.0.1:443/api/v1/namespaces/kube-system/secrets\r\n"
             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        return
    if mode == "malformed":
        body = b'[{"name":"app@kubernetes","loadBalancer":{"servers":[{"url":' + b"\xff\xfe\x00{{{[[[" * 1000
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
             % len(body) + body)
        return
    if mode == "slow":
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[" % SLOW_BYTES)
        for _ in range(SLOW_BYTES):
            time.sleep(2)
            send(b"{")
        return
    if mode == "huge":
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[" % HUGE_BYTES)
        left = HUGE_BYTES - 1
        while left > 0:
            piece = PIECE[:left]
            send(piece)
            left -= len(piece)
        return
    # endless
    send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    send(b"1\r\n[\r\n")
    chunk = b"%x\r\n%s\r\n" % (len(PIECE), PIECE)
    while True:
        send(chunk)


def serve(mode, sock, records, lock):
    while True:
        try:
            conn, peer = sock.accept()
        except OSError:
            return
        record = {"mode": mode, "peer": peer[0], "openedAtMs": int(time.time() * 1000), "bytesSent": 0}
        with lock:  # recorded from the start: a connection still open when the server stops says so
            records.append(record)

        def one(conn=conn, record=record):
            try:
                conn.settimeout(30)
                conn.recv(65536)  # the request line and headers; what is asked does not matter
                answer(mode, conn, record)
                record["end"] = "answered"
            except OSError as e:  # the operator closed the connection: what this server is for
                record["end"] = "closed-by-peer:" + type(e).__name__
            finally:
                record["closedAtMs"] = int(time.time() * 1000)
                conn.close()

        threading.Thread(target=one, daemon=True).start()


def summarize(records):
    """Per mode: connections, the most bytes any one was sent, and how many the peer cut short. Pure."""
    out = {m: {"connections": 0, "maxBytesSent": 0, "cutByPeer": 0, "openAtStop": 0, "longestSeconds": 0.0}
           for m in MODES}
    for r in records:
        m = out[r["mode"]]
        m["connections"] += 1
        m["maxBytesSent"] = max(m["maxBytesSent"], r["bytesSent"])
        m["cutByPeer"] += 1 if str(r.get("end", "")).startswith("closed-by-peer") else 0
        m["openAtStop"] += 1 if "end" not in r else 0
        if "closedAtMs" in r:
            m["longestSeconds"] = max(m["longestSeconds"], round((r["closedAtMs"] - r["openedAtMs"]) / 1000, 3))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bind", required=True, help="address to listen on (one the pods reach)")
    ap.add_argument("--base-port", type=int, required=True, help="huge listens here, the others on the next ports")
    ap.add_argument("--seconds", type=float, default=3600, help="stop after this long")
    ap.add_argument("--out", required=True, help="JSON record written when the server stops")
    a = ap.parse_args()
    records, lock, socks = [], threading.Lock(), []
    for i, mode in enumerate(MODES):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.bind, a.base_port + i))
        s.listen(64)
        socks.append(s)
        threading.Thread(target=serve, args=(mode, s, records, lock), daemon=True).start()
    print("listening: " + ", ".join("%s %s:%d" % (m, a.bind, a.base_port + i) for i, m in enumerate(MODES)), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(a.seconds)
    for s in socks:
        s.close()
    # Connections opened just before the stop are still within what the operator allows (it cuts a
    # trickle after twice its request timeout, and a cut shows here at the next byte sent): give
    # them LINGER seconds to end before any is counted as left open.
    deadline = time.monotonic() + LINGER
    while time.monotonic() < deadline:
        with lock:
            if all("end" in r for r in records):
                break
        time.sleep(0.2)
    with lock:
        done = [dict(r) for r in records]
    with open(a.out, "w") as fh:
        json.dump({"modes": summarize(done), "connections": done}, fh, indent=1)


if __name__ == "__main__":
    main()
