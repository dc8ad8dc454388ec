# shellcheck shell=bash
# Shared by the rollout benchmark (bench.sh) and the failure drills (e2e/drills/run.sh): the
# workloads, the load through Traefik, the recording (pod watch, pod logs, Traefik's server list)
# and the completion check. Callers set THROTTLE, RATE and REPLICAS before using them.
source "$(dirname "${BASH_SOURCE[0]}")/../operator/lib.sh"

# The cluster, the load generator, the demo app's image, the operator, Traefik's throttle.
bench_prepare() {
  "$CLUSTER" up >/dev/null # no-op when the cluster runs
  "$ROOT/e2e/loadgen/build.sh" >/dev/null
  "$CLUSTER" image demo-app >/dev/null
  # idempotent: an unchanged build changes nothing. ZDT_SKIP_INSTALL=1 keeps the installed
  # operator (a rebuild gets a new tag and rolls the operator pods).
  if [[ ${ZDT_SKIP_INSTALL:-} == 1 ]] && kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" >/dev/null 2>&1; then
    say "keeping the installed operator (ZDT_SKIP_INSTALL=1)"
  else
    "$ROOT/e2e/operator/install.sh" >/dev/null
  fi
  # A scraper's token for the operator's /q/metrics (e2e/lib/metrics.sh), once per run: the
  # recording and the drills read the gate's gauges with it.
  METRICS_TOKEN=$(metrics_token)
  if [[ $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null) != "${THROTTLE}s" ]]; then
    say "Traefik with a ${THROTTLE}s provider throttle"
    TRAEFIK_THROTTLE=${THROTTLE}s "$CLUSTER" restart-traefik >/dev/null
  fi
}

# record_code <file>: which code a run measured, for the result tables: the checkout's commit,
# whether the operator's sources differ from it, the operator image that ran, and when.
record_code() {
  local commit differ=false image
  commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$ROOT" status --porcelain -- src/main pom.xml .mvn 2>/dev/null) ]] && differ=true
  image=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.spec.template.spec.containers[0].image}' \
    2>/dev/null || true)
  printf '{"commit": "%s", "operatorSourcesDiffer": %s, "operatorImage": "%s", "measuredAt": "%s"}\n' \
    "$commit" "$differ" "$image" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$1"
}

# --- workloads -------------------------------------------------------------------------------
# APP_IMAGE (default localhost/demo-app:dev), APP_RESTRICTED=1 (meets Pod Security restricted) and
# APP_OWN_PRESTOP=1 (the template's own preStop: httpGet /prestop, which the app logs) vary it.
container() { # container <version> <indent>: the demo app's container, same in every scenario
  sed "s/^/$2/" <<YAML
- name: app
  image: ${APP_IMAGE:-localhost/demo-app:dev}
  imagePullPolicy: Never$( [[ ${APP_RESTRICTED:-} == 1 ]] && printf '\n%s' \
  "  securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}")$( [[ ${APP_OWN_PRESTOP:-} == 1 ]] && printf '\n%s' \
  "  lifecycle: {preStop: {httpGet: {path: /prestop, port: http}}}")
  env:
  - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
  - {name: APP_VERSION, value: "$1"}
  - {name: SHUTDOWN_TIMEOUT_SECONDS, value: "15"}$( [[ -n ${STREAMS:-} ]] && printf '\n%s\n%s' \
  "  - {name: GRPC_PORT, value: \"8082\"}" "  - {name: DRAIN_STREAMS_TOKEN, value: \"$STREAMS_TOKEN\"}")
  ports: [{name: http, containerPort: 8080}$( [[ -n ${STREAMS:-} ]] && printf '%s' \
  ", {name: ws, containerPort: 8081}, {name: grpc, containerPort: 8082}")]
  readinessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 1
    failureThreshold: 1
  resources: {requests: {cpu: 50m, memory: 64Mi}}
YAML
}

plain_deployment() { # plain_deployment <ns> <version> <preStop sleep seconds or 0> <grace>
  local lifecycle=""
  (($3 > 0)) && lifecycle="        lifecycle: {preStop: {sleep: {seconds: $3}}}"
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: $1}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: app}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: $4
      containers:
$(container "$2" "      ")
$( [[ -n $lifecycle ]] && echo "$lifecycle" )
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: $1}
spec:
  selector: {app: app}
  ports: [{name: http, port: 80, targetPort: http}]
YAML
  # ROUTE=1: a Gateway API HTTPRoute on the harness's Gateway (TRAEFIK_GATEWAY=1) instead of an Ingress.
  if [[ ${ROUTE:-} == 1 ]]; then
    cat <<YAML
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: $1}
spec:
  parentRefs: [{name: traefik, namespace: zdt-ingress, sectionName: web}]
  hostnames: [$1.bench.local]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: app, port: 80}]
YAML
  else
    cat <<YAML
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: $1}
spec:
  ingressClassName: ${INGRESS_CLASS:-traefik}
  rules:
  - host: $1.bench.local
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: app, port: {number: 80}}}
YAML
  fi
}

# A StatefulSet as a chart would render it: the same container, ordered RollingUpdate, behind the
# same Service and Ingress as plain_deployment's (no word of zdt in either).
plain_statefulset() { # plain_statefulset <ns> <version> <grace>
  cat <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: app, namespace: $1}
