#!/usr/bin/env bash
# Tests the demo app on loopback: routes, delayMs, and the SIGTERM drain contract the benchmark relies on.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/build.sh" >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
jar=$here/target/demo-app.jar
work=$(mktemp -d)
passed=0 failed=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

check() { # check <name> <command...>: runs the command, counts the result
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
now_ms() { date +%s%3N; }

# start <logfile> [ENV=value...]: starts the app on a kernel-chosen loopback port; sets PID and PORT
start() {
  local log=$1; shift
  env PORT=0 WS_PORT=0 BIND_ADDRESS=127.0.0.1 POD_NAME=test-pod APP_VERSION=v9 "$@" java -jar "$jar" >"$log" 2>&1 &
  PID=$!; pids+=("$PID"); PORT=
  for _ in $(seq 1 100); do # port 0 avoids collisions; the app logs the port it got
    PORT=$(sed -n 's/.*event=ready.* port=\([0-9]*\).*/\1/p' "$log" 2>/dev/null)
    [[ -n $PORT ]] && return 0
    sleep 0.05
  done
  echo "app did not become ready:"; cat "$log"; return 1
}

# raw HTTP on an already open fd 3, so the request travels over a kept-alive connection
raw_get() { # raw_get <path>: prints the response head, status line first
  printf 'GET %s HTTP/1.1\r\nHost: t\r\n\r\n' "$1" >&3
  local line head=
  while IFS= read -r -t 3 line <&3; do
    line=${line%$'\r'}
    [[ -z $line ]] && break
    head+="$line"$'\n'
  done
  # the bodies are one line; read it so the connection is clean for the next request
  IFS= read -r -t 3 line <&3
  printf '%s' "$head"
}

# wait_exit <pid> <max seconds>: sets RC (exit code, or 124 if still alive)
wait_exit() {
  local pid=$1 max_ms=$(($2 * 1000)) t0; t0=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) - t0 > max_ms)); then RC=124; return; fi
    sleep 0.02
  done
  wait "$pid"; RC=$?
}

# --- 0. warm-up before ready ------------------------------------------------------------------
# A warm-up far longer than this check: the port is open, /healthz says "warming" with a 503, and
# the app's own requests are not counted as served.
env PORT=0 WS_PORT=0 BIND_ADDRESS=127.0.0.1 WARMUP_REQUESTS=100000000 java -jar "$jar" >"$work/w.log" 2>&1 &
wpid=$!; pids+=("$wpid"); wport=
for _ in $(seq 1 100); do
  wport=$(sed -n 's/.*event=listening.* port=\([0-9]*\).*/\1/p' "$work/w.log"); [[ -n $wport ]] && break; sleep 0.05
done
check "healthz is 503 warming during the warm-up" \
  [ "$(curl -s -w '%{http_code}' --max-time 2 "http://127.0.0.1:$wport/healthz")" = $'warming\n503' ]
check "warm-up requests are not counted as served" \
  grep -q '"served":0,' <<<"$(curl -s --max-time 2 "http://127.0.0.1:$wport/stats")"
check "not logged ready during the warm-up" bash -c "! grep -q event=ready '$work/w.log'"
kill -9 "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null

# --- 1. plain serving -------------------------------------------------------------------------
start "$work/a.log" || { echo "0 passed, 1 failed"; exit 1; }
base=http://127.0.0.1:$PORT

out=$(curl -s -D "$work/h" "$base/")
check "GET / answers pod and version" [ "$out" = "pod=test-pod version=v9" ]
check "GET / sends X-Pod header" grep -qi '^x-pod: test-pod' "$work/h"
check "GET /prestop is 200 ok" [ "$(curl -s -w '%{http_code}' "$base/prestop")" = $'ok\n200' ]
check "GET /prestop logs event=prestop" grep -q ' event=prestop pod=test-pod' "$work/a.log"
check "GET /healthz is 200 ok" [ "$(curl -s -w '%{http_code}' "$base/healthz")" = $'ok\n200' ]
check "unknown path is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope")" = 404 ]
check "bad delayMs is 400" [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/?delayMs=x")" = 400 ]

t0=$(now_ms); code=$(curl -s -o /dev/null -w '%{http_code}' "$base/?delayMs=400"); dt=$(($(now_ms) - t0))
check "delayMs=400 takes >= 400 ms (took $dt)" [ "$code" = 200 -a "$dt" -ge 400 -a "$dt" -lt 1500 ]

