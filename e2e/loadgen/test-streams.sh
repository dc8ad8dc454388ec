#!/usr/bin/env bash
# Tests `loadgen streams` against two demo apps behind a round-robin front end (e2e.loadgen.tcp_rr), on
# loopback: a SIGTERM to one app ends its WebSockets with 1001 and its SSE streams with the end event,
# the client counts them clean and resumes on the other app without a lost or repeated message; a
# SIGKILL is counted abnormal; without resume the repeats are counted, and a gap is counted lost
# (e2e.loadgen.fake_server). About 30 s. Run by test.sh, or alone.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo=$here/../demo-app
"$here/build.sh" >/dev/null && "$demo/build.sh" >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
passed=0 failed=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT

source "$here/../lib/stream-tests.sh" # check, j, r, wait_exit, await_ready, start_rr

start_demo() { # start_demo <name>: sets PID, PORT, WSPORT
  local log=$work/$1.log
  env PORT=0 WS_PORT=0 BIND_ADDRESS=127.0.0.1 POD_NAME="$1" WARMUP_REQUESTS=50 SHUTDOWN_TIMEOUT_SECONDS=5 \
    java -XX:TieredStopAtLevel=1 -jar "$demo/target/demo-app.jar" >"$log" 2>&1 &
  PID=$!; pids+=("$PID")
  await_ready "$log"
}
# two apps a and b behind two front ends (HTTP for SSE, the WebSocket ports for WS): sets A B HTTP WS
pair() {
  start_demo "$1" || return 1; A=$PID; local ap=$PORT aw=$WSPORT
  start_demo "$2" || return 1; B=$PID
  start_rr "$1-http" "$ap" "$PORT" || return 1; HTTP=$RR
  start_rr "$1-ws" "$aw" "$WSPORT" || return 1; WS=$RR
}
streams() { # streams <name> [flags...]: runs the stream client through the pair's front ends until $work/<name>.stop
  local name=$1; shift
  "$here/loadgen" streams --ws-url "ws://127.0.0.1:$WS/ws" --ws 4 --sse-url "http://127.0.0.1:$HTTP/sse" --sse 4 \
    --interval-ms 20 --until-file "$work/$name.stop" --duration 60s --host-header streams.local \
    --out "$work/$name.jsonl" --summary "$work/$name.json" "$@" 2>>"$work/loadgen.err"
}
# wait_streams <app> <n>: until the app logged n WebSocket and n SSE streams open (round robin: half of
# each kind), so what follows hits streams that run, however slow the machine is today
wait_streams() {
  local i
  for ((i = 0; i < 300; i++)); do
    (($(grep -c "event=stream-open pod=$1 kind=ws" "$work/$1.log") >= $2 &&
      $(grep -c "event=stream-open pod=$1 kind=sse" "$work/$1.log") >= $2)) && { sleep 0.5; return 0; }
    sleep 0.05
  done
  echo "streams did not open on $1:"; tail -5 "$work/$1.log"; return 1
}

# --- 1. SIGTERM: clean goodbyes, reconnect to the other app, resume without loss ----------------------
pair a b || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
streams drain &
lg=$!
wait_streams a 2
t0=$(date +%s%3N)
kill -TERM "$A"
wait_exit "$A" 10; dt=$(($(date +%s%3N) - t0))
sleep 1.5 # the streams run on b for a while
touch "$work/drain.stop"
wait "$lg"
check "client exit code 0" [ $? = 0 ]
check "app a exits 0 soon after SIGTERM (rc $RC, $dt ms)" [ "$RC" = 0 -a "$dt" -lt 3000 ]
s=$work/drain.json rec=$work/drain.jsonl
check "8 streams, each first served by a or b ($(j "$s" 's["ws"]["pods"], s["sse"]["pods"]'))" \
  [ "$(r "$rec" 'sorted(set(x["pod"] for x in rs if x["conn"] == 1))')" = "['a', 'b']" ]
na=$(grep -c 'event=stream-open pod=a' "$work/a.log")
check "a's streams all ended by the drain ($na opened)" \
  [ "$na" -ge 2 -a "$(grep -c 'event=stream-close pod=a .*how=drain' "$work/a.log")" = "$na" ]
check "WebSocket closes on a were 1001 and counted clean" \
  [ "$(r "$rec" 'sorted(set((x["closeKind"], x["closeCode"]) for x in rs if x["pod"] == "a" and x["kind"] == "ws"))')" = "[('clean', 1001)]" ]
check "SSE closes on a were the end event, counted clean" \
  [ "$(r "$rec" 'sorted(set(x["closeKind"] for x in rs if x["pod"] == "a" and x["kind"] == "sse"))')" = "['clean']" \
    -a "$(r "$rec" 'all("\"reason\":\"draining\"" in x["detail"] for x in rs if x["pod"] == "a" and x["kind"] == "sse")')" = True ]
check "0 abnormal, 0 lost, 0 duplicated ($(j "$s" 's["totals"]'))" \
  [ "$(j "$s" '(s["totals"]["abnormal"], s["totals"]["lost"], s["totals"]["duplicated"])')" = "(0, 0, 0)" ]