spec:
  replicas: $REPLICAS
  serviceName: app
  selector: {matchLabels: {app: app}}
  updateStrategy: {type: RollingUpdate}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: $3
      containers:
$(container "$2" "      ")
YAML
  plain_deployment "$1" "$2" 0 "$3" | sed -n '/^---$/,$p'
}

# The DrainPolicy the policy-* scenarios attach to that plain workload: the gate scenario's traffic
# and drain, verified against every Traefik replica as the gate scenario's app is.
drain_policy() { # drain_policy <ns>
  cat <<YAML
apiVersion: zdt.dev/v1alpha1
kind: DrainPolicy
metadata: {name: app, namespace: $1}
spec:
  selector: {matchLabels: {app: app}}
  services: [app]
  traffic:
    provider: traefik
    throttleSeconds: $THROTTLE
    verify: ingress
    controller: {namespace: zdt-ingress, service: traefik, port: traefik}
  drain: {maxRequestSeconds: 12, shutdownSeconds: 3}
YAML
}

# policy_wait_protected <ns> <replicas> <out.json>: the DrainPolicy reports every matched pod
# protected (Ready True) for want pods; its object is written to out.json. Dies otherwise.
policy_wait_protected() {
  local ns=$1 want=$2 out=$3 deadline=$(($(date +%s) + 90))
  until kubectl -n "$ns" get drainpolicy app -o json >"$out" 2>/dev/null && python3 -c '
import json, sys
s = json.load(open(sys.argv[1])).get("status") or {}
ok = any(c["type"] == "Ready" and c["status"] == "True" for c in s.get("conditions") or [])
sys.exit(0 if ok and s.get("coveredPods") == int(sys.argv[2]) and s.get("unprotectedPods") == 0 else 1)' "$out" "$want"; do
    (($(date +%s) < deadline)) || { cat "$out" >&2; die "$ns: the DrainPolicy does not report $want protected pods"; }
    sleep 1
  done
}

