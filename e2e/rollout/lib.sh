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
  if [[ $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null) != "${THROTTLE}s" ]]; then
    say "Traefik with a ${THROTTLE}s provider throttle"
    TRAEFIK_THROTTLE=${THROTTLE}s "$CLUSTER" restart-traefik >/dev/null
  fi
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
  - {name: SHUTDOWN_TIMEOUT_SECONDS, value: "15"}
  ports: [{name: http, containerPort: 8080}]
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
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: $1}
spec:
  ingressClassName: traefik
  rules:
  - host: $1.bench.local
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: app, port: {number: 80}}}
YAML
}

zdt_app() { # zdt_app <ns> <version> <mode> <replicas>
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
  ingress: {className: traefik, host: $1.bench.local}
  traffic:
    provider: traefik
    throttleSeconds: $THROTTLE
    verify: ingress
    apiUrl: $ZDT_TRAEFIK_API_URL_FROM_PODS
  drain: {mode: $3, maxRequestSeconds: 12, shutdownSeconds: 3}
YAML
}

# --- recording -------------------------------------------------------------------------------
traefik_servers() { # the pod addresses Traefik routes to for <ns> now, one a line
  python3 "$ROOT/e2e/rollout/traefik_sampler.py" --api "$ZDT_TRAEFIK_API_URL" --prefix "$1-app-" --once 2>/dev/null
}

# app_wait_ready <name> <ns> <replicas>: the Deployment exists (the operator creates it for a
# ZeroDowntimeApp), is Available, and Traefik routes to every replica. Dies otherwise.
app_wait_ready() {
  local name=$1 ns=$2 want=$3
  local deadline=$(($(date +%s) + 60))
  until kubectl -n "$ns" get deploy app >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || { kubectl -n "$ns" describe zdt app >&2 || true; die "$name: no Deployment"; }
    sleep 0.5
  done
  kubectl -n "$ns" wait --for=condition=Available deploy/app --timeout=180s >/dev/null ||
    die "$name: the app did not become available"
  deadline=$(($(date +%s) + 60))
  until (($(traefik_servers "$ns" | wc -l) == want)); do
    (($(date +%s) < deadline)) || die "$name: Traefik does not route to $want pods"
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
  nice -n -10 python3 "$ROOT/e2e/rollout/traefik_sampler.py" --api "$ZDT_TRAEFIK_API_URL" --prefix "$ns-app-" \
    --interval-ms "${TRAEFIK_SAMPLE_MS:-50}" >>"$dir/traefik.txt" 2>>"$dir/traefik-sampler.log" &
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
}

# record_reconnect: a resilient recording started again from scratch, appending (kubectl's
# watch and log streams can hang on a connection to an API server that went away).
record_reconnect() {
  local old=$OLD_PODS
  record_stop
  record_start "$REC_NS" "$REC_DIR" resilient
  OLD_PODS=$old
}

# load_start <ns> <dir>: RATE req/s through Traefik until <dir>/stop exists. Sets LOADGEN.
load_start() {
  local ns=$1 dir=$2
  rm -f "$dir/stop"
  "$ROOT/e2e/loadgen/loadgen" --url http://127.0.0.1:8081/ --host-header "$ns.bench.local" --rate "$RATE" \
    --until-file "$dir/stop" --duration 900s --timeout 5s --out "$dir/requests.csv" \
    --summary "$dir/summary.json" 2>"$dir/loadgen.log" &
  LOADGEN=$!
}

# wait_done <ns> <generation before> <pods that must go, or empty> <timeout s> [any-generation]:
# done = the Deployment reports complete (a newer generation, unless any-generation) AND every
# pod that had to go has exited (with no list: no pod is terminating any more). Sets COMPLETE
# and EXITED (epoch ms); returns 1 when the timeout passes first (they stay empty then).
wait_done() {
  local ns=$1 gen_before=$2 expect_gone=$3 timeout=$4 any_gen=${5:-}
  local deadline=$(($(date +%s) + timeout)) d gen obs want_r have_r upd avail pods_now left p
  COMPLETE="" EXITED=""
  while [[ -z $COMPLETE || -z $EXITED ]]; do
    (($(date +%s) < deadline)) || return 1
    d=$(kubectl -n "$ns" get deploy app -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}')
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
