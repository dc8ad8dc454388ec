"""h2_load counts what an HTTP/2 front end does to kept-alive streams (python3 -m unittest discover -s e2e).

Needs the `h2` package (`zdt-cluster build h2` puts it in the cache's venv; run these with that
venv's python3 to include them: `$ZDT_CACHE/venv/bin/python3 -m unittest e2e.loadgen.test_h2_load`).
A small h2c server on loopback, written on the same library, stands in for the front end: it answers
as the demo app does, resets every fifth stream, answers 502 on every seventh, or sends GOAWAY.
"""
import json
import os
import socket
import tempfile
import threading
import unittest

try:
    import h2.config
    import h2.connection
    import h2.events
    H2 = True
except ImportError:
    H2 = False

from e2e.loadgen import h2_load


class Server:
    """An h2c server on a free loopback port; behaviour: 'ok', 'reset5', 'bad7', 'goaway-after-20'."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.conn, args=(s,), daemon=True).start()

    def conn(self, s):
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        c.initiate_connection()
        s.sendall(c.data_to_send())
        n = 0
        while True:
            data = s.recv(65536)
            if not data:
                s.close()
                return
            for ev in c.receive_data(data):
                if not isinstance(ev, h2.events.RequestReceived):
                    continue
                n += 1
                if self.behaviour == "goaway-after-20" and n > 20:
                    c.close_connection(last_stream_id=ev.stream_id - 2)
                    s.sendall(c.data_to_send())
                    s.close()
                    return
                if self.behaviour == "reset5" and n % 5 == 0:
                    c.reset_stream(ev.stream_id)
                    continue
                status, body = ("502", b"bad gateway\n") if self.behaviour == "bad7" and n % 7 == 0 \
                    else ("200", b"pod=p1 version=v1\n")
                c.send_headers(ev.stream_id, [(":status", status), ("x-pod", "p1"), ("x-version", "v1"),
                                              ("content-length", str(len(body)))])
                c.send_data(ev.stream_id, body, end_stream=True)
            s.sendall(c.data_to_send())

    def close(self):
        self.sock.close()


@unittest.skipUnless(H2, "the h2 package is not installed here (zdt-cluster build h2; run with $ZDT_CACHE/venv/bin/python3)")
class H2Load(unittest.TestCase):
    def run_load(self, behaviour, seconds=1.0, rate=60):
        srv = Server(behaviour)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "s.json")
                h2_load.main(["--url", "http://127.0.0.1:%d/" % srv.port, "--host-header", "demo.local",
                              "--rate", str(rate), "--connections", "2", "--duration", str(seconds),
                              "--timeout", "2", "--summary", out, "--out", os.path.join(tmp, "r.csv")])
                with open(out) as f:
                    return json.load(f), srv.accepted
        finally:
            srv.close()

    def test_every_request_answered_on_two_kept_connections(self):
        s, accepted = self.run_load("ok")
        self.assertEqual((s["requests"], s["failed"], s["connections"], accepted), (60, 0, 2, 2), s)
        self.assertEqual(s["pods"], {"p1": 60})

    def test_a_reset_stream_is_a_failure_and_the_connection_is_kept(self):
        s, accepted = self.run_load("reset5")
        self.assertEqual(s["failedByKind"], {"reset": 12}, s)
        self.assertEqual(accepted, 2)

    def test_a_502_is_counted_by_its_status(self):
        s, _ = self.run_load("bad7")
        self.assertEqual(s["failedByKind"], {"http_502": 8}, s)

    def test_a_goaway_fails_the_refused_streams_and_the_client_connects_again(self):
        s, accepted = self.run_load("goaway-after-20", seconds=2.0)
        self.assertGreater(s["failed"], 0, s)
        self.assertLessEqual(set(s["failedByKind"]), {"goaway", "reset"}, s)
        self.assertGreater(accepted, 2, "new connections after each GOAWAY")
        self.assertGreater(s["ok"], 40, s)


if __name__ == "__main__":
    unittest.main()
