#!/usr/bin/env bash
# The proof: rolling updates under steady load through a real Traefik, one scenario after another,
# every request recorded. Writes e2e/results/rollout.json, rollout.md and rollout.png, and exits
# non-zero when a pass criterion fails (see analyze.py).
#
#   e2e/rollout/bench.sh                 # every scenario
#   e2e/rollout/bench.sh --ci            # reduced: plain Deployment vs zdt gate (one Traefik and two), shorter load;
#                                        # plain and gate also keep WebSocket and SSE streams and kept-alive clients
#   e2e/rollout/bench.sh --scenarios plain,gate
#   --out DIR writes the results elsewhere; --keep leaves the last scenario's namespace running
#   and writes its name to DIR/kept-namespace
#
# plain-envoy and gate-envoy run through Envoy driven by Contour instead (e2e/cluster/lib/envoy.sh).
# plain-haproxy and gate-haproxy send the load through HAProxy probing the pods (haproxy.sh): a
# plain Deployment, and the gate verified by HAProxy's runtime API (provider health-probe).
#
# gate-siege is gate-hostile with five more tenants at once, each flooding the gate with its own
# pods' valid tokens behind a front end of its own that answers badly (huge, endless, slow,
# malformed, redirecting), a replayed token of a deleted pod, and the webhook attacked directly
# (a stolen review, four endless bodies); the operator's heap and threads sampled at their peak.
# Not in the default list.
#
# gate-2traefik runs the gate through two Traefik replicas with the load split across both, the
# second lagging (its throttle BENCH_LAG_THROTTLE, default 20 s); the others run through one.
#
# plain-httproute and gate-httproute route through Traefik's Gateway API provider (TRAEFIK_GATEWAY=1,
# Gateway zdt-ingress/traefik): a plain Deployment with its own HTTPRoute, and a ZeroDowntimeApp
# whose spec.route the operator renders; rows say frontEnd traefik-gateway. Not in the default list.
#
# slow-frontend and gate-calibrated are the two halves of one proof (issue 27), run together and in
# that order (--scenarios slow-frontend,gate-calibrated): the app declares Traefik's 8 s throttle
# behind two replicas, the second lagging at BENCH_LAG_THROTTLE (20 s). slow-frontend rolls without
# calibration: holds end at their bound while the lagging replica still routes, requests through it
# fail, and the app says Degraded=True FrontEndSlowerThanBudget with the measured figures; its
# namespace is kept. gate-calibrated, in the same namespace, turns drain.calibration on, waits for
# the rollout that budget change makes (its old pods still have the short grace period: not
# recorded), then rolls again under load: 0 failed, every hold Verified. Not in the default list.
#
# plain-streams and gate-streams (and -envoy, through Envoy) keep BENCH_STREAMS (20) WebSocket, 20 SSE
# and 20 gRPC server streams open through the front end, each reconnected and resumed after its last message on
# every close, and kept-alive clients at BENCH_KEEPALIVE_RATE (50/s) each over HTTP/1.1 and HTTP/2
# (h2c, two connections), beside the usual load:
# the plain Deployment shows what streams meet in a rollout, the gate that they move to pods not
# being drained with no abnormal close and no message lost. Not in the default list.
#
# policy-deployment and policy-statefulset protect a plain workload (no zdt word in it) with a
# DrainPolicy: namespace opted in, workload applied and ready, policy applied, `kubectl rollout
# restart` so the webhook protects the pods, then the rollout under load. policy-deployment then
# deletes the policy and restarts once more: the new pods must be plain (plain-after.json).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" # the workloads, load, recording and completion check shared with the drills
source "$HERE/haproxy.sh" # plain-haproxy, gate-haproxy: HAProxy as a probing balancer, a host process
# A scenario that stops half-way must not leave its load generator, sampler or watchers running
# into the next run.
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT

MODE=full
KEEP=""
OUT=""
SCENARIOS="plain,sleep30,gate,gate-restricted,zdt-sleep,sleep5,gate-scale-down,gate-delete-pod,gate-long-requests,gate-hostile,gate-2traefik,policy-deployment,policy-statefulset"
while (($#)); do
  case $1 in
    --ci) MODE=ci; SCENARIOS="plain,gate,gate-restricted,gate-2traefik"; shift ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
THROTTLE=${BENCH_THROTTLE:-8}          # Traefik's providers throttle, seconds: a busy ingress
LAG_THROTTLE=${BENCH_LAG_THROTTLE:-20} # gate-2traefik: the second replica's throttle, seconds
RATE=${BENCH_RATE:-250}                # requests per second through the ingress
REPLICAS=${BENCH_REPLICAS:-3}
# Every scenario's namespace enforces this Pod Security level, as hardened clusters label them;
# gate-restricted's enforces restricted.
POD_SECURITY=${BENCH_POD_SECURITY:-baseline}
WARMUP=${BENCH_WARMUP:-5}              # load before the change, seconds
COOLDOWN=${BENCH_COOLDOWN:-5}          # load after the last old pod exited, seconds
MIN_REQUESTS=${BENCH_MIN_REQUESTS:-10500} # the load runs at least this long, at RATE (JVM start eats ~1 s)
# CI: 25 s of load at 200 req/s, the warm-up, a gate rollout of 3 pods (about 15 s) and the
# cool-down. analyze.py fails a scenario that got under 90% of MIN_REQUESTS, or under 90% of RATE
# over the load's window, or whose load did not span the change (meta.json records the ask).
[[ $MODE == ci ]] && RATE=${BENCH_RATE:-200} MIN_REQUESTS=${BENCH_MIN_REQUESTS:-5000}
OUT=${OUT:-$ROOT/e2e/results}
RUNS=$OUT/rollout-runs
[[ $MODE == ci ]] && RUNS=$OUT/rollout-ci-runs
mkdir -p "$RUNS"
rm -f "$OUT/kept-namespace"

bench_prepare
record_code "$RUNS/code.json"

# --- one scenario ----------------------------------------------------------------------------
run_scenario() { # run_scenario <name>
  local name=$1 ns="bench-$1" dir="$RUNS/$1" kind mode="" grace=30 sleep=0 replicas=$REPLICAS
  local level=$POD_SECURITY APP_IMAGE=localhost/demo-app:dev APP_RESTRICTED="" APP_OWN_PRESTOP=""
  local traefiks=1 THROTTLE=$THROTTLE LOAD_SPLIT_URL="" TRAEFIK_API_URLS=$ZDT_TRAEFIK_API_URL WORKLOAD=deploy
  local ROUTE="" gateway=0 FRONT_END=traefik fe_replicas="" INGRESS_CLASS=traefik LOAD_URL="" APP_TRAFFIC=""
  local calibration="" version=v2 STREAMS=""
  case $name in
    # Long-lived connections: WebSocket and SSE streams and kept-alive clients through the rollout,
    # beside the load (lib.sh streams_start).
    plain-streams) kind=deploy STREAMS=1 ;;
    gate-streams) kind=zdt mode=gate STREAMS=1 ;;
    plain-streams-envoy) kind=deploy STREAMS=1 FRONT_END=envoy INGRESS_CLASS=contour LOAD_URL=$ZDT_ENVOY_WEB_URL ;;
    gate-streams-envoy) kind=zdt mode=gate STREAMS=1 FRONT_END=envoy INGRESS_CLASS=contour LOAD_URL=$ZDT_ENVOY_WEB_URL ;;
    plain) kind=deploy ;;
    sleep30) kind=deploy sleep=30 grace=60 ;;
    sleep5) kind=deploy sleep=5 grace=35 ;;
    gate | gate-delete-pod | gate-long-requests | gate-hostile | gate-siege) kind=zdt mode=gate ;;
    # The default mode where it is hardest: restricted, no shell in the image, a preStop of its own.
    gate-restricted)
      kind=zdt mode=gate level=restricted APP_IMAGE=localhost/demo-app-noshell:dev APP_RESTRICTED=1 APP_OWN_PRESTOP=1
      "$CLUSTER" image demo-app-noshell >/dev/null ;;
    gate-scale-down) kind=zdt mode=gate replicas=4 ;;
    zdt-sleep) kind=zdt mode=sleep ;;
    # Two replicas, the second lagging: the app declares the slower one's throttle (its hold covers
    # it), the gate must wait for both, and half the load goes through each.
    gate-2traefik)
      kind=zdt mode=gate traefiks=2 THROTTLE=$LAG_THROTTLE LOAD_SPLIT_URL=$ZDT_TRAEFIK_WEB_URL_2
      TRAEFIK_API_URLS="$ZDT_TRAEFIK_API_URL $ZDT_TRAEFIK_API_URL_2" ;;
    # A front end slower than the app declares (Traefik's 8 s, the second replica lags at
    # LAG_THROTTLE): without calibration, then with it, in one namespace (see the top of this file).
    slow-frontend | gate-calibrated)
      kind=zdt mode=gate traefiks=2 LOAD_SPLIT_URL=$ZDT_TRAEFIK_WEB_URL_2 ns=bench-slow-frontend
      TRAEFIK_API_URLS="$ZDT_TRAEFIK_API_URL $ZDT_TRAEFIK_API_URL_2"
      calibration=off
      [[ $name == gate-calibrated ]] && calibration=on version=v3 ;;
    # The plain Deployment and the hand-tuned sleep through the same two replicas.
    plain-2traefik | sleep30-2traefik)
      kind=deploy traefiks=2 THROTTLE=$LAG_THROTTLE LOAD_SPLIT_URL=$ZDT_TRAEFIK_WEB_URL_2
      TRAEFIK_API_URLS="$ZDT_TRAEFIK_API_URL $ZDT_TRAEFIK_API_URL_2"
      [[ $name == sleep30-* ]] && sleep=30 grace=60 ;;
    # Through Traefik's Gateway API provider: an HTTPRoute instead of an Ingress.
    sleep30-httproute) kind=deploy sleep=30 grace=60 ROUTE=1 gateway=1 FRONT_END=traefik-gateway ;;
    plain-httproute) kind=deploy ROUTE=1 gateway=1 FRONT_END=traefik-gateway ;;
    gate-httproute) kind=zdt mode=gate ROUTE=1 gateway=1 FRONT_END=traefik-gateway ;;
    # Through Envoy driven by Contour (host processes, `zdt-cluster envoy up`): the load goes to
    # Envoy's listener, the app is verified against Envoy's admin /clusters.
    plain-envoy) kind=deploy FRONT_END=envoy INGRESS_CLASS=contour LOAD_URL=$ZDT_ENVOY_WEB_URL ;;
    gate-envoy) kind=zdt mode=gate FRONT_END=envoy INGRESS_CLASS=contour LOAD_URL=$ZDT_ENVOY_WEB_URL ;;
    sleep30-envoy) kind=deploy sleep=30 grace=60 FRONT_END=envoy INGRESS_CLASS=contour LOAD_URL=$ZDT_ENVOY_WEB_URL ;;
    # HAProxy probing the pods, servers from DNS. The gate's bound covers the DNS path (CoreDNS
    # caches 5 s, HAProxy resolves every second) on top of the probe: propagationSeconds 10.
    plain-haproxy) kind=deploy FRONT_END=haproxy LOAD_URL=http://127.0.0.1:$HAPROXY_WEB_PORT ;;
    sleep30-haproxy) kind=deploy sleep=30 grace=60 FRONT_END=haproxy LOAD_URL=http://127.0.0.1:$HAPROXY_WEB_PORT ;;
    gate-haproxy)
      kind=zdt mode=gate FRONT_END=haproxy LOAD_URL=http://127.0.0.1:$HAPROXY_WEB_PORT
      APP_TRAFFIC="    provider: health-probe
    probe: {intervalSeconds: $HAPROXY_INTER_S, timeoutSeconds: $HAPROXY_CHECK_TIMEOUT_S, unhealthyThreshold: $HAPROXY_FALL, healthyThreshold: 1}
    propagationSeconds: 10
    verify: ingress
    controller: {namespace: zdt-ingress, service: haproxy, port: runtime}" ;;
    # A plain workload, protected by a DrainPolicy (the webhook gives its pods gate mode's drain).
    policy-deployment) kind=policy mode=gate ;;
    policy-statefulset) kind=policy mode=gate WORKLOAD=statefulset ;;
    *) die "unknown scenario $name" ;;
  esac
  # make test and make demo (--ci) carry the streams in plain and gate: the WebSocket and SSE case
  # on every run, at no extra scenario's cost.
  [[ $MODE == ci && ($name == plain || $name == gate) ]] && STREAMS=1
  say "scenario $name"
  traefik_replicas "$traefiks" "$gateway"
  [[ $FRONT_END == envoy ]] && { "$CLUSTER" envoy up >/dev/null || die "$name: Contour and Envoy did not start"; ENVOY_STARTED=1; }
  rm -rf "$dir" && mkdir -p "$dir/logs"
  if [[ $calibration == on ]]; then
    # The second half: slow-frontend's app, as that half left it, with calibration turned on.
    kubectl -n "$ns" get zdt app >/dev/null 2>&1 ||
      die "$name: runs right after slow-frontend in the same bench.sh run (--scenarios slow-frontend,gate-calibrated)"
    calibrate "$name" "$ns" "$dir"
  else
    kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
    kubectl create namespace "$ns" >/dev/null
    kubectl label namespace "$ns" "pod-security.kubernetes.io/enforce=$level" \
      pod-security.kubernetes.io/enforce-version=latest >/dev/null
  fi
  if [[ $calibration == on ]]; then
    : # applied by slow-frontend
  elif [[ $kind == policy ]]; then
    kubectl label namespace "$ns" zdt.dev/drain-policy=enabled >/dev/null # the webhook's opt-in
    if [[ $WORKLOAD == statefulset ]]; then
      plain_statefulset "$ns" v1 "$grace" | kubectl apply -f - >/dev/null
    else
      plain_deployment "$ns" v1 0 "$grace" | kubectl apply -f - >/dev/null
    fi
  elif [[ $kind == deploy ]]; then
    plain_deployment "$ns" v1 "$sleep" "$grace" | kubectl apply -f - >/dev/null
  else
    zdt_app "$ns" v1 "$mode" "$replicas" | kubectl apply -f - >/dev/null
  fi
  app_wait_ready "$name" "$ns" "$replicas"
  if [[ -n $STREAMS ]]; then
    streams_expose "$ns" "$([[ $kind == zdt ]] && echo "zdt.dev/app: app" || echo "app: app")" | kubectl apply -f - >/dev/null
    streams_wait "$ns" || die "$name: no WebSocket, SSE and gRPC stream opened through $FRONT_END within 60 s"
  fi
  if [[ $FRONT_END == haproxy ]]; then
    haproxy_start "$ns" "$dir" "$([[ $kind == zdt ]] && echo "zdt.dev/app: app" || echo "app: app")"
    haproxy_wait_routes "$replicas"
    fe_replicas=1
  fi
  if [[ $kind == policy ]]; then
    # The pods predate the policy: it reports them unprotected until a restart replaces them.
    drain_policy "$ns" | kubectl apply -f - >/dev/null
    local i
    for i in $(seq 1 60); do
      kubectl -n "$ns" get drainpolicy app -o json >"$dir/policy-before-restart.json"
      python3 -c 'import json,sys; sys.exit(0 if (json.load(open(sys.argv[1])).get("status") or {}).get("coveredPods") else 1)' \
        "$dir/policy-before-restart.json" && break
      sleep 1
    done
    kubectl -n "$ns" rollout restart "$WORKLOAD/app" >/dev/null
    kubectl -n "$ns" rollout status "$WORKLOAD/app" --timeout=300s >/dev/null || die "$name: the restart did not finish"
    no_terminating "$ns" 120 || die "$name: pods still terminating 120 s after the restart"
    app_wait_ready "$name" "$ns" "$replicas"
    policy_wait_protected "$ns" "$replicas" "$dir/policy-protected.json"
  fi
  # Evidence that the image has no shell: the same exec a shell-based hook would need.
  local shell_absent=false
  if [[ $APP_IMAGE == *noshell* ]]; then
    kubectl -n "$ns" exec "$(kubectl -n "$ns" get pods -o jsonpath='{.items[0].metadata.name}')" -c app -- \
      /bin/sh -c true >"$dir/shell-check.txt" 2>&1 || shell_absent=true
  fi

  # Record: every pod change, the old pods' own log lines, Traefik's server list every 200 ms.
  record_start "$ns" "$dir"
  local old_pods=$OLD_PODS hap_sampler=""
  if [[ $FRONT_END == haproxy ]]; then # HAProxy's routing too, in traefik.txt's format (analyze.py prefers it)
    PYTHONPATH="$ROOT" nice -n -10 python3 -m e2e.rollout.haproxy_sampler --api "$ZDT_NODE_IP:$HAPROXY_API_PORT" --backend app \
      --interval-ms "${TRAEFIK_SAMPLE_MS:-50}" >>"$dir/haproxy.txt" 2>>"$dir/haproxy-sampler.log" &
    hap_sampler=$!
  fi
  load_start "$ns" "$dir"
  local loadgen=$LOADGEN slow="" p
  [[ -n $STREAMS ]] && { streams_start "$ns" "$dir"; loadgen="$loadgen $STREAMERS"; }
  if [[ $name == gate-long-requests ]]; then # 10 s requests in flight through the whole rollout
    "$ROOT/e2e/loadgen/loadgen" --url "http://127.0.0.1:8081/?delayMs=10000" --host-header "$ns.bench.local" \
      --rate 5 --until-file "$dir/stop" --duration 900s --timeout 20s --out "$dir/slow-requests.csv" \
      --summary "$dir/slow-summary.json" 2>"$dir/slow-loadgen.log" &
    slow=$!
  fi
  [[ $name == gate-hostile ]] && hostile_prepare "$dir"
  [[ $name == gate-siege ]] && siege_prepare "$dir"
  sleep "$WARMUP"

  local t0 change gen_before
  gen_before=$(kubectl -n "$ns" get "$WORKLOAD" app -o jsonpath='{.metadata.generation}')
  t0=$(date +%s%3N)
  case $name in
    gate-scale-down) change="scale 4 -> 2"; kubectl -n "$ns" patch zdt app --type merge -p '{"spec":{"replicas":2}}' >/dev/null ;;
    gate-delete-pod)
      change="kubectl delete pod"
      kubectl -n "$ns" delete pod "${old_pods%% *}" --wait=false >/dev/null ;;
    *)
      change="rolling update $([[ $version == v3 ]] && echo v2 || echo v1) -> $version"
      if [[ $kind == deploy || $kind == policy ]]; then
        kubectl -n "$ns" set env "$WORKLOAD/app" APP_VERSION=$version >/dev/null
      else
        kubectl -n "$ns" patch zdt app --type json \
          -p '[{"op":"replace","path":"/spec/template/spec/containers/0/env/1/value","value":"'"$version"'"}]' >/dev/null
      fi ;;
  esac

  # Tenant B attacks the gate while A's old pods terminate (e2e/tenancy/attack.py).
  local attacker=""
  [[ $name == gate-hostile ]] && { hostile_attack "$ns" "$old_pods" "$dir" & attacker=$!; }
  [[ $name == gate-siege ]] && { siege_attack "$ns" "$old_pods" "$dir" & attacker=$!; }

  # Done = the Deployment reports complete AND every pod that had to go has exited.
  local expect_gone=$old_pods any_gen=""
  [[ $name == gate-scale-down || $name == gate-delete-pod ]] && expect_gone=""
  [[ $name == gate-delete-pod ]] && any_gen=1
  # A StatefulSet's new pods take the old ones' names: done = complete and none terminating.
  [[ $WORKLOAD == statefulset ]] && expect_gone=""
  wait_done "$ns" "$gen_before" "$expect_gone" 600 $any_gen || die "$name: no completion within 10 minutes"
  local complete=$COMPLETE exited=$EXITED
  if [[ -n $attacker ]]; then
    wait "$attacker" || die "$name: the attack did not run"
    if [[ $name == gate-siege ]]; then siege_finish "$ns" "$dir"; else hostile_finish "$ns" "$dir"; fi
  fi
  sleep "$COOLDOWN"
  # Short events (a scale-down, one deleted pod) still get MIN_REQUESTS requests in all.
  local load_started=$((t0 - WARMUP * 1000)) need_ms
  need_ms=$((MIN_REQUESTS * 1000 / RATE - ($(date +%s%3N) - load_started)))
  ((need_ms > 0)) && sleep "$(awk -v ms="$need_ms" 'BEGIN { printf "%.1f", ms / 1000 }')"
  touch "$dir/stop"
  for p in $loadgen; do wait "$p" || true; done
  [[ -n $slow ]] && { wait "$slow" || true; }
  record_stop
  [[ -n $hap_sampler ]] && { kill "$hap_sampler" 2>/dev/null; wait "$hap_sampler" 2>/dev/null || true; }
  [[ $FRONT_END == haproxy ]] && haproxy_stop
  [[ $kind == zdt ]] && kubectl -n "$ns" get zdt app -o json >"$dir/zdt.json"
  if [[ $kind == policy ]]; then
    # The policy's status after the rollout (its minReadySeconds advice), the owner (does it have
    # that minReadySeconds?), and the operator's log lines: a policy's drains are logged, not in a status.
    kubectl -n "$ns" get drainpolicy app -o json >"$dir/policy.json"
    kubectl -n "$ns" get "$WORKLOAD" app -o json >"$dir/owner.json"
    operator_logs "$((t0 / 1000 - WARMUP - 5))" >"$dir/operator.log"
    [[ $name == policy-deployment ]] && policy_removed "$name" "$ns" "$dir"
  fi
  kubectl -n "$ns" get events -o json >"$dir/events.json"
  cat >"$dir/meta.json" <<JSON
{"name": "$name", "kind": "$kind", "mode": "$mode", "change": "$change", "replicas": $replicas, "workload": "$WORKLOAD",
 "podSecurity": "$level", "image": "$APP_IMAGE", "ownPreStop": $([[ -n $APP_OWN_PRESTOP ]] && echo true || echo false),
 "shellAbsent": $shell_absent,
 "throttleSeconds": $THROTTLE, "frontEnd": "$FRONT_END", "frontEndReplicas": ${fe_replicas:-$traefiks},
 "laggingThrottleSeconds": $([[ $traefiks == 2 ]] && echo "$LAG_THROTTLE" || echo null), "rate": $RATE,
 "namespace": "$ns", "calibration": $([[ -n $calibration ]] && echo "\"$calibration\"" || echo null), "minRequests": $MIN_REQUESTS, "graceSeconds": $grace, "preStopSleepSeconds": $sleep,
 "changeAtMs": $t0, "deploymentCompleteAtMs": $complete, "oldPodsExitedAtMs": $exited}
