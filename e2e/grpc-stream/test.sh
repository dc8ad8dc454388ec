#!/usr/bin/env bash
# Tests the demo app's gRPC server stream and the load generator's gRPC kind on loopback, the app run
# as its image runs it (stage.sh): the port under attack (bad requests, a huge message, a huge header,
# garbage, 300 silent connections, more calls than MAX_STREAMS), /drain-streams, a client that reads
# nothing against the shutdown timeout, then two apps behind the round-robin front end
# (e2e.loadgen.tcp_rr): a SIGTERM ends the streams with GOAWAY and UNAVAILABLE + goodbye, which the
# client counts clean and resumes on the other app with nothing lost or repeated; a SIGKILL is counted
# abnormal. About 50 s warm. KEEP=1 keeps the work folder.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
passed=0 failed=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
"$here/stage.sh" "$work/app" >/dev/null 2>"$work/build.err" || { cat "$work/build.err"; echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
"$root/e2e/loadgen/build.sh" >/dev/null || { echo "loadgen build failed"; echo "0 passed, 1 failed"; exit 1; }

source "$here/../lib/stream-tests.sh" # check, now_ms, j, r, wait_exit, await_ready, start_rr
probe_() { java -XX:TieredStopAtLevel=1 -cp "$work/app/grpc/*" dev.zdt.grpcstream.Probe "$@"; } # stderr: its progress
probe() { probe_ "$@" 2>>"$work/probe.err"; }
qprobe() { probe "$@" >/dev/null; }
app() { # app <log> [ENV=value...]: the demo app as the image runs it, on loopback
  local log=$1; shift
  exec env PORT=0 WS_PORT=-1 GRPC_PORT=0 BIND_ADDRESS=127.0.0.1 WARMUP_REQUESTS=0 SHUTDOWN_TIMEOUT_SECONDS=5 "$@" \
    java -XX:TieredStopAtLevel=1 -cp "$work/app/demo-app.jar:$work/app/grpc/*" dev.zdt.demo.DemoApp >"$log" 2>&1
}
start() { # start <name> [ENV=value...]: sets PID, PORT (HTTP), GRPC
  local name=$1 log=$work/$1.log; shift
  app "$log" POD_NAME="$name" "$@" &
  PID=$!; pids+=("$PID")
  await_ready "$log"
}
wait_line() { # wait_line <file> <pattern> [count]: until the file has count (1) lines matching
  local i n
  for ((i = 0; i < 300; i++)); do n=$(grep -c -- "$2" "$1" 2>/dev/null); ((${n:-0} >= ${3:-1})) && return 0; sleep 0.05; done
  return 1
}
fail_all() { echo "$passed passed, $((failed + 1)) failed"; exit 1; }

# --- 1. GRPC_PORT at start: a clear message when it cannot be served ---------------------------------
out=$(env GRPC_PORT=0 WARMUP_REQUESTS=0 PORT=0 WS_PORT=-1 timeout 20 java -jar "$work/app/demo-app.jar" 2>&1); rc=$?
check "GRPC_PORT without the gRPC module: the app stops at start, naming GRPC_PORT and build.sh (rc $rc)" \
  [ "$rc" = 1 -a -n "$(grep 'GRPC_PORT=0 needs the gRPC module on the class path: build it with e2e/grpc-stream/build.sh' <<<"$out")" ]
out=$(app /dev/stdout GRPC_PORT=70000 2>&1); rc=$?
check "GRPC_PORT=70000 stops the app with a message (rc $rc)" \
  [ "$rc" = 1 -a -n "$(grep 'GRPC_PORT must be -1 (off), 0 (a free port) or a port up to 65535, got 70000' <<<"$out")" ]
out=$(app /dev/stdout GRPC_PORT=x 2>&1); rc=$?
check "GRPC_PORT=x stops the app with a message (rc $rc)" [ "$rc" = 1 -a -n "$(grep "GRPC_PORT must be an integer, got 'x'" <<<"$out")" ]

# --- 2. one app, its port attacked ---------------------------------------------------------------------
start x MAX_STREAMS=4 DRAIN_STREAMS_TOKEN=s3cret || fail_all
X=$PID
check "ready line names the gRPC port ($GRPC)" grep -q "event=ready pod=x .* wsPort=off grpcPort=$GRPC " "$work/x.log"
out=$(probe "$GRPC" stream 20)
check "hello naming the pod, then 20 numbered messages from 7 ($out)" [ $? = 0 ]
check "bad from is INVALID_ARGUMENT with the reason" \
  [ "$(probe "$GRPC" status from=x)" = "INVALID_ARGUMENT: from must be an integer between 1 and 4503599627370496" ]
check "intervalMs=1 is INVALID_ARGUMENT (a stream is no flood)" \
  [ "$(probe "$GRPC" status intervalMs=1)" = "INVALID_ARGUMENT: intervalMs must be an integer between 10 and 60000" ]
out=$(probe "$GRPC" huge 16000000)
check "a 16 MB request is RESOURCE_EXHAUSTED at the 1 KiB limit ($out)" [ $? = 0 ]
out=$(probe "$GRPC" bighead 20000)
check "a 20 KB request header fails the call ($out)" [ $? = 0 ]
check "an unknown method is UNIMPLEMENTED" qprobe "$GRPC" unknown
out=$(probe "$GRPC" garbage)
check "64 KiB of garbage instead of HTTP/2: the connection is closed ($out)" [ $? = 0 ]
threads0=$(awk '/^Threads:/ { print $2 }' "/proc/$X/status")
t0=$(now_ms); out=$(probe "$GRPC" silent 300 9); dt=$(($(now_ms) - t0))
check "300 silent connections are all closed by the 5 s handshake limit ($out)" \
  [ "${out%% *}" = 300 ]
threads1=$(awk '/^Threads:/ { print $2 }' "/proc/$X/status")
check "they cost the app no thread each (threads $threads0 before, $threads1 after)" [ $((threads1 - threads0)) -lt 10 ]
out=$(probe "$GRPC" many 10)
check "10 calls at once with MAX_STREAMS=4: 4 open, 6 RESOURCE_EXHAUSTED ($out)" \
  [ "$out" = "open=4 refused={RESOURCE_EXHAUSTED too many streams (MAX_STREAMS=4)=6}" ]
check "after the attacks the app still streams" qprobe "$GRPC" stream 5
check "after the attacks /healthz is 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]
check "the library's stack traces stay out of the log (only event= lines)" [ -z "$(grep -v ' event=' "$work/x.log")" ]

# /drain-streams: the gRPC stream gets its goodbye too, and the gRPC listener closes (GOAWAY)
probe_ "$GRPC" goodbye >"$work/goodbye" 2>"$work/goodbye.err" & gp=$!
wait_line "$work/goodbye.err" '^open$'
t0=$(now_ms); out=$(curl -s -H 'X-Drain-Token: s3cret' "http://127.0.0.1:$PORT/drain-streams"); dt=$(($(now_ms) - t0))
wait "$gp"; rc=$?
check "/drain-streams ends the gRPC stream and answers when it is closed ($out, $dt ms)" \
  [ "$out" = '{"ended":1,"abandoned":0}' -a "$dt" -lt 3000 ]
check "the client got UNAVAILABLE with the goodbye trailer naming its last seq ($(cat "$work/goodbye"))" [ "$rc" = 0 ]
check "log: drain-streams trigger=endpoint grpc=1, the stream closed how=drain" \
  bash -c "grep -q 'event=drain-streams pod=x trigger=endpoint open=1 ws=0 sse=0 grpc=1' '$work/x.log' &&
    grep -q 'event=stream-close pod=x kind=grpc id=[0-9]* how=drain sent=[0-9]* lastSeq=[0-9]*' '$work/x.log'"
out=$(probe "$GRPC" status from=1)
check "after /drain-streams the gRPC port takes no connection ($out)" [ "${out%%:*}" = UNAVAILABLE ]
check "after /drain-streams plain requests are still 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 200 ]
t0=$(now_ms); kill -TERM "$X"; wait_exit "$X" 10; dt=$(($(now_ms) - t0))
check "SIGTERM after /drain-streams: exit 0 at once (rc $RC, $dt ms)" [ "$RC" = 0 -a "$dt" -lt 2000 ]

# --- 3. a client that reads nothing: the shutdown timeout bounds the drain ------------------------------
start y SHUTDOWN_TIMEOUT_SECONDS=2 || fail_all
probe_ "$GRPC" stuck 30 >/dev/null 2>"$work/stuck.err" & sp=$!; pids+=("$sp")
wait_line "$work/stuck.err" '^open$'
sleep 3 # the app's sends reach its ready threshold: its writer waits on flow control
t0=$(now_ms); kill -TERM "$PID"; wait_exit "$PID" 10; dt=$(($(now_ms) - t0))
check "SHUTDOWN_TIMEOUT_SECONDS=2 bounds the drain of a stream whose client reads nothing (rc $RC, $dt ms)" \
  [ "$RC" = 0 -a "$dt" -ge 1900 -a "$dt" -lt 4000 ]
check "log: the stream is abandoned, the rest is cut" \
  bash -c "grep -q 'event=streams-drained pod=y trigger=sigterm ended=1 abandoned=1' '$work/y.log' && grep -q 'event=stopped .*streamsAbandoned=1' '$work/y.log'"
kill "$sp" 2>/dev/null

# --- 4. two apps behind the round-robin front end: SIGTERM, SIGKILL -------------------------------------
pair() { # pair <a> <b>: sets A B RR
  start "$1" || return 1; A=$PID; local ag=$GRPC
  start "$2" || return 1; B=$PID
  start_rr "$1-rr" "$ag" "$GRPC"
}
streams() { # streams <name>: 4 gRPC streams through the front end until $work/<name>.stop
  "$root/e2e/loadgen/loadgen" streams --grpc-target "127.0.0.1:$RR" --grpc 4 --interval-ms 20 --host-header streams.local \
    --until-file "$work/$1.stop" --duration 60s --out "$work/$1.jsonl" --summary "$work/$1.json" 2>>"$work/loadgen.err"
}

pair a b || fail_all
streams drain & lg=$!
wait_line "$work/a.log" "event=stream-open pod=a kind=grpc" 2 && wait_line "$work/b.log" "event=stream-open pod=b kind=grpc" 2
sleep 0.5
t0=$(now_ms); kill -TERM "$A"; wait_exit "$A" 10; dt=$(($(now_ms) - t0))
sleep 1.5 # the streams run on b for a while
touch "$work/drain.stop"
wait "$lg"
check "client exit code 0" [ $? = 0 ]
check "app a exits 0 soon after SIGTERM (rc $RC, $dt ms)" [ "$RC" = 0 -a "$dt" -lt 3000 ]
s=$work/drain.json rec=$work/drain.jsonl
check "4 streams, first served by a and b ($(j "$s" 's["grpc"]["pods"]'))" \
  [ "$(r "$rec" 'sorted(set(x["pod"] for x in rs if x["conn"] == 1))')" = "['a', 'b']" ]
na=$(grep -c 'event=stream-open pod=a' "$work/a.log")
check "a's streams all ended by the drain ($na opened)" \
  [ "$na" -ge 2 -a "$(grep -c 'event=stream-close pod=a kind=grpc .*how=drain' "$work/a.log")" = "$na" ]
check "a's calls ended with UNAVAILABLE (14) and the goodbye trailer, counted clean" \
  [ "$(r "$rec" 'sorted(set((x["closeKind"], x["closeCode"], x["detail"].startswith("{\"end\":true,\"reason\":\"draining\"")) for x in rs if x["pod"] == "a"))')" = "[('clean', 14, True)]" ]