# 50 slow requests must be in flight at the same time, not queued behind each other
for i in $(seq 1 50); do curl -s -o /dev/null -w '%{http_code}\n' "$base/?delayMs=3000" >>"$work/conc" & done
max=0
for _ in $(seq 1 60); do # the app's own count, so curl start-up cost does not blur the measure
  n=$(curl -s "$base/stats" | sed -n 's/.*"inFlight":\([0-9]*\).*/\1/p')
  ((n > max)) && max=$n
  ((max >= 50)) && break
  sleep 0.05
done
for j in $(jobs -p); do [[ $j == "$PID" ]] || wait "$j"; done
check "50 slow requests in flight at once (max seen $max)" [ "$max" = 50 ]
check "all 50 slow requests answered 200" [ "$(grep -c '^200$' "$work/conc")" = 50 ]
check "/stats reports served and inFlight" \
  grep -q '"served":5[0-9],"inFlight":0' <(curl -s "$base/stats")

# --- 2. SIGTERM with a 2 s request in flight and a kept-alive connection open ------------------
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
head=$(raw_get /healthz)
check "keep-alive connection healthz 200 before SIGTERM" grep -q '^HTTP/1.1 200' <<<"$head"

curl -s -o "$work/slow.body" -w '%{http_code}' "$base/?delayMs=2000" >"$work/slow.code" &
slow=$!
sleep 0.3
t0=$(now_ms)
kill -TERM "$PID"
sleep 0.2
head=$(raw_get /healthz)
check "healthz on a kept-alive connection is 503 after SIGTERM" grep -q '^HTTP/1.1 503' <<<"$head"
check "response during drain says Connection: close" grep -qi '^connection: close' <<<"$head"
exec 3<&-
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/healthz")
check "new connections are refused after SIGTERM (got $code)" [ "$code" = 000 ]

wait_exit "$PID" 35; dt=$(($(now_ms) - t0))
wait "$slow"
check "in-flight 2 s request completed with 200" [ "$(cat "$work/slow.code")" = 200 ]
check "in-flight request got its full body" [ "$(cat "$work/slow.body")" = "pod=test-pod version=v9" ]
check "exit code 0 after drain (got $RC)" [ "$RC" = 0 ]
check "exit waited for the in-flight request, then no longer (took $dt ms)" [ "$dt" -ge 1400 -a "$dt" -lt 4000 ]
for ev in start ready sigterm inflight stopped exit; do
  check "log has event=$ev" grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z event=$ev pod=test-pod" "$work/a.log"
done
check "log says nothing abandoned" grep -q 'event=stopped .*abandoned=0' "$work/a.log"

# --- 3. an idle keep-alive connection must not keep the process alive --------------------------
start "$work/b.log" || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
raw_get / >/dev/null
t0=$(now_ms); kill -TERM "$PID"; wait_exit "$PID" 10; dt=$(($(now_ms) - t0))
exec 3<&-
check "idle keep-alive connection: exit 0 at once (took $dt ms, rc $RC)" [ "$RC" = 0 -a "$dt" -lt 1000 ]

# --- 4. the shutdown timeout bounds the drain ----------------------------------------------------
start "$work/c.log" SHUTDOWN_TIMEOUT_SECONDS=1 || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$PORT/?delayMs=5000" &
sleep 0.3
t0=$(now_ms); kill -TERM "$PID"; wait_exit "$PID" 10; dt=$(($(now_ms) - t0))
check "SHUTDOWN_TIMEOUT_SECONDS=1 ends the drain after ~1 s (took $dt ms, rc $RC)" \
  [ "$RC" = 0 -a "$dt" -ge 900 -a "$dt" -lt 2500 ]
check "log reports the abandoned request" grep -q 'event=stopped .*abandoned=1 .*reason=timeout' "$work/c.log"

# --- 5. streams: SSE and WebSocket, their bounds, and /drain-streams --------------------------------
probe() { PYTHONPATH="$here/../.." python3 -m e2e.loadgen.ws_probe "$@"; }
qprobe() { probe "$@" >/dev/null; } # for check: its reason goes to stderr when it fails
start "$work/s.log" WARMUP_REQUESTS=0 MAX_STREAMS=4 DRAIN_STREAMS_TOKEN=s3cret || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
base=http://127.0.0.1:$PORT
WS=$(sed -n 's/.*event=ready.* wsPort=\([0-9]*\).*/\1/p' "$work/s.log")
ids() { sed -n 's/^id: //p' "$1" | tr '\n' ' '; } # the event ids of an SSE capture

