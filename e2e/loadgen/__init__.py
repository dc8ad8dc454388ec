"""The load generator's tests' helpers, each run as python3 -m e2e.loadgen.<name>: fake_server (answers
the demo app would not), tcp_rr (a round-robin front end), ws_probe (a WebSocket client from RFC 6455)."""