zdt_app() { # zdt_app <ns> <version> <mode> <replicas>; APP_TRAFFIC replaces the traffic block (Traefik's)
  local traffic=${APP_TRAFFIC:-"    provider: traefik
    throttleSeconds: $THROTTLE
    verify: ingress
    controller: {namespace: zdt-ingress, service: traefik, port: traefik}"}
  cat <<YAML
apiVersion: zdt.dev/v1alpha1
kind: ZeroDowntimeApp
metadata: {name: app, namespace: $1}
spec:
  replicas: $4
  template:
    spec:$( [[ ${APP_RESTRICTED:-} == 1 ]] && printf '\n%s' \
      "      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}")
      containers:
$(container "$2" "      ")
$( if [[ ${ROUTE:-} == 1 ]]; then
  echo "  route: {parentRefs: [{name: traefik, namespace: zdt-ingress, sectionName: web}], hostnames: [$1.bench.local]}"
else
  echo "  ingress: {className: ${INGRESS_CLASS:-traefik}, host: $1.bench.local}"
fi )
  traffic:
$(app_traffic)
  drain: {mode: $3, maxRequestSeconds: 12, shutdownSeconds: 3$( [[ -n ${STREAMS:-} ]] && printf '%s' \
    ", streams: {windDownSeconds: $STREAMS_WIND_DOWN, signal: {path: /drain-streams, port: http, httpHeaders: [{name: X-Drain-Token, value: \"$STREAMS_TOKEN\"}]}, ports: [ws, grpc]}")}
YAML
}

# The app's traffic section for the front end under test (FRONT_END traefik or envoy, or
# APP_TRAFFIC as given, e.g. HAProxy's): verified against every replica of it, found through its
# Service in zdt-ingress.
app_traffic() {
  if [[ -n ${APP_TRAFFIC:-} ]]; then
    printf '%s\n' "$APP_TRAFFIC"
  elif [[ ${FRONT_END:-traefik} == envoy ]]; then
    cat <<YAML
    provider: envoy
    verify: ingress
    controller: {namespace: zdt-ingress, service: envoy, port: admin}
YAML
  else
    cat <<YAML
    provider: traefik
    throttleSeconds: $THROTTLE
    verify: ingress
    controller: {namespace: zdt-ingress, service: traefik, port: traefik}
YAML
  fi
}

# --- recording -------------------------------------------------------------------------------
# The Traefik APIs to sample: every replica the harness runs (TRAEFIK_REPLICAS=2 adds the second).
TRAEFIK_API_URLS=${TRAEFIK_API_URLS:-$ZDT_TRAEFIK_API_URL}

traefik_servers() { # the pod addresses any Traefik replica routes to for <ns> now, one a line
  local url apis=()
  if [[ ${FRONT_END:-traefik} == envoy ]]; then # Envoy: the hosts of Contour's clusters for <ns>/app
    PYTHONPATH="$ROOT" python3 -m e2e.rollout.envoy_sampler --admin "$ZDT_ENVOY_ADMIN_URL" --prefix "$1/app/" --once 2>/dev/null
    return
  fi
  for url in $TRAEFIK_API_URLS; do apis+=(--api "$url"); done
  PYTHONPATH="$ROOT" python3 -m e2e.rollout.traefik_sampler "${apis[@]}" --prefix "$1-app-" --once 2>/dev/null
}

traefik_servers_each() { # the smallest count of pod addresses that one replica routes to for <ns>
  local url n min=""
  [[ ${FRONT_END:-traefik} == envoy ]] && { traefik_servers "$1" | wc -l; return; }
  for url in $TRAEFIK_API_URLS; do
    n=$(TRAEFIK_API_URLS=$url traefik_servers "$1" | wc -l)
    [[ -z $min || $n -lt $min ]] && min=$n
  done
  echo "${min:-0}"
}

# app_wait_ready <name> <ns> <replicas>: the Deployment exists (the operator creates it for a
# ZeroDowntimeApp), is Available, and Traefik routes to every replica. Dies otherwise.
app_wait_ready() {
  local name=$1 ns=$2 want=$3
  local deadline=$(($(date +%s) + 60))
  until kubectl -n "$ns" get "${WORKLOAD:-deploy}" app >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || { kubectl -n "$ns" describe zdt app >&2 || true; die "$name: no ${WORKLOAD:-deploy}"; }
    sleep 0.5
  done
  if [[ ${WORKLOAD:-deploy} == deploy ]]; then
    kubectl -n "$ns" wait --for=condition=Available deploy/app --timeout=180s >/dev/null ||
      die "$name: the app did not become available"
  else
    kubectl -n "$ns" rollout status "$WORKLOAD/app" --timeout=180s >/dev/null ||
      die "$name: the $WORKLOAD did not roll out"
  fi
  deadline=$(($(date +%s) + 60))
  until (($(traefik_servers_each "$ns") == want)); do
    (($(date +%s) < deadline)) || die "$name: a Traefik replica does not route to $want pods"
    sleep 0.5
  done
}

# record_start <ns> <dir> [resilient]: every pod change, the current pods' own log lines (each
# prefixed with the runtime's timestamp: the drain helper's line has none of its own), Traefik's
# server list 20 times a second (traefik_sampler.py; TRAEFIK_SAMPLE_MS changes the interval).
# Sets REC_PIDS (stopped by record_stop) and OLD_PODS.
# resilient (the drills): the pod watch and the log streams reconnect when they break (an API
# server restart), and pods created later are followed too; repeated lines are harmless, the
# analysis takes the first of each event.
record_start() {
  local ns=$1 dir=$2 resilient=${3:-} p
  REC_PIDS=() REC_NS=$ns REC_DIR=$dir
  if [[ -n $resilient ]]; then
    (while :; do kubectl -n "$ns" get pods -w --output-watch-events -o json 2>/dev/null; sleep 0.5; done) >>"$dir/pods.json" &
    REC_PIDS+=($!)
    (declare -A seen; while :; do
      # Followed once its app container runs: a follow started while an init container runs
      # (gate mode's helper) was seen to stay silent for the pod's whole life.
      for p in $(kubectl -n "$ns" get pods -o jsonpath='{range .items[?(@.status.containerStatuses[0].state.running)]}{.metadata.name}{" "}{end}' 2>/dev/null); do
        [[ -n ${seen[$p]:-} ]] && continue
        seen[$p]=1
        (while kubectl -n "$ns" get pod "$p" >/dev/null 2>&1; do
          kubectl -n "$ns" logs -f --timestamps "$p" >>"$dir/logs/$p.log" 2>/dev/null; sleep 0.5; done) &
      done
      sleep 1
    done) &
    REC_PIDS+=($!)
  else
    kubectl -n "$ns" get pods -w --output-watch-events -o json >"$dir/pods.json" 2>/dev/null &
    REC_PIDS+=($!)
  fi
  OLD_PODS=$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].metadata.name}')
  [[ -n $resilient ]] || for p in $OLD_PODS; do kubectl -n "$ns" logs -f --timestamps "$p" >"$dir/logs/$p.log" 2>/dev/null & done
  # The sampler runs at a higher CPU priority than the load it observes: on this 2-CPU machine
  # its 20 Hz schedule would otherwise slip behind the load generator and the JVMs.
  local url apis=()
  for url in $TRAEFIK_API_URLS; do apis+=(--api "$url"); done
  if [[ ${FRONT_END:-traefik} == envoy ]]; then # Envoy's admin instead, same record format
    PYTHONPATH="$ROOT" nice -n -10 python3 -m e2e.rollout.envoy_sampler --admin "$ZDT_ENVOY_ADMIN_URL" --prefix "$ns/app/" \
      --interval-ms "${TRAEFIK_SAMPLE_MS:-50}" >>"$dir/envoy.txt" 2>>"$dir/envoy-sampler.log" &
  else
  PYTHONPATH="$ROOT" nice -n -10 python3 -m e2e.rollout.traefik_sampler "${apis[@]}" --prefix "$ns-app-" \
    --interval-ms "${TRAEFIK_SAMPLE_MS:-50}" >>"$dir/traefik.txt" 2>>"$dir/traefik-sampler.log" &
  fi
  REC_SAMPLER=$!
  REC_PIDS+=($!)
}

kill_tree() { # kill_tree <pid...>: the processes and everything they started, by pid
  local p c
  for p in "$@"; do
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill_tree "$c"; done
    kill "$p" 2>/dev/null || true
  done
}