JSON
  if [[ -n $KEEP && $name == "${list[-1]}" ]]; then
    echo "$ns" >"$OUT/kept-namespace" # what the demo shows with kubectl afterwards
  elif [[ $calibration == off ]]; then
    : # gate-calibrated goes on in this namespace
  else
    kubectl delete namespace "$ns" --wait=false >/dev/null
  fi
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  requests %d, failed %d %s" % (s["requests"], s["failed"], s["failedByKind"]))' "$dir/summary.json"
  [[ -f $dir/summary-2.json ]] && python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  through the second Traefik: requests %d, failed %d %s" % (s["requests"], s["failed"], s["failedByKind"]))' "$dir/summary-2.json"
  return 0
}

# calibrate <name> <ns> <dir>: turns drain.calibration on for slow-frontend's app and waits for the
# rollout that the calibrated budget makes (its old pods' grace period covers only the old hold, so
# it is not the proof); the app before and after is in calibrate-before.json and calibrate-after.json.
calibrate() {
  local name=$1 ns=$2 dir=$3 i hold before
  kubectl -n "$ns" get zdt app -o json >"$dir/calibrate-before.json"
  before=$(kubectl -n "$ns" get deploy app -o jsonpath='{.metadata.generation}')
  kubectl -n "$ns" patch zdt app --type merge \
    -p '{"spec":{"drain":{"calibration":{"enabled":true,"maxHoldSeconds":'"${BENCH_MAX_HOLD:-60}"'}}}}' >/dev/null
  for i in $(seq 1 60); do
    hold=$(kubectl -n "$ns" get zdt app -o jsonpath='{.status.drainBudget.derivation}')
    [[ $hold == *calibrated:* ]] && break
    sleep 1
  done
  [[ $hold == *calibrated:* ]] || die "$name: the budget did not say calibrated within 60 s: $hold"
  for i in $(seq 1 60); do
    (($(kubectl -n "$ns" get deploy app -o jsonpath='{.metadata.generation}') > before)) && break
    sleep 1
  done
  # That rollout's drains are measured too, and a slower one raises the hold again (a new budget, a
  # new rollout): wait until a rollout ends with the budget it started with, so that the recorded
  # rollout's old pods all have the hold calibration settled on (at most 4 rounds).
  local hash="" round
  for round in 1 2 3 4; do
    hash=$(kubectl -n "$ns" get zdt app -o jsonpath='{.status.drainBudget.hash}')
    kubectl -n "$ns" rollout status deploy/app --timeout=600s >/dev/null || die "$name: the calibrated budget's rollout did not finish"
    no_terminating "$ns" 300 || die "$name: pods still terminating 300 s after the calibrated budget's rollout"
    sleep 3 # the last drain's figures reach the status with the reporter's next write
    [[ $(kubectl -n "$ns" get zdt app -o jsonpath='{.status.drainBudget.hash}') == "$hash" ]] && break
    say "$name: calibration raised the hold again during its rollout (round $round); waiting for that rollout"
    sleep 2
  done
  app_wait_ready "$name" "$ns" "$REPLICAS"
  kubectl -n "$ns" get zdt app -o json >"$dir/calibrate-after.json"
}