check "0 abnormal, 0 lost, 0 duplicated ($(j "$s" 's["totals"]'))" \
  [ "$(j "$s" '(s["totals"]["abnormal"], s["totals"]["lost"], s["totals"]["duplicated"])')" = "(0, 0, 0)" ]
check "every stream a served reconnected to b, resuming at the next seq" \
  [ "$(r "$rec" '[p["stream"] for p in rs if p["pod"] == "a" and not [n for n in rs if n["stream"] == p["stream"] and n["pod"] == "b" and n["firstSeq"] == p["lastSeq"] + 1]]')" = "[]" ]
check "reconnect times recorded for a's streams ($(j "$s" 's["grpc"]["reconnectMs"]'))" \
  [ "$(j "$s" 's["grpc"]["reconnectMs"]["count"]')" = "$na" ]
check "the run ends with client_stop on b for all 4 streams" \
  [ "$(r "$rec" 'sum(1 for x in rs if x["closeKind"] == "client_stop" and x["pod"] == "b")')" = 4 ]
sent_a=$(sed -n 's/.*event=stream-close pod=a .* sent=\([0-9]*\).*/\1/p' "$work/a.log" | awk '{ n += $1 } END { print n + 0 }')
check "what a sent is what the client got from a ($sent_a)" \
  [ "$(r "$rec" 'sum(x["messages"] for x in rs if x["pod"] == "a")')" = "$sent_a" ]
