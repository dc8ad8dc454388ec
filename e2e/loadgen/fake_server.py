#!/usr/bin/env python3
"""A stand-in target for e2e/loadgen/test.sh: answers 200 with bodies the demo app would not.
Prints "port=N" once it listens (port 0: the kernel chooses).

  /wrong     200 "hello\\n" (what a default backend or a misrouted request could answer)
  /mismatch  200 "pod=fake-a version=v2\\n" with X-Pod: fake-b (body and header disagree)
  /chunked   200 "pod=fake-c version=v3\\n" in three chunks, no X-Pod/X-Version headers
  /sse-gap   an SSE stream as the demo app's /sse, but it skips seq 3 and ends the response after
             seq 5 without the end event (the stream client must count 1 lost and close kind eof)
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/sse-gap":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            events = [b'event: hello\ndata: {"hello":true,"pod":"fake-s"}\n\n']
            events += [b'id: %d\ndata: {"seq":%d,"pod":"fake-s"}\n\n' % (n, n) for n in (1, 2, 4, 5)]
            for e in events:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(e), e))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for part in (b"pod=fake-c", b" version=", b"v3\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/wrong":
            body, headers = b"hello\n", {}
        elif path == "/mismatch":
            body, headers = b"pod=fake-a version=v2\n", {"X-Pod": "fake-b", "X-Version": "v2"}
        else:
            body, headers = b"not found\n", {}
        self.send_response(200 if body != b"not found\n" else 404)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print("port=%d" % server.server_address[1], flush=True)
    server.serve_forever()