curl -sN --max-time 1 "$base/sse?from=5&intervalMs=20" >"$work/sse1"
check "SSE starts with the hello naming the pod" \
  grep -q '^data: {"hello":true,"kind":"sse","stream":[0-9]*,"from":5,"pod":"test-pod","version":"v9"}$' "$work/sse1"
check "SSE sends numbered messages from ?from=5, in order ($(ids "$work/sse1" | cut -c1-40)...)" \
  python3 -c 'import sys; i=[int(x) for x in sys.argv[1].split()]; sys.exit(not (len(i) >= 10 and i == list(range(5, 5 + len(i)))))' "$(ids "$work/sse1")"
curl -sN --max-time 0.5 -H 'Last-Event-ID: 41' "$base/sse?intervalMs=20" >"$work/sse2"
check "SSE resumes after Last-Event-ID: 41 at 42" [ "$(ids "$work/sse2" | cut -d' ' -f1)" = 42 ]
check "SSE from=x is 400 with a message" \
  [ "$(curl -s -w ' %{http_code}' "$base/sse?from=x")" = "from must be an integer between 1 and 4503599627370496"$'\n'" 400" ]
check "SSE by HEAD or POST is 405" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -I "$base/sse")$(curl -s -o /dev/null -w '%{http_code}' -d x "$base/sse")" = 405405 ]
check "SSE intervalMs=1 is 400 (a stream is no flood)" [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/sse?intervalMs=1")" = 400 ]
check "WebSocket: hello, then 20 numbered messages from from=7, close 1000 echoed" qprobe "$WS" stream 20
check "WebSocket: a ping is answered with its payload" qprobe "$WS" ping
check "WebSocket: an unmasked client frame is closed with 1002" qprobe "$WS" unmasked
check "WebSocket: a 1 MiB frame is closed with 1009 unread" qprobe "$WS" huge
check "WebSocket: bad from is 400" [ "$(probe "$WS" handshake from=-1)" = "HTTP/1.1 400 Bad Request" ]
check "WebSocket: a 9 KiB request head is 431" [ "$(probe "$WS" bighead)" = "HTTP/1.1 431 Request Header Fields Too Large" ]
check "WebSocket port: a plain GET is 426" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS/ws")" = 426 ]
check "WebSocket port: another path is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS/x")" = 404 ]
n=$(probe "$WS" flood 300)
check "300 silent connections: the ones past the 256 handshakes are closed at once ($n)" [ "${n:-0}" -ge 44 ]
check "after the flood the app still streams" qprobe "$WS" stream 5
check "after the flood /healthz is 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ]

check "/drain-streams without the token is 403" [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/drain-streams")" = 403 ]
check "/drain-streams with a wrong token is 403" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Drain-Token: nope' "$base/drain-streams")" = 403 ]
# MAX_STREAMS=4: one WebSocket and three SSE streams fill it
probe "$WS" expect-close 1001 >"$work/ws.close" 2>&1 & wsp=$!
ssep=()
for i in 1 2 3; do curl -sN --max-time 20 "$base/sse?intervalMs=50" >"$work/sse-d$i" & ssep+=($!); done
for _ in $(seq 1 100); do
  [[ $(curl -s "$base/stats" | sed -n 's/.*"streams":{"open":\([0-9]*\).*/\1/p') == 4 ]] && break; sleep 0.05
done
check "MAX_STREAMS=4: the fifth stream is 503" \
  [ "$(curl -s -w ' %{http_code}' "$base/sse")" = "too many streams (MAX_STREAMS=4)"$'\n'" 503" ]
t0=$(now_ms)
out=$(curl -s -H 'X-Drain-Token: s3cret' "$base/drain-streams"); dt=$(($(now_ms) - t0))
check "/drain-streams ends the 4 streams and answers when they are closed ($out, $dt ms)" \
  [ "$out" = '{"ended":4,"abandoned":0}' -a "$dt" -lt 3000 ]
wait "$wsp"; rc=$?
check "the WebSocket got close 1001 draining ($(cat "$work/ws.close"))" [ "$rc" = 0 ]
for i in 1 2 3; do
  wait "${ssep[$((i - 1))]}"; rc=$? # curl: 0 only for a complete chunked response (18 when cut)
  check "SSE stream $i ended with the end event, then a complete response (curl rc $rc)" \
    [ "$rc" = 0 -a "$(tail -c 200 "$work/sse-d$i" | grep -c '^event: end$\|^data: {"end":true,"reason":"draining","lastSeq":')" = 2 ]