check "log: a drained its gRPC streams, nothing abandoned, exit 0" \
  bash -c "grep -q 'event=drain-streams pod=a trigger=sigterm open=2 ws=0 sse=0 grpc=2' '$work/a.log' &&
    grep -q 'event=streams-drained pod=a trigger=sigterm ended=2 abandoned=0' '$work/a.log' && grep -q 'event=exit pod=a code=0' '$work/a.log'"
kill -TERM "$B"; wait_exit "$B" 10

pair c d || fail_all
streams kill & lg=$!
wait_line "$work/c.log" "event=stream-open pod=c kind=grpc" 2 && wait_line "$work/d.log" "event=stream-open pod=d kind=grpc" 2
sleep 0.5
kill -9 "$B"; wait "$B" 2>/dev/null
sleep 1.5
touch "$work/kill.stop"
wait "$lg"
s=$work/kill.json rec=$work/kill.jsonl
nd=$(r "$rec" 'sum(1 for x in rs if x["pod"] == "d" and x["connectedEpochMs"])')
check "SIGKILL of d: each of its $nd calls is abnormal ($(j "$s" 's["grpc"]["closeKinds"]'))" \
  [ "$nd" -ge 2 -a "$(j "$s" 's["totals"]["abnormal"]')" = "$nd" ]