# operator_logs <epoch s>: every operator replica's log lines since then.
operator_logs() {
  local since p
  since=$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)
  for p in $(kubectl -n "$OPERATOR_NS" get pods -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[*].metadata.name}'); do
    kubectl -n "$OPERATOR_NS" logs "$p" --since-time="$since" 2>/dev/null | sed "s|^|$p |" || true
  done
}

# no_terminating <ns> <timeout s>: returns once no pod of the namespace is terminating, 1 at the timeout.
no_terminating() {
  local deadline=$(($(date +%s) + $2))
  until [[ -z $(kubectl -n "$1" get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]]; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.5
  done
}

# policy_removed <name> <ns> <dir>: the DrainPolicy deleted, the Deployment restarted; the new pods
# are written to plain-after.json (analyze.py: they must carry nothing of the drain).
policy_removed() {
  local name=$1 ns=$2 dir=$3
  kubectl -n "$ns" delete drainpolicy app --wait=true >/dev/null
  kubectl -n "$ns" rollout restart deploy/app >/dev/null
  kubectl -n "$ns" rollout status deploy/app --timeout=300s >/dev/null || die "$name: the restart after the policy's deletion did not finish"
  no_terminating "$ns" 120 || die "$name: pods still terminating 120 s after the restart without the policy"
  kubectl -n "$ns" get pods -o json >"$dir/plain-after.json"
}

# traefik_replicas <1|2> [gateway 0|1]: the harness's Traefik with that many replicas (the second
# lagging), with the Gateway API provider or without it (the default).
traefik_replicas() {
  local running=1 gw=${2:-0}
  # grep without -q reads to the end: with -q it would exit at the match, the status command would
  # die of SIGPIPE, and pipefail would read that as "no second replica".
  "$CLUSTER" status 2>/dev/null | grep -E 'traefik-2 +running' >/dev/null && running=2
  [[ $running == "$1" && $(cat "$ZDT_RUN/traefik/gateway" 2>/dev/null || echo 0) == "$gw" ]] && return 0
  say "Traefik with $1 replica(s)$([[ $gw == 1 ]] && echo ", Gateway API provider on")"
  if [[ $1 == 2 ]]; then
    TRAEFIK_GATEWAY=$gw TRAEFIK_REPLICAS=2 TRAEFIK_THROTTLE=${BENCH_THROTTLE:-8}s TRAEFIK_THROTTLE_2=${LAG_THROTTLE}s \
      "$CLUSTER" restart-traefik >/dev/null
  else
    TRAEFIK_GATEWAY=$gw TRAEFIK_REPLICAS=1 TRAEFIK_THROTTLE=${BENCH_THROTTLE:-8}s "$CLUSTER" restart-traefik >/dev/null
  fi
}

# The timeline picture needs matplotlib: a venv of our own, cached (PyPI is reachable).
# A failed install is named (zdt-cluster says which step) and costs the picture, not the proof.
VENV=$ZDT_CACHE/venv
"$CLUSTER" build plot || say "no matplotlib (the install above failed): the table is written, the picture is not"
PY=python3
[[ -x $VENV/bin/python ]] && PY=$VENV/bin/python
# The streams scenarios' HTTP/2 clients need h2 in that venv; without it their keep-alive check fails.
[[ ,$SCENARIOS, == *streams* || $MODE == ci ]] && { "$CLUSTER" build h2 || say "no h2 (the install above failed): the HTTP/2 clients cannot run"; }

IFS=, read -r -a list <<<"$SCENARIOS"
for s in "${list[@]}"; do run_scenario "$s"; done
traefik_replicas 1 0 # the cluster as it was: one Traefik, Ingress provider only
[[ -n ${ENVOY_STARTED:-} ]] && "$CLUSTER" envoy down >/dev/null # and no Envoy
# The raw record is committed compressed (analyze.py reads either form): every request, the pod
# watch, Traefik's samples.
status=0
PYTHONPATH="$ROOT" "$PY" -m e2e.rollout.analyze --runs "$RUNS" --out "$OUT" --mode "$MODE" --scenarios "$SCENARIOS" || status=$?
for s in "${list[@]}"; do
  for f in requests.csv requests-2.csv slow-requests.csv keepalive-requests.csv h2-requests.csv streams.jsonl pods.json traefik.txt envoy.txt haproxy.txt events.json operator.log; do
    [[ -f $RUNS/$s/$f ]] && gzip -f "$RUNS/$s/$f"
  done
  # the pods' own logs too: the per-pod checks read them, and e2e/.gitignore leaves out *.log
  for f in "$RUNS/$s"/logs/*.log; do [[ -f $f ]] && gzip -f "$f"; done
done
exit "$status"
