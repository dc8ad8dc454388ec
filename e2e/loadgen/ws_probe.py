#!/usr/bin/env python3
"""A WebSocket client written from RFC 6455 with the standard library only, for the demo app's test.sh:
it checks the app's server side frame by frame (what the JDK client hides) and attacks it.
Run as python3 -m e2e.loadgen.ws_probe PORT CHECK [ARG]:

  PORT stream N          handshake, N messages in order, then close 1000 and its echo
  PORT expect-close CODE handshake, wait for a close frame with CODE (the drain: 1001)
  PORT ping              a ping is answered by a pong with the same payload
  PORT unmasked          an unmasked frame is closed with 1002
  PORT huge              a 1 MiB frame header is closed with 1009, nothing read
  PORT handshake QUERY   prints the status line of GET /ws?QUERY (400, 503, 101 ...)
  PORT bighead           a 9 KiB request head: prints the status line (431)
  PORT silent SECONDS    handshake, then neither read nor answer anything for SECONDS
  PORT flood N           opens N connections that send nothing; prints how many the
                         server closed within 2 s (those past its handshake bound)
Exit 0 when the check holds, 1 otherwise (with the reason on stderr).
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def fail(msg):
    print("ws_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def connect(port, query="", timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws" + (b"?" + query.encode() if query else b"") + b" HTTP/1.1\r\nHost: t\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, key, head.decode("latin-1")


def upgraded(port, query=""):
    s, key, head = connect(port, query)
    status = head.split("\r\n", 1)[0]
    if not status.startswith("HTTP/1.1 101"):
        fail("handshake: " + status)
    want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    if ("sec-websocket-accept: " + want).lower() not in head.lower():
        fail("Sec-WebSocket-Accept missing or wrong in " + repr(head))
    return s


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def read_frame(s):
    b0, b1 = recv_exact(s, 2)
    if b1 & 0x80:
        fail("the server masked a frame")
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(s, 8))[0]
    return b0 & 0x0F, bool(b0 & 0x80), recv_exact(s, n)


def send_frame(s, opcode, payload, mask=True):
    head = bytes([0x80 | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    s.sendall(head + payload)


def close_code(payload):
    return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None


def main():
    port, what = int(sys.argv[1]), sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    if what == "stream":
        s = upgraded(port, "intervalMs=10&from=7")
        op, _, p = read_frame(s)
        hello = json.loads(p)
        if op != 1 or not hello.get("hello") or not hello.get("pod"):
            fail("first frame is not the hello: %r" % p)
        want = 7
        for _ in range(int(arg)):
            op, fin, p = read_frame(s)
            m = json.loads(p)
            if op != 1 or not fin or m["seq"] != want or m["pod"] != hello["pod"]:
                fail("expected text seq %d from %s, got opcode %d %r" % (want, hello["pod"], op, p))
            want += 1
        send_frame(s, 8, struct.pack(">H", 1000))
        while True:  # messages already on their way may come before the echo
            op, _, p = read_frame(s)
            if op == 8:
                break
        if close_code(p) != 1000:
            fail("close echo code %r" % close_code(p))
        print("ok %d messages from %s" % (want - 7, hello["pod"]))
    elif what == "expect-close":
        s = upgraded(port)
        s.settimeout(10)
        while True:
            op, _, p = read_frame(s)
            if op == 8:
                break
        code = close_code(p)
        send_frame(s, 8, p[:2])
        if s.recv(1) != b"":
            fail("the server did not close the connection after the close handshake")
        print("close %s %s" % (code, p[2:].decode()))
        if code != int(arg):
            fail("close code %s, wanted %s" % (code, arg))
    elif what == "ping":
        s = upgraded(port, "intervalMs=60000")
        read_frame(s)  # hello
        send_frame(s, 9, b"are-you-there")
        op, _, p = read_frame(s)
        if op != 0xA or p != b"are-you-there":
            fail("expected a pong with the payload, got %d %r" % (op, p))
        print("pong")
    elif what in ("unmasked", "huge"):
        s = upgraded(port, "intervalMs=60000")
        read_frame(s)  # hello
        if what == "unmasked":
            send_frame(s, 1, b"hello", mask=False)
            want = 1002
        else:
            s.sendall(bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 20) + os.urandom(4))
            want = 1009
        op, _, p = read_frame(s)
        if op != 8 or close_code(p) != want:
            fail("expected close %d, got %d %r" % (want, op, p))
        print("close %d %s" % (want, p[2:].decode()))
    elif what == "silent":
        s = upgraded(port)
        print("open", flush=True)
        time.sleep(float(arg))
    elif what == "handshake":
        _, _, head = connect(port, arg)
        print(head.split("\r\n", 1)[0])
    elif what == "bighead":
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: t\r\nX-Junk: " + b"a" * 9000 + b"\r\n\r\n")
        print(s.recv(200).decode("latin-1").split("\r\n", 1)[0])
    elif what == "flood":
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(int(arg))]
        time.sleep(2)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed += 1
        print(closed)
    else:
        fail("unknown check " + what)


if __name__ == "__main__":
    main()