check "calls cut without a status are reset or eof, never clean" \
  [ "$(r "$rec" 'set(x["closeKind"] for x in rs if x["pod"] == "d") <= {"eof", "reset"}')" = True ]
check "the cut streams resumed on c without loss" \
  [ "$(j "$s" '(s["totals"]["lost"], s["totals"]["duplicated"])')" = "(0, 0)" -a \
    "$(r "$rec" 'sum(1 for x in rs if x["pod"] == "c" and x["conn"] > 1)')" -ge 2 ]
kill -TERM "$A"; wait_exit "$A" 10

# --- 5. bad flags -----------------------------------------------------------------------------------------
"$root/e2e/loadgen/loadgen" streams --grpc-target 127.0.0.1:0 2>"$work/bad.err"; rc=$?
check "--grpc-target with port 0: exit 2 with a message" [ "$rc" = 2 -a -n "$(grep 'must be host:port' "$work/bad.err")" ]
java -cp "$root/e2e/loadgen/target/loadgen.jar" dev.zdt.loadgen.LoadGen streams --grpc-target 127.0.0.1:1 2>"$work/bad.err"; rc=$?
check "--grpc-target without the gRPC module on the class path: exit 2 naming build.sh" \
  [ "$rc" = 2 -a -n "$(grep 'needs the gRPC module on the class path: build it with e2e/grpc-stream/build.sh' "$work/bad.err")" ]

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