# record_stop: ends the recording; the sampler's summary line is in traefik.txt when it returns.
record_stop() {
  kill_tree "${REC_PIDS[@]}"
  wait "$REC_SAMPLER" 2>/dev/null || true
  [[ -s $REC_DIR/traefik-sampler.log ]] || rm -f "$REC_DIR/traefik-sampler.log"
  [[ -s $REC_DIR/envoy-sampler.log ]] || rm -f "$REC_DIR/envoy-sampler.log"
}

# record_reconnect: a resilient recording started again from scratch, appending (kubectl's
# watch and log streams can hang on a connection to an API server that went away).
record_reconnect() {
  local old=$OLD_PODS
  record_stop
  record_start "$REC_NS" "$REC_DIR" resilient
  OLD_PODS=$old
}

# load_start <ns> <dir>: RATE req/s through Traefik (or LOAD_URL, e.g. HAProxy's) until <dir>/stop exists. Sets LOADGEN (the
# pids). With LOAD_SPLIT_URL (a second Traefik replica's web URL), half the rate goes through each:
# requests.csv/summary.json through the first, requests-2.csv/summary-2.json through the second.
load_start() {
  local ns=$1 dir=$2 rate=$RATE
  rm -f "$dir/stop"
  [[ -n ${LOAD_SPLIT_URL:-} ]] && rate=$((RATE / 2))
  # LOAD_URL: another front end's HTTP listener (Envoy's, HAProxy's), else Traefik's.
  "$ROOT/e2e/loadgen/loadgen" --url "${LOAD_URL:-http://127.0.0.1:8081}/" --host-header "$ns.bench.local" --rate "$rate" \
    --until-file "$dir/stop" --duration 900s --timeout 5s --out "$dir/requests.csv" \
    --summary "$dir/summary.json" 2>"$dir/loadgen.log" &
  LOADGEN=$!
  if [[ -n ${LOAD_SPLIT_URL:-} ]]; then
    "$ROOT/e2e/loadgen/loadgen" --url "$LOAD_SPLIT_URL/" --host-header "$ns.bench.local" --rate "$rate" \
      --until-file "$dir/stop" --duration 900s --timeout 5s --out "$dir/requests-2.csv" \
      --summary "$dir/summary-2.json" 2>"$dir/loadgen-2.log" &
    LOADGEN="$LOADGEN $!"
  fi
}

# --- long-lived connections (the *-streams scenarios, STREAMS=1) -------------------------------
STREAMS_EACH=${BENCH_STREAMS:-20}          # WebSocket streams, and as many SSE and gRPC streams, kept open
# The gate's stream phase (drain.streams): after the hold the helper calls the app's /drain-streams
# (its token in a header: through the front end the path is anyone's), then SIGTERM waits until no
# connection is left on the WebSocket and gRPC ports, at most this long. SSE shares the HTTP port
# with the front end's idle keep-alive connections, which would hold the wait to its bound; the
# signal's answer comes once the app's SSE streams are closed.
STREAMS_WIND_DOWN=${BENCH_STREAMS_WIND_DOWN:-10}
STREAMS_TOKEN=${BENCH_STREAMS_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9)}
KEEPALIVE_RATE=${BENCH_KEEPALIVE_RATE:-50} # requests per second on kept-alive connections

# streams_expose <ns> <pod label "key: value">: the demo app's WebSocket port (WS_PORT 8081) and gRPC
# port (GRPC_PORT 8082) behind Services of their own, and an Ingress on the app's host for /ws, the
# gRPC service's path and /sse (the app's own Service), as an app with more ports is published by
# hand: the operator renders one Service port, and these are the user's. What the front ends need of
# a stream's route: Traefik speaks HTTP/2 to a pod only for a Service marked h2c; Contour upgrades a
# route to WebSocket only when its Ingress names it (projectcontour.io/websocket-routes), speaks
# h2c to the ports its Service names, and cuts every response at 15 s unless the Ingress says
# otherwise (projectcontour.io/response-timeout).
streams_expose() {
  cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: app-ws, namespace: $1}
spec:
  selector: {$2}
  ports: [{name: ws, port: 8081, targetPort: 8081}]
---
apiVersion: v1
kind: Service
metadata:
  name: app-grpc
  namespace: $1
  annotations: {traefik.ingress.kubernetes.io/service.serversscheme: h2c, projectcontour.io/upstream-protocol.h2c: "8082"}
spec:
  selector: {$2}
  ports: [{name: grpc, port: 8082, targetPort: 8082}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-streams
  namespace: $1
  annotations: {projectcontour.io/websocket-routes: /ws, projectcontour.io/response-timeout: infinity}
spec:
  ingressClassName: ${INGRESS_CLASS:-traefik}
  rules:
  - host: $1.bench.local
    http:
      paths:
      - path: /ws
        pathType: Prefix
        backend: {service: {name: app-ws, port: {number: 8081}}}
      - path: /zdt.demo.TickStream
        pathType: Prefix
        backend: {service: {name: app-grpc, port: {number: 8082}}}
      - path: /sse
        pathType: Prefix
        backend: {service: {name: app, port: {number: 80}}}
YAML
}