check "every stream a served reconnected to b, resuming at the next seq" \
  [ "$(r "$rec" '[(p["stream"], p["kind"]) for p in rs if p["pod"] == "a" and not [n for n in rs if n["kind"] == p["kind"] and n["stream"] == p["stream"] and n["pod"] == "b" and n["firstSeq"] == p["lastSeq"] + 1]]')" = "[]" ]
check "reconnect times recorded for a's streams" \
  [ "$(j "$s" 's["ws"]["reconnectMs"]["count"] + s["sse"]["reconnectMs"]["count"]')" = "$na" ]
check "the run ends with client_stop on b for all 8 streams" \
  [ "$(r "$rec" 'sum(1 for x in rs if x["closeKind"] == "client_stop" and x["pod"] == "b")')" = 8 ]
check "messages counted = messages a logged as sent + b's received" \
  [ "$(j "$s" 's["totals"]["messages"]')" = "$(r "$rec" 'sum(x["messages"] for x in rs)')" ]
sent_a=$(sed -n 's/.*event=stream-close pod=a .* sent=\([0-9]*\).*/\1/p' "$work/a.log" | awk '{ n += $1 } END { print n + 0 }')
check "what a sent is what the client got from a ($sent_a)" \
  [ "$(r "$rec" 'sum(x["messages"] for x in rs if x["pod"] == "a")')" = "$sent_a" ]
kill -TERM "$B"; wait_exit "$B" 10

# --- 2. SIGKILL: abnormal closures, counted; the streams resume on the other app ------------------------
pair c d || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
streams kill &
lg=$!
wait_streams d 2
kill -9 "$B"; wait "$B" 2>/dev/null
sleep 1.5
touch "$work/kill.stop"
wait "$lg"
s=$work/kill.json rec=$work/kill.jsonl
nd=$(r "$rec" 'sum(1 for x in rs if x["pod"] == "d" and x["connectedEpochMs"])')
check "SIGKILL of d: each of its $nd connections is abnormal ($(j "$s" 's["ws"]["closeKinds"], s["sse"]["closeKinds"]'))" \
  [ "$nd" -ge 2 -a "$(j "$s" 's["totals"]["abnormal"]')" = "$nd" ]
check "WebSockets cut without a close frame are ws_1006" \
  [ "$(r "$rec" 'sorted(set(x["closeKind"] for x in rs if x["pod"] == "d" and x["kind"] == "ws"))')" = "['ws_1006']" ]
check "SSE cut without the end event is eof or reset" \
  [ "$(r "$rec" 'set(x["closeKind"] for x in rs if x["pod"] == "d" and x["kind"] == "sse") <= {"eof", "reset"}')" = True ]
check "the cut streams resumed on c without loss" [ "$(j "$s" 's["totals"]["lost"]')" = 0 ]
kill -TERM "$A"; wait_exit "$A" 10

# --- 3. without resume, the repeats are counted ------------------------------------------------------
pair e f || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
streams noresume --resume false &
lg=$!
wait_streams e 2
kill -TERM "$A"
sleep 1
touch "$work/noresume.stop"
wait "$lg"
check "--resume false: streams restart at 1 and the repeats are duplicated ($(j "$work/noresume.json" 's["totals"]'))" \
  [ "$(j "$work/noresume.json" 's["totals"]["duplicated"] > 0 and s["totals"]["abnormal"] == 0')" = True ]
kill -TERM "$B"; wait_exit "$B" 10

# --- 4. a gap is lost, a response without the end event is eof (fake_server) ---------------------------------
PYTHONPATH="$here/../.." python3 -m e2e.loadgen.fake_server 0 >"$work/fake.port" 2>/dev/null &
pids+=("$!")
for _ in $(seq 1 100); do fp=$(sed -n 's/^port=//p' "$work/fake.port"); [[ -n $fp ]] && break; sleep 0.05; done
"$here/loadgen" streams --sse-url "http://127.0.0.1:$fp/sse-gap" --duration 1s --out "$work/gap.jsonl" \
  --summary "$work/gap.json" 2>>"$work/loadgen.err"
check "a skipped seq is 1 lost, the bare end of the response is eof" \
  [ "$(r "$work/gap.jsonl" '(rs[0]["lost"], rs[0]["closeKind"], rs[0]["messages"], rs[0]["pod"])')" = "(1, 'eof', 4, 'fake-s')" ]
check "the summary counts the eof as abnormal" [ "$(j "$work/gap.json" 's["sse"]["abnormal"] >= 1')" = True ]

# --- 5. bad flags -------------------------------------------------------------------------------------
"$here/loadgen" streams --ws 3 2>"$work/bad.err"; rc=$?
check "--ws without --ws-url: exit 2 with a message" [ "$rc" = 2 -a -n "$(grep 'needs --ws-url' "$work/bad.err")" ]
"$here/loadgen" streams --ws-url http://x/ws 2>"$work/bad.err"; rc=$?
check "--ws-url must be ws://: exit 2 with a message" [ "$rc" = 2 -a -n "$(grep 'must be ws://' "$work/bad.err")" ]

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
