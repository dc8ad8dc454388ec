"""The load generator's tests' helpers (fake_server: python3 -m e2e.loadgen.fake_server)."""