# streams_wait <ns>: until a WebSocket, an SSE and a gRPC stream open through the front end (its
# routes for them are in place), 60 s at most.
# streams_loadgen <ns> <streams of each kind> [flags...]: loadgen streams of every kind (WebSocket,
# SSE, gRPC) through the front end to the app's host (LOAD_URL's, else Traefik's).
streams_loadgen() {
  local ns=$1 each=$2 base=${LOAD_URL:-http://127.0.0.1:8081}
  shift 2
  "$ROOT/e2e/loadgen/loadgen" streams --ws-url "ws://${base#http://}/ws" --ws "$each" --sse-url "$base/sse" --sse "$each" \
    --grpc-target "${base#http://}" --grpc "$each" --host-header "$ns.bench.local" "$@"
}

streams_wait() {
  local i
  for i in $(seq 1 60); do
    streams_loadgen "$1" 1 --duration 2s --summary /dev/stdout 2>/dev/null |
      python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if all(s[k]["connections"] for k in ("ws", "sse", "grpc")) and not s["totals"]["abnormal"] else 1)' &&
      return 0
    sleep 1
  done
  return 1
}

# streams_start <ns> <dir>: STREAMS_EACH WebSocket, SSE and gRPC streams, each reconnected and resumed on
# every close, kept-alive HTTP/1.1 clients at KEEPALIVE_RATE, and as many requests over two kept
# HTTP/2 connections (h2c, e2e/loadgen/h2_load.py, in the cache's venv: zdt-cluster build h2),
# through the same front end as the load, until <dir>/stop. Sets STREAMERS.
streams_start() {
  local ns=$1 dir=$2 base=${LOAD_URL:-http://127.0.0.1:8081}
  streams_loadgen "$ns" "$STREAMS_EACH" --until-file "$dir/stop" --duration 900s --out "$dir/streams.jsonl" \
    --summary "$dir/streams.json" 2>"$dir/streams.log" &
  STREAMERS=$!
  "$ROOT/e2e/loadgen/loadgen" --url "$base/" --host-header "$ns.bench.local" --rate "$KEEPALIVE_RATE" --keepalive true \
    --until-file "$dir/stop" --duration 900s --timeout 5s --out "$dir/keepalive-requests.csv" \
    --summary "$dir/keepalive-summary.json" 2>"$dir/keepalive.log" &
  STREAMERS="$STREAMERS $!"
  PYTHONPATH="$ROOT" "$ZDT_CACHE/venv/bin/python3" -m e2e.loadgen.h2_load --url "$base/" --host-header "$ns.bench.local" \
    --rate "$KEEPALIVE_RATE" --connections 2 --until-file "$dir/stop" --duration 900 --timeout 5 \
    --out "$dir/h2-requests.csv" --summary "$dir/h2-summary.json" 2>"$dir/h2.log" &
  STREAMERS="$STREAMERS $!"
}

# wait_done <ns> <generation before> <pods that must go, or empty> <timeout s> [any-generation]:
# done = the Deployment reports complete (a newer generation, unless any-generation) AND every
# pod that had to go has exited (with no list: no pod is terminating any more). Sets COMPLETE
# and EXITED (epoch ms); returns 1 when the timeout passes first (they stay empty then).
# WORKLOAD=statefulset reads a StatefulSet of the same name instead of the Deployment.
wait_done() {
  local ns=$1 gen_before=$2 expect_gone=$3 timeout=$4 any_gen=${5:-}
  local deadline=$(($(date +%s) + timeout)) d gen obs want_r have_r upd avail pods_now left p
  COMPLETE="" EXITED=""
  while [[ -z $COMPLETE || -z $EXITED ]]; do
    (($(date +%s) < deadline)) || return 1
    d=$(kubectl -n "$ns" get "${WORKLOAD:-deploy}" app -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}')
    read -r gen obs want_r have_r upd avail <<<"$d"
    if [[ -z $COMPLETE && ($gen -gt $gen_before || -n $any_gen) && $gen == "$obs" && $have_r == "$want_r" && ${upd:-0} == "$want_r" && ${avail:-0} == "$want_r" ]]; then
      COMPLETE=$(date +%s%3N)
    fi
    pods_now=$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].metadata.name}')
    if [[ -z $EXITED ]]; then
      left=0
      if [[ -n $expect_gone ]]; then
        for p in $expect_gone; do [[ " $pods_now " == *" $p "* ]] && left=1; done
      else # scale-down and delete: done when no pod is terminating any more
        [[ -n $(kubectl -n "$ns" get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]] && left=1
        [[ -z $COMPLETE ]] && left=1
      fi
      ((left == 0)) && EXITED=$(date +%s%3N)
    fi
    sleep 0.3
  done
}

# --- gate-hostile: tenant B attacks the gate while tenant A rolls out ---------------------------
HOSTILE_NS=bench-hostile-b

# tenant_namespace <ns> <pod...>: the namespace new and empty. An earlier run that stopped
# half-way leaves its decoys' finalizer, which would hold the namespace's deletion forever.
tenant_namespace() {
  local ns=$1 p
  shift
  for p in "$@"; do
    kubectl -n "$ns" patch pod "$p" --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
  done
  kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null
  kubectl create namespace "$ns" >/dev/null
}

# tenant_app <ns> <traffic>: the tenant's app b, no pods of its own, gate mode, with that traffic block.
tenant_app() {
  cat <<YAML
apiVersion: zdt.dev/v1alpha1
kind: ZeroDowntimeApp
metadata: {name: b, namespace: $1}
spec:
  replicas: 0
  template:
    spec:
      containers:
$(container v1 "      ")
  traffic: $2
  drain: {mode: gate, maxRequestSeconds: 5, shutdownSeconds: 3}
YAML
}

