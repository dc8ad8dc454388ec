#!/usr/bin/env bash
# Tests the load generator against the demo app on loopback: exact counts, no failures when all is
# well, failures classified as refused/reset when the server dies under load, 2xx answers with the
# wrong body counted as bad_body (against fake_server.py), and the two latencies telling a stall of
# the load generator (latency from the schedule) from a stall of the server (both latencies); then
# test-streams.sh (the streams mode).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo=$here/../demo-app
"$here/build.sh" >/dev/null && "$demo/build.sh" >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
lg=$here/target/loadgen.jar
work=$(mktemp -d)
passed=0 failed=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

check() { # check <name> <command...>
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
json_num() { sed -n "s/^  \"$2\": \([0-9.]*\),*$/\1/p" "$1"; } # top-level number of a summary file
json_pct() { sed -n "s/^  \"$2\": {.*\"$3\": \([0-9.]*\).*/\1/p" "$1"; } # json_pct <file> latencyMs p90
json_kind() { sed -n "s/^  \"failedByKind\": {.*\"$2\": \([0-9]*\).*/\1/p" "$1"; } # failedByKind.<kind>, empty if 0
kinds_of_failures() { tail -n +2 "$1" | cut -d, -f5 | grep -v '^none$' | sort -u | tr '\n' ' '; }

start_demo() { # sets PID and PORT; PORT=0 lets the kernel choose, the app logs it
  local log=$1; shift
  env PORT=0 WS_PORT=0 BIND_ADDRESS=127.0.0.1 POD_NAME=test-pod "$@" java -jar "$demo/target/demo-app.jar" >"$log" 2>&1 &
  PID=$!; pids+=("$PID"); PORT=
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*event=ready.* port=\([0-9]*\).*/\1/p' "$log" 2>/dev/null)
    [[ -n $PORT ]] && return 0
    sleep 0.05
  done
  echo "demo app did not start:"; cat "$log"; return 1
}
loadgen() { "$here/loadgen" "$@" 2>>"$work/loadgen.err"; } # the wrapper the benchmark uses

start_demo "$work/demo.log" || { echo "0 passed, 1 failed"; exit 1; }
url=http://127.0.0.1:$PORT/

# --- 1. steady run: every request recorded, none failed ------------------------------------------
loadgen --url "$url" --host-header demo.local --rate 100 --duration 3s --out "$work/a.csv" --summary "$work/a.json"
check "exit code 0" [ $? = 0 ]
req=$(json_num "$work/a.json" requests)
check "3 s at 100/s records ~300 requests (got $req)" [ "${req:-0}" -ge 295 -a "${req:-0}" -le 305 ]
check "CSV has one row per request" [ "$(($(wc -l <"$work/a.csv") - 1))" = "$req" ]
check "CSV header" [ "$(head -1 "$work/a.csv")" = "seq,sendEpochMs,latencyMs,status,errorKind,pod,version,scheduledEpochMs,latencyFromScheduleMs" ]
check "0 failed" [ "$(json_num "$work/a.json" failed)" = 0 ]
check "every row is 200/none from test-pod" [ "$(tail -n +2 "$work/a.csv" | cut -d, -f4,5,6 | sort -u)" = "200,none,test-pod" ]
check "every row names version v1" [ "$(tail -n +2 "$work/a.csv" | cut -d, -f7 | sort -u)" = "v1" ]
check "summary records the body check" grep -qF '"expectBodyRegex": "pod=(?<pod>\\S+) version=(?<version>\\S+)\\n",' "$work/a.json"
# row i is due at startEpochMs + i * 10 ms and never sent before (1 ms: two wall-clock truncations)
check "scheduledEpochMs is start + seq/rate, no row sent before it" awk -F, -v s="$(json_num "$work/a.json" startEpochMs)" \
  'NR > 1 && ($8 != s + $1 * 10 || $2 < $8 - 1) { bad++ } END { exit bad > 0 }' "$work/a.csv"
check "latencyFromScheduleMs >= latencyMs on every row" awk -F, 'NR > 1 && $9 < $3 { bad++ } END { exit bad > 0 }' "$work/a.csv"
check "achieved rate ~100/s" awk -v r="$(json_num "$work/a.json" achievedRate)" 'BEGIN { exit !(r >= 97 && r <= 103) }'
# buckets go by actual send time, so a stall on a busy machine can shift a few requests across a boundary
check "summary has 3 per-second buckets of ~100 ($(grep -o '"ok": [0-9]*, "failed"' "$work/a.json" | tr -dc '0-9 \n' | tr '\n' ' '))" \
  [ "$(grep -cE '"second": [0-9]+, "ok": ([89][0-9]|1[01][0-9]), "failed": 0' "$work/a.json")" = 3 ]
span=$(awk -F, 'NR == 2 { first = $2 } END { print $2 - first }' "$work/a.csv")
lag=$(sed -n 's/.*"scheduleLagMs": {"max": \([0-9]*\).*/\1/p' "$work/a.json")
# first to last send is 2990 ms by schedule; a stalled loop (busy machine) shows up in scheduleLagMs
check "send times follow the schedule (span $span ms, max lag $lag ms)" \
  awk -v s="$span" -v l="$lag" 'BEGIN { exit !(s >= 2990 - l - 20 && s <= 2990 + l + 20 && l < 1000) }'

# --- 2. keep-alive --------------------------------------------------------------------------------
loadgen --url "$url" --rate 100 --duration 2s --keepalive true --summary "$work/b.json"
check "keep-alive: 200 requests, 0 failed" [ "$(json_num "$work/b.json" ok)" = 200 -a "$(json_num "$work/b.json" failed)" = 0 ]
p50=$(sed -n 's/.*"latencyMs": {"p50": \([0-9.]*\),.*/\1/p' "$work/b.json")
# ~40 ms here would be Nagle's algorithm waiting for a delayed ACK on a reused connection
check "keep-alive: median latency < 20 ms (got $p50)" awk -v v="$p50" 'BEGIN { exit !(v < 20) }'


# --- 3. --until-file stops the run ---------------------------------------------------------------
(sleep 1.5; touch "$work/stop") &
loadgen --url "$url" --rate 100 --until-file "$work/stop" --duration 20s --summary "$work/c.json"
req=$(json_num "$work/c.json" requests)
check "--until-file stops after ~1.5 s (requests $req)" [ "${req:-0}" -ge 120 -a "${req:-0}" -le 220 ]
check "stopReason is until-file" grep -q '"stopReason": "until-file"' "$work/c.json"

# --- 4. timeouts and overload are recorded, not dropped ---------------------------------------------
loadgen --url "${url}?delayMs=3000" --rate 20 --duration 1s --timeout 500ms --out "$work/d.csv" --summary "$work/d.json"
check "slow answers past --timeout are 'timeout' ($(kinds_of_failures "$work/d.csv"))" \
  [ "$(kinds_of_failures "$work/d.csv")" = "timeout " -a "$(json_num "$work/d.json" failed)" = 20 ]
loadgen --url "${url}?delayMs=1500" --rate 50 --duration 1s --max-in-flight 10 --out "$work/e.csv" --summary "$work/e.json"
check "--max-in-flight 10: 50 recorded, 10 ok, 40 'overload'" \
  [ "$(json_num "$work/e.json" requests)" = 50 -a "$(json_num "$work/e.json" ok)" = 10 \
    -a "$(grep -c ',overload,' "$work/e.csv")" = 40 ]

# --- 5. the body check: a 2xx that is not the demo app's answer is a failure, bad_body -------------
PYTHONPATH="$here/../.." python3 -m e2e.loadgen.fake_server >"$work/fake.log" 2>&1 &
pids+=("$!"); fake=
for _ in $(seq 1 100); do
  fake=$(sed -n 's/^port=//p' "$work/fake.log"); [[ -n $fake ]] && break; sleep 0.05
done
fake=http://127.0.0.1:$fake
loadgen --url "$fake/wrong" --rate 50 --duration 400ms --out "$work/w.csv" --summary "$work/w.json"
check "200 'hello': all 20 are bad_body, none ok" \
  [ "$(json_kind "$work/w.json" bad_body)" = 20 -a "$(json_num "$work/w.json" ok)" = 0 -a "$(json_num "$work/w.json" failed)" = 20 ]
check "bad_body rows keep status 200" [ "$(tail -n +2 "$work/w.csv" | cut -d, -f4,5 | sort -u)" = "200,bad_body" ]
check "bad_body counts in perSecond" grep -q '"failedByKind": {"bad_body": 20}}' "$work/w.json"
loadgen --url "$fake/wrong" --rate 50 --duration 400ms --expect-body-regex none --summary "$work/w2.json"
check "--expect-body-regex none: the same answers are ok" [ "$(json_num "$work/w2.json" ok)" = 20 ]
check "--expect-body-regex none: recorded as null" grep -q '"expectBodyRegex": null,' "$work/w2.json"
loadgen --url "$fake/wrong" --rate 50 --duration 400ms --expect-body-regex 'hel+o\n' --summary "$work/w3.json"
check "--expect-body-regex 'hel+o\n': the same answers are ok" [ "$(json_num "$work/w3.json" ok)" = 20 ]
loadgen --url "$fake/wrong" --rate 50 --duration 400ms --expect-body-regex 'hel+o' --summary "$work/w4.json"
check "--expect-body-regex 'hel+o': must match the whole body (newline missing: bad_body)" \
  [ "$(json_kind "$work/w4.json" bad_body)" = 20 ]
loadgen --url "$fake/mismatch" --rate 50 --duration 400ms --summary "$work/m.json"
check "body names another pod than X-Pod: bad_body" [ "$(json_kind "$work/m.json" bad_body)" = 20 ]
loadgen --url "$fake/chunked" --rate 50 --duration 400ms --out "$work/ch.csv" --summary "$work/ch.json"
check "chunked demo body: ok, pod and version from the body" \
  [ "$(json_num "$work/ch.json" ok)" = 20 -a "$(tail -n +2 "$work/ch.csv" | cut -d, -f5,6,7 | sort -u)" = "none,fake-c,v3" ]
loadgen --url "$fake/missing" --rate 50 --duration 400ms --summary "$work/nf.json"
check "a 404 stays http_other, not bad_body" [ "$(json_kind "$work/nf.json" http_other)" = 20 -a -z "$(json_kind "$work/nf.json" bad_body)" ]

# --- 6. coordinated omission: a stalled load generator vs a stalled server --------------------------
# stall <pid to stop, or loadgen> <csv> <json> [duration] [delay]: <duration> (2s) at 100/s;
# <delay> (0.4) s after the schedule started, SIGSTOP <pid> for 1 s.
stall() {
  local target=$1 out=$2 sum=$3 duration=${4:-2s} delay=${5:-0.4} lg
  : >"$work/stall.err"
  "$here/loadgen" --url "$url" --rate 100 --duration "$duration" --out "$out" --summary "$sum" 2>"$work/stall.err" &
  lg=$!
  for _ in $(seq 1 200); do grep -q 'Host=' "$work/stall.err" && break; sleep 0.05; done
  [[ $target == loadgen ]] && target=$lg
  sleep "$delay"
  kill -STOP "$target"; sleep 1; kill -CONT "$target"
  wait "$lg"
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; } # gt <a> <b>: a > b
# (a) the load generator itself stops (a GC pause, a starved CPU): ~100 requests leave up to 1 s
# late, then answer fast. From the actual send they look fast; from the schedule they do not.
stall loadgen "$work/s1.csv" "$work/s1.json"
f90=$(json_pct "$work/s1.json" latencyMs p90); s90=$(json_pct "$work/s1.json" latencyFromScheduleMs p90)
smax=$(json_pct "$work/s1.json" latencyFromScheduleMs max); lagmax=$(json_pct "$work/s1.json" scheduleLagMs max)
check "loadgen stalled 1 s: 200 requests, 0 failed" [ "$(json_num "$work/s1.json" requests)" = 200 -a "$(json_num "$work/s1.json" failed)" = 0 ]
check "loadgen stalled 1 s: schedule lag shows it (max $lagmax ms)" gt "$lagmax" 700
check "loadgen stalled 1 s: p90 from schedule ($s90 ms) exceeds p90 from send ($f90 ms) by > 300 ms" gt "$s90" "$(awk -v f="$f90" 'BEGIN { print f + 300 }')"
check "loadgen stalled 1 s: max from schedule ($smax ms) > 700 ms" gt "$smax" 700
check "loadgen stalled 1 s: the CSV shows rows sent > 700 ms after their scheduledEpochMs" \
  awk -F, 'NR > 1 && $2 - $8 > 700 { n++ } END { exit !(n > 0) }' "$work/s1.csv"
# (b) it stops across the end of --duration: the requests due before the end are sent late, not lost.
stall loadgen "$work/s3.csv" "$work/s3.json" 1s 0.6
check "loadgen stalled over the end of a 1 s run: all 100 requests recorded (got $(json_num "$work/s3.json" requests))" \
  [ "$(json_num "$work/s3.json" requests)" = 100 -a "$(json_num "$work/s3.json" failed)" = 0 ]
# (c) the server stops: the open model keeps sending on schedule, so the latency from the actual
# send already holds the stall, and the schedule adds only the load generator's own small lateness.
stall "$PID" "$work/s2.csv" "$work/s2.json"
f99=$(json_pct "$work/s2.json" latencyMs p99); s99=$(json_pct "$work/s2.json" latencyFromScheduleMs p99)
fmax=$(json_pct "$work/s2.json" latencyMs max); lagmax=$(json_pct "$work/s2.json" scheduleLagMs max)
check "server stalled 1 s: 200 requests, 0 failed (the stall is shorter than --timeout)" \
  [ "$(json_num "$work/s2.json" requests)" = 200 -a "$(json_num "$work/s2.json" failed)" = 0 ]
check "server stalled 1 s: max latency from send ($fmax ms) > 700 ms" gt "$fmax" 700
# (fails also when this machine is so busy that the load generator itself lags 300 ms: see max lag)
check "server stalled 1 s: p99 from schedule ($s99 ms) within 300 ms of p99 from send ($f99 ms; max lag $lagmax ms)" \
  gt "$(awk -v f="$f99" 'BEGIN { print f + 300 }')" "$s99"

# --- 7. the server dies hard mid-run: failures appear, classified as refused/reset ----------------
loadgen --url "$url" --rate 100 --duration 4s --out "$work/f.csv" --summary "$work/f.json" &
lgpid=$!
sleep 1.5
kill -9 "$PID"; wait "$PID" 2>/dev/null # reaps it quietly (no "Killed" job notice)
wait "$lgpid"
check "loadgen survives the server's death (exit 0)" [ $? = 0 ]
ok=$(json_num "$work/f.json" ok); bad=$(json_num "$work/f.json" failed); req=$(json_num "$work/f.json" requests)
check "kill -9: ~400 recorded (got $req)" [ "${req:-0}" -ge 395 -a "${req:-0}" -le 405 ]
check "kill -9: ok before the kill ($ok) and failures after ($bad)" [ "${ok:-0}" -ge 100 -a "${bad:-0}" -ge 150 ]
check "kill -9: failures are only refused/reset ($(kinds_of_failures "$work/f.csv"))" \
  bash -c '[[ -n "$1" && -z $(tr " " "\n" <<<"$1" | grep -vE "^(refused|reset|)$") ]]' _ "$(kinds_of_failures "$work/f.csv")"
check "kill -9: the summary agrees with the CSV" \
  [ "$(grep -cvE ',none,|^seq' "$work/f.csv")" = "$bad" ]

# --- 8. nothing listening at all ---------------------------------------------------------------------
loadgen --url "$url" --rate 50 --duration 1s --out "$work/g.csv" --summary "$work/g.json"
check "closed port: every request 'refused'" \
  [ "$(kinds_of_failures "$work/g.csv")" = "refused " -a "$(json_num "$work/g.json" failed)" = 50 ]

# --- 9. long-lived streams (loadgen streams, test-streams.sh) -----------------------------------------
out=$("$here/test-streams.sh" 2>&1)
grep -v '^[0-9]* passed, [0-9]* failed$' <<<"$out"
read -r sp sf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
passed=$((passed + ${sp:-0})) failed=$((failed + ${sf:-1}))

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