done
check "after /drain-streams a new SSE stream is 503 draining" \
  [ "$(curl -s -w ' %{http_code}' "$base/sse")" = "draining"$'\n'" 503" ]
check "after /drain-streams a new WebSocket is 503" [ "$(probe "$WS" handshake)" = "HTTP/1.1 503 Service Unavailable" ]
check "after /drain-streams plain requests and /healthz are still 200" \
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/")$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")" = 200200 ]
check "log: stream-open and stream-close with counts" \
  grep -qE 'event=stream-close pod=test-pod kind=ws id=[0-9]+ how=drain sent=[0-9]+ lastSeq=[0-9]+ durationMs=[0-9]+ open=[0-9]+' "$work/s.log"
check "log: drain-streams trigger=endpoint open=4 ws=1 sse=3, then streams-drained ended=4 abandoned=0" \
  grep -q 'event=drain-streams pod=test-pod trigger=endpoint open=4 ws=1 sse=3' "$work/s.log"
check "log: streams-drained after every stream-close" \
  bash -c "grep -A4 'event=drain-streams' '$work/s.log' | grep -c 'how=drain' | grep -qx 4 && tail -1 '$work/s.log' | grep -q 'event=streams-drained .*ended=4 abandoned=0'"
kill -TERM "$PID"; wait_exit "$PID" 10

# --- 6. SIGTERM ends the streams; a client that never answers the close holds the pod WS_CLOSE_WAIT_MS -----
start "$work/t.log" WARMUP_REQUESTS=0 WS_CLOSE_WAIT_MS=500 || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
WS=$(sed -n 's/.*event=ready.* wsPort=\([0-9]*\).*/\1/p' "$work/t.log")
probe "$WS" expect-close 1001 >"$work/ws.close" 2>&1 & wsp=$!
probe "$WS" silent 10 >"$work/silent" 2>&1 & silent=$!
curl -sN --max-time 20 "http://127.0.0.1:$PORT/sse?intervalMs=50" >"$work/sse-t" & ssep=$!
for _ in $(seq 1 100); do grep -q open "$work/silent" && (($(grep -c stream-open "$work/t.log") == 3)) && break; sleep 0.05; done
t0=$(now_ms); kill -TERM "$PID"; wait_exit "$PID" 10; dt=$(($(now_ms) - t0))
wait "$wsp"; rc=$?; wait "$ssep"; kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
check "SIGTERM: the WebSocket got close 1001 ($(cat "$work/ws.close"))" [ "$rc" = 0 ]
check "SIGTERM: the SSE stream got the end event" grep -q '^event: end$' "$work/sse-t"
check "SIGTERM: exit 0 once the silent client's 500 ms passed (took $dt ms, rc $RC)" [ "$RC" = 0 -a "$dt" -ge 450 -a "$dt" -lt 2500 ]
check "log: streams-drained trigger=sigterm ended=3 abandoned=0" \
  grep -q 'event=streams-drained pod=test-pod trigger=sigterm ended=3 abandoned=0' "$work/t.log"
check "log: stopped with streamsAbandoned=0" grep -q 'event=stopped .*streamsOpened=3 streamsAbandoned=0' "$work/t.log"

# a silent client and a WS_CLOSE_WAIT_MS longer than the shutdown timeout: the timeout wins, the stream is abandoned
start "$work/u.log" WARMUP_REQUESTS=0 WS_CLOSE_WAIT_MS=20000 SHUTDOWN_TIMEOUT_SECONDS=1 || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
WS=$(sed -n 's/.*event=ready.* wsPort=\([0-9]*\).*/\1/p' "$work/u.log")
probe "$WS" silent 10 >"$work/silent" 2>&1 & silent=$!
for _ in $(seq 1 100); do grep -q open "$work/silent" && break; sleep 0.05; done
t0=$(now_ms); kill -TERM "$PID"; wait_exit "$PID" 10; dt=$(($(now_ms) - t0))
kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
check "SHUTDOWN_TIMEOUT_SECONDS=1 bounds the streams' drain too (took $dt ms, rc $RC)" [ "$RC" = 0 -a "$dt" -ge 900 -a "$dt" -lt 2500 ]
check "log: the silent stream is abandoned" grep -q 'event=streams-drained .*ended=1 abandoned=1' "$work/u.log"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