# decoy_pod <ns> <name>: a pod of the tenant's app b, labelled as managed, with a hold annotation
# of 2^31 - 1, bound to a node that does not exist and kept by a finalizer once deleted.
decoy_pod() {
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $2
  namespace: $1
  labels: {zdt.dev/app: b, app.kubernetes.io/managed-by: zdt-operator}
  annotations: {zdt.dev/hold-seconds: "2147483647"}
  finalizers: [zdt.dev/hostile-test]
spec:
  nodeName: no-such-node
  containers: [{name: c, image: localhost/demo-app:dev}]
YAML
}

# decoy_token <ns> <pod>: the tenant's credential is what any of its pods has: a token bound to
# the pod, for the gate's audience, as the kubelet would mount it (the tenant needs only create on
# serviceaccounts/token).
decoy_token() {
  local uid i token=""
  uid=$(kubectl -n "$1" get pod "$2" -o jsonpath='{.metadata.uid}')
  for i in $(seq 1 30); do
    token=$(kubectl -n "$1" create token default --audience zdt.dev/gate --duration 10m \
      --bound-object-kind Pod --bound-object-name "$2" --bound-object-uid "$uid" 2>/dev/null || true)
    [[ -n $token ]] && break
    sleep 1 # the namespace's default ServiceAccount is made a moment after the namespace
  done
  [[ -n $token ]] || die "no token could be made for $1/$2"
  echo "$token"
}

# Tenant B's own app (no pods of its own) and a decoy pod of B's, labelled as a
# managed pod of that app with a hold annotation of 2^31 - 1, bound to a node that does not exist,
# kept terminating by a finalizer and offered as ready by an EndpointSlice B wrote. The
# operator's heap and threads are read before.
hostile_prepare() {
  local dir=$1
  tenant_namespace "$HOSTILE_NS" decoy
  tenant_app "$HOSTILE_NS" "{provider: generic, propagationSeconds: 5, verify: endpoints}" | kubectl apply -f - >/dev/null
  decoy_pod "$HOSTILE_NS" decoy
  HOSTILE_TOKEN=$(decoy_token "$HOSTILE_NS" decoy)
  # B keeps its decoy "in rotation" with an EndpointSlice of its own (a tenant may write those in
  # its namespace), so that the gate holds B's calls to B's bound instead of releasing them at once.
  kubectl apply -f - >/dev/null <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: b-decoy
  namespace: $HOSTILE_NS
  labels: {kubernetes.io/service-name: b, app.kubernetes.io/managed-by: zdt-operator, zdt.dev/app: b}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.99.0.1]
  conditions: {ready: true, serving: true, terminating: false}
  targetRef: {kind: Pod, name: decoy, namespace: $HOSTILE_NS}
YAML
  kubectl -n "$HOSTILE_NS" delete pod decoy --wait=false >/dev/null
  operator_vitals >"$dir/operator-before.json"
}

# hostile_attack <A's namespace> <A's old pods> <dir>: waits until A's first old pod terminates,
# then runs every attack at once.
hostile_attack() {
  await_terminating "$1" "${2%% *}"
  run_attack "$1" "${2%% *}" "$3"
}

# await_terminating <ns> <pod>: returns once the pod is terminating (or after 60 s).
await_terminating() {
  local i
  for i in $(seq 1 300); do
    [[ -n $(kubectl -n "$1" get pod "$2" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null) ]] && return 0
    sleep 0.2
  done
}

# operator_service <component>: host:port of the operator's Service of that component (gate, webhook).
operator_service() {
  kubectl -n "$OPERATOR_NS" get svc -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=$1" \
    -o jsonpath='{.items[0].spec.clusterIP}:{.items[0].spec.ports[0].port}'
}

# run_attack <A's namespace> <A's terminating pod> <dir> [attack.py arguments...]: tenant B's
# attacks (e2e/tenancy/attack.py) and whatever the arguments add, every operator replica's
# /q/metrics sampled with the reader's token; then B's apiUrl.
run_attack() {
  local ns=$1 pod=$2 dir=$3 metrics=() ip replicas=0 token_file
  shift 3
  for ip in $(kubectl -n "$OPERATOR_NS" get pods -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[*].status.podIP}'); do
    metrics+=(--metrics "http://$ip:9000/q/metrics")
    replicas=$((replicas + 1))
  done
  token_file=$(metrics_token_file)
  PYTHONPATH="$ROOT" python3 -m e2e.tenancy.attack --gate "$(operator_service gate)" --victim "$ns/app/$pod" "${metrics[@]}" \
    --metrics-token-file "$token_file" --replicas "$replicas" \
    --attacker "$HOSTILE_NS/b/decoy" --token "$HOSTILE_TOKEN" --budget 10 --out "$dir/attack.json" \
    "$@" >"$dir/attack.log" 2>&1 || { rm -f "$token_file"; return 1; }
  rm -f "$token_file"
  hostile_apiurl "$dir"
}

# The scraper's token in a file of its own (not on a command line, where ps shows it); the caller
# removes it.
metrics_token_file() {
  local f
  f=$(mktemp)
  printf '%s' "${METRICS_TOKEN:?bench_prepare mints it}" >"$f"
  echo "$f"
}

