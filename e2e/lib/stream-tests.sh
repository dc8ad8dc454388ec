# shellcheck shell=bash
# Sourced by the loopback tests of the long-lived streams (e2e/loadgen/test-streams.sh,
# e2e/grpc-stream/test.sh). They set `work` (their scratch folder), `passed`, `failed` and the
# array `pids` (killed at their exit) before they call these.
ZDT_E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

check() { # check <name> <command...>: runs the command, counts and prints the result
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
now_ms() { date +%s%3N; }
# jq-like reads with the standard library: j <file> <python expression over s (the summary)>
j() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$1"; }
# r <file> <python expression over rs (the records, a list of dicts)>
r() { python3 -c "import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; print($2)" "$1"; }
wait_exit() { # wait_exit <pid> <max s>: sets RC (124 if still running)
  local i
  for ((i = 0; i < $2 * 50; i++)); do kill -0 "$1" 2>/dev/null || { wait "$1"; RC=$?; return; }; sleep 0.02; done
  RC=124
}
await_ready() { # await_ready <log>: until the demo app logs event=ready (10 s); sets PORT, WSPORT, GRPC (off: empty)
  local line
  for _ in $(seq 1 200); do
    line=$(grep -m1 ' event=ready ' "$1" 2>/dev/null)
    if [[ -n $line ]]; then
      PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<<"$line")
      WSPORT=$(sed -n 's/.* wsPort=\([0-9]*\).*/\1/p' <<<"$line")
      GRPC=$(sed -n 's/.* grpcPort=\([0-9]*\).*/\1/p' <<<"$line")
      return 0
    fi
    sleep 0.05
  done
  echo "demo app did not start ($1):"; cat "$1"; return 1
}
start_rr() { # start_rr <name> <backend ports...>: a round-robin front end (e2e.loadgen.tcp_rr); sets RR (its port)
  local name=$1; shift
  PYTHONPATH=$ZDT_E2E_ROOT python3 -m e2e.loadgen.tcp_rr "$@" >"$work/$name.port" 2>"$work/$name.err" &
  pids+=("$!"); RR=
  for _ in $(seq 1 100); do
    RR=$(sed -n 's/^port=//p' "$work/$name.port" 2>/dev/null); [[ -n $RR ]] && return 0; sleep 0.05
  done
  echo "tcp_rr did not start"; return 1
}