# B points its app's front-end API at the API server: the operator must refuse to fetch it.
hostile_apiurl() {
  local dir=$1 i
  kubectl -n "$HOSTILE_NS" patch zdt b --type merge -p '{"spec":{"traffic":{"provider":"traefik",
    "verify":"ingress","apiUrl":"https://10.96.0.1:443","propagationSeconds":null}}}' >/dev/null
  for i in $(seq 1 60); do
    kubectl -n "$HOSTILE_NS" get zdt b -o json >"$dir/apiurl-app.json"
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])).get("status",{}).get("conditions",[])
sys.exit(0 if any(x["type"]=="Degraded" and x["status"]=="True" for x in c) else 1)' "$dir/apiurl-app.json" && break
    sleep 1
  done
}

# After the rollout: the operator's vitals again, A's Events about refused calls, and B cleaned up.
hostile_finish() {
  local ns=$1 dir=$2
  operator_vitals >"$dir/operator-after.json"
  kubectl -n "$ns" get events -o json >"$dir/victim-events.json"
  kubectl -n "$HOSTILE_NS" get events -o json >"$dir/attacker-events.json"
  kubectl -n "$HOSTILE_NS" patch pod decoy --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null || true
  kubectl delete namespace "$HOSTILE_NS" --wait=false >/dev/null
}

# --- gate-siege: gate-hostile's tenant B, and five more tenants at once -------------------------
# Each siege tenant zdt-siege-<k> has an app whose front end is a Service of its own namespace
# (no consent needed) backed by e2e/tenancy/hostile_frontend.py on the node, one bad way per
# tenant (huge, endless, slow, malformed, redirect); two decoy pods kept terminating by a
# finalizer, which the tenant's own EndpointSlice shows terminating beside a ready endpoint (so
# the gate goes on to ask the front end); and one valid token per decoy pod. zdt-siege-1 also opts
# in to DrainPolicy (the webhook's theft target) and keeps the token of a pod deleted since (the
# replay). The decoys are deleted as the attack starts: the API server stops accepting a pod's
# bound token 60 s after the pod's deletionTimestamp (its deletion plus its grace period), which
# a real pod's helper, calling during that grace period, never reaches. Each tenant's calls leave
# the node from an address of its own (10.244.200.<k>, inside the cluster CIDR so kube-proxy does
# not masquerade it), as each pod calls from its own: the gate bars a caller whose token was
# refused, and one address for all would make one tenant's refusals everyone's.
SIEGE_TENANTS=5
SIEGE_FRONTEND_PORT=18090
SIEGE_FLOODERS=()
SIEGE_SOURCES=()
SIEGE_REPLAYED=""
SIEGE_FRONTEND_PID=""

siege_prepare() {
  local dir=$1 k ns token p
  SIEGE_SOURCES=()
  for k in $(seq 1 $((SIEGE_TENANTS + 2))); do
    ip addr replace "10.244.200.$k/32" dev zdt0
  done
  for k in $(seq 1 "$SIEGE_TENANTS"); do SIEGE_SOURCES+=(--source "zdt-siege-$k=10.244.200.$k"); done
  SIEGE_SOURCES+=(--source "flood=10.244.200.$((SIEGE_TENANTS + 1))" --source "replayed=10.244.200.$((SIEGE_TENANTS + 2))")
  PYTHONPATH="$ROOT" python3 -m e2e.tenancy.hostile_frontend --bind "$ZDT_NODE_IP" --base-port "$SIEGE_FRONTEND_PORT" \
    --seconds 1800 --out "$dir/frontends.json" >"$dir/frontends.log" 2>&1 &
  SIEGE_FRONTEND_PID=$!
  kubectl -n "$OPERATOR_NS" get pods -l "app.kubernetes.io/instance=$RELEASE" -o json >"$dir/operator-pods-before.json"
  SIEGE_FLOODERS=()
  for k in $(seq 1 "$SIEGE_TENANTS"); do
    ns=zdt-siege-$k
    tenant_namespace "$ns" decoy-1 decoy-2 gone
    kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=baseline >/dev/null
    { tenant_app "$ns" "{provider: traefik, throttleSeconds: 2, verify: ingress, controller: {namespace: $ns, service: fe, port: api}}"
      cat <<YAML
---
# The tenant's own "front end": a Service of its namespace, its endpoint the node's hostile server.
apiVersion: v1
kind: Service
metadata: {name: fe, namespace: $ns}
spec:
  ports: [{name: api, port: 8082, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: fe-1
  namespace: $ns
  labels: {kubernetes.io/service-name: fe}
addressType: IPv4
ports: [{name: api, port: $((SIEGE_FRONTEND_PORT + k - 1)), protocol: TCP}]
endpoints:
- addresses: [$ZDT_NODE_IP]
  conditions: {ready: true}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: b-decoys
  namespace: $ns
  labels: {kubernetes.io/service-name: b, app.kubernetes.io/managed-by: zdt-operator, zdt.dev/app: b}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.99.$k.1]
  conditions: {ready: false, serving: false, terminating: true}
  targetRef: {kind: Pod, name: decoy-1, namespace: $ns}
- addresses: [10.99.$k.2]
  conditions: {ready: false, serving: false, terminating: true}
  targetRef: {kind: Pod, name: decoy-2, namespace: $ns}
- addresses: [10.99.$k.9]
  conditions: {ready: true, serving: true, terminating: false}
YAML
    } | kubectl apply -f - >/dev/null
    for p in decoy-1 decoy-2 $( ((k == 1)) && echo gone); do
      decoy_pod "$ns" "$p"
      token=$(decoy_token "$ns" "$p")
      if [[ $p == gone ]]; then
        SIEGE_REPLAYED="$ns/b/gone=$token"
        kubectl -n "$ns" patch pod gone --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
        kubectl -n "$ns" delete pod gone --wait=true --timeout=60s >/dev/null
      else
        SIEGE_FLOODERS+=(--flooder "$ns/b/$p=$token")
        # The address the kubelet would give it, the one its EndpointSlice shows: the gate then asks
        # the front end about that address.
        kubectl -n "$ns" patch pod "$p" --subresource=status --type merge \
          -p "{\"status\":{\"podIP\":\"10.99.$k.${p#decoy-}\",\"podIPs\":[{\"ip\":\"10.99.$k.${p#decoy-}\"}]}}" >/dev/null
      fi
    done
  done
  # The webhook's target: zdt-siege-1 opted in, a DrainPolicy selecting app=stolen.
  kubectl label namespace zdt-siege-1 zdt.dev/drain-policy=enabled >/dev/null
  kubectl apply -f - >/dev/null <<YAML
apiVersion: zdt.dev/v1alpha1
kind: DrainPolicy
metadata: {name: stolen, namespace: zdt-siege-1}
spec:
  selector: {matchLabels: {app: stolen}}
  services: [stolen]
  traffic: {provider: traefik, throttleSeconds: 2, verify: endpoints}
  drain: {maxRequestSeconds: 5, shutdownSeconds: 3}
YAML
  hostile_prepare "$dir"
}

# siege_attack <A's namespace> <A's old pods> <dir>: every attack at once once A's first old pod
# terminates (e2e/tenancy/attack.py), then each siege tenant's app as the operator reports it.
siege_attack() {
  local ns=$1 first=${2%% *} dir=$3 webhook k
  webhook=$(operator_service webhook)
  [[ -n $webhook ]] || die "gate-siege: the operator has no webhook Service (webhook.enabled=false?)"
  await_terminating "$ns" "$first"
  # The decoys terminate as the attack starts, as a real pod's would when its helper calls.
  for k in $(seq 1 "$SIEGE_TENANTS"); do
    kubectl -n "zdt-siege-$k" delete pod decoy-1 decoy-2 --wait=false >/dev/null
  done
  run_attack "$ns" "$first" "$dir" --flood 600 --flood-per-pod 100 "${SIEGE_FLOODERS[@]}" "${SIEGE_SOURCES[@]}" \
    --replayed "$SIEGE_REPLAYED" --webhook "$webhook" --webhook-pod zdt-siege-1/app=stolen || return 1
  for k in $(seq 1 "$SIEGE_TENANTS"); do
    kubectl -n "zdt-siege-$k" get zdt b -o json >"$dir/siege-$k-app.json" || true
    kubectl -n "zdt-siege-$k" get events -o json >"$dir/siege-$k-events.json" || true
  done
}

siege_finish() {
  local ns=$1 dir=$2 k p
  kubectl -n "$OPERATOR_NS" get pods -l "app.kubernetes.io/instance=$RELEASE" -o json >"$dir/operator-pods-after.json"
  hostile_finish "$ns" "$dir"
  for k in $(seq 1 $((SIEGE_TENANTS + 2))); do ip addr del "10.244.200.$k/32" dev zdt0 2>/dev/null || true; done
  [[ -n $SIEGE_FRONTEND_PID ]] && { kill "$SIEGE_FRONTEND_PID" 2>/dev/null; wait "$SIEGE_FRONTEND_PID" 2>/dev/null || true; }
  for k in $(seq 1 "$SIEGE_TENANTS"); do
    for p in decoy-1 decoy-2; do
      kubectl -n "zdt-siege-$k" patch pod "$p" --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1 || true
    done
    kubectl delete namespace "zdt-siege-$k" --wait=false >/dev/null
  done
}

# Heap, threads and the gate's counters of every operator replica, from its management port.
operator_vitals() {
  local ip first=1
  printf '['
  for ip in $(kubectl -n "$OPERATOR_NS" get pods -l "app.kubernetes.io/instance=$RELEASE" \
      -o jsonpath='{.items[*].status.podIP}'); do
    ((first)) || printf ','
    first=0
    curl -fsS -H "Authorization: Bearer ${METRICS_TOKEN:?bench_prepare mints it}" "http://$ip:9000/q/metrics" | python3 -c '
import json, sys
keep = ("jvm_memory_used_bytes{area=\"heap\"", "jvm_threads_live_threads", "zdt_gate_calls_authenticated_total", "zdt_gate_holds_in_flight")
vals = {}
for line in sys.stdin:
    if line.startswith(keep):
        name, _, v = line.rpartition(" ")
        vals[name] = vals.get(name, 0) + float(v) if name.startswith("jvm_memory") else float(v)
print(json.dumps({"pod": sys.argv[1], "metrics": vals}), end="")' "$ip"
  done
  printf ']\n'
}
