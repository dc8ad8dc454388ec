#!/usr/bin/env bash
# The proof: rolling updates under steady load through a real Traefik, one scenario after another,
# every request recorded. Writes e2e/results/rollout.json, rollout.md and rollout.png, and exits
# non-zero when a pass criterion fails (see analyze.py).
#
#   e2e/rollout/bench.sh                 # every scenario
#   e2e/rollout/bench.sh --ci            # reduced: plain Deployment vs zdt gate, shorter load
#   e2e/rollout/bench.sh --scenarios plain,gate
#   --out DIR writes the results elsewhere; --keep leaves the last scenario's namespace running
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../operator/lib.sh"

MODE=full
KEEP=""
OUT=""
SCENARIOS="plain,sleep30,gate,zdt-sleep,sleep5,gate-scale-down,gate-delete-pod,gate-long-requests"
while (($#)); do
  case $1 in
    --ci) MODE=ci; SCENARIOS="plain,gate"; shift ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done
THROTTLE=${BENCH_THROTTLE:-8}          # Traefik's providers throttle, seconds: a busy ingress
RATE=${BENCH_RATE:-250}                # requests per second through the ingress
REPLICAS=${BENCH_REPLICAS:-3}
WARMUP=${BENCH_WARMUP:-5}              # load before the change, seconds
COOLDOWN=${BENCH_COOLDOWN:-5}          # load after the last old pod exited, seconds
MIN_REQUESTS=${BENCH_MIN_REQUESTS:-10500} # the load runs at least this long, at RATE (JVM start eats ~1 s)
[[ $MODE == ci ]] && RATE=${BENCH_RATE:-200} MIN_REQUESTS=${BENCH_MIN_REQUESTS:-0}
OUT=${OUT:-$ROOT/e2e/results}
RUNS=$OUT/rollout-runs
[[ $MODE == ci ]] && RUNS=$OUT/rollout-ci-runs
mkdir -p "$RUNS"

"$CLUSTER" up >/dev/null # no-op when the cluster runs
"$ROOT/e2e/loadgen/build.sh" >/dev/null
"$CLUSTER" image demo-app >/dev/null
"$ROOT/e2e/operator/install.sh" >/dev/null # idempotent: an unchanged build changes nothing
if [[ $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null) != "${THROTTLE}s" ]]; then
  say "Traefik with a ${THROTTLE}s provider throttle"
  TRAEFIK_THROTTLE=${THROTTLE}s "$CLUSTER" restart-traefik >/dev/null
fi

# --- workloads -------------------------------------------------------------------------------
container() { # container <version> <indent>: the demo app's container, same in every scenario
  sed "s/^/$2/" <<YAML
- name: app
  image: localhost/demo-app:dev
  imagePullPolicy: Never
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
    spec:
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

# --- one scenario ----------------------------------------------------------------------------
traefik_servers() { # the pod addresses Traefik routes to for <ns>
  curl -fsS "$ZDT_TRAEFIK_API_URL/api/http/services?per_page=1000" 2>/dev/null |
    python3 -c 'import json,sys; ns=sys.argv[1]
for s in json.load(sys.stdin):
    if s.get("name","").startswith(ns+"-app-"):
        for v in s.get("loadBalancer",{}).get("servers",[]):
            if not v.get("fenced"): print(v["url"])' "$1"
}

run_scenario() { # run_scenario <name>
  local name=$1 ns="bench-$1" dir="$RUNS/$1" kind mode="" grace=30 sleep=0 replicas=$REPLICAS
  case $name in
    plain) kind=deploy ;;
    sleep30) kind=deploy sleep=30 grace=60 ;;
    sleep5) kind=deploy sleep=5 grace=35 ;;
    gate | gate-delete-pod | gate-long-requests) kind=zdt mode=gate ;;
    gate-scale-down) kind=zdt mode=gate replicas=4 ;;
    zdt-sleep) kind=zdt mode=sleep ;;
    *) die "unknown scenario $name" ;;
  esac
  say "scenario $name"
  rm -rf "$dir" && mkdir -p "$dir/logs"
  kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
  kubectl create namespace "$ns" >/dev/null
  if [[ $kind == deploy ]]; then
    plain_deployment "$ns" v1 "$sleep" "$grace" | kubectl apply -f - >/dev/null
  else
    zdt_app "$ns" v1 "$mode" "$replicas" | kubectl apply -f - >/dev/null
  fi
  local deadline=$(($(date +%s) + 60))
  until kubectl -n "$ns" get deploy app >/dev/null 2>&1; do # the operator creates it for a ZeroDowntimeApp
    (($(date +%s) < deadline)) || { kubectl -n "$ns" describe zdt app >&2 || true; die "$name: no Deployment"; }
    sleep 0.5
  done
  kubectl -n "$ns" wait --for=condition=Available deploy/app --timeout=180s >/dev/null ||
    die "$name: the app did not become available"
  local want=$replicas
  deadline=$(($(date +%s) + 60))
  until (($(traefik_servers "$ns" | wc -l) == want)); do
    (($(date +%s) < deadline)) || die "$name: Traefik does not route to $want pods"
    sleep 0.5
  done

  # Record: every pod change, the old pods' own log lines, Traefik's server list every 200 ms.
  kubectl -n "$ns" get pods -w --output-watch-events -o json >"$dir/pods.json" 2>/dev/null &
  local watcher=$!
  local old_pods
  old_pods=$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].metadata.name}')
  for p in $old_pods; do kubectl -n "$ns" logs -f "$p" >"$dir/logs/$p.log" 2>/dev/null & done
  (while :; do printf '%s %s\n' "$(date +%s%3N)" "$(traefik_servers "$ns" | tr '\n' ' ')"; sleep 0.2; done) \
    >"$dir/traefik.txt" &
  local poller=$!

  rm -f "$dir/stop"
  "$ROOT/e2e/loadgen/loadgen" --url http://127.0.0.1:8081/ --host-header "$ns.bench.local" --rate "$RATE" \
    --until-file "$dir/stop" --duration 900s --timeout 5s --out "$dir/requests.csv" \
    --summary "$dir/summary.json" 2>"$dir/loadgen.log" &
  local loadgen=$! slow=""
  if [[ $name == gate-long-requests ]]; then # 10 s requests in flight through the whole rollout
    "$ROOT/e2e/loadgen/loadgen" --url "http://127.0.0.1:8081/?delayMs=10000" --host-header "$ns.bench.local" \
      --rate 5 --until-file "$dir/stop" --duration 900s --timeout 20s --out "$dir/slow-requests.csv" \
      --summary "$dir/slow-summary.json" 2>"$dir/slow-loadgen.log" &
    slow=$!
  fi
  sleep "$WARMUP"

  local t0 change gen_before
  gen_before=$(kubectl -n "$ns" get deploy app -o jsonpath='{.metadata.generation}')
  t0=$(date +%s%3N)
  case $name in
    gate-scale-down) change="scale 4 -> 2"; kubectl -n "$ns" patch zdt app --type merge -p '{"spec":{"replicas":2}}' >/dev/null ;;
    gate-delete-pod)
      change="kubectl delete pod"
      kubectl -n "$ns" delete pod "${old_pods%% *}" --wait=false >/dev/null ;;
    *)
      change="rolling update v1 -> v2"
      if [[ $kind == deploy ]]; then
        kubectl -n "$ns" set env deploy/app APP_VERSION=v2 >/dev/null
      else
        kubectl -n "$ns" patch zdt app --type json \
          -p '[{"op":"replace","path":"/spec/template/spec/containers/0/env/1/value","value":"v2"}]' >/dev/null
      fi ;;
  esac

  # Done = the Deployment reports complete AND every pod that had to go has exited.
  local complete="" exited="" expect_gone=$old_pods
  [[ $name == gate-scale-down || $name == gate-delete-pod ]] && expect_gone=""
  deadline=$(($(date +%s) + 600))
  while [[ -z $complete || -z $exited ]]; do
    (($(date +%s) < deadline)) || die "$name: no completion within 10 minutes"
    local d
    d=$(kubectl -n "$ns" get deploy app -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}')
    read -r gen obs want_r have_r upd avail <<<"$d"
    if [[ -z $complete && ($gen -gt $gen_before || $name == gate-delete-pod) && $gen == "$obs" && $have_r == "$want_r" && ${upd:-0} == "$want_r" && ${avail:-0} == "$want_r" ]]; then
      complete=$(date +%s%3N)
    fi
    local pods_now
    pods_now=$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].metadata.name}')
    if [[ -z $exited ]]; then
      local left=0
      if [[ -n $expect_gone ]]; then
        for p in $expect_gone; do [[ " $pods_now " == *" $p "* ]] && left=1; done
      else # scale-down and delete: done when no pod is terminating any more
        [[ -n $(kubectl -n "$ns" get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]] && left=1
        [[ -z $complete ]] && left=1
      fi
      ((left == 0)) && exited=$(date +%s%3N)
    fi
    sleep 0.3
  done
  sleep "$COOLDOWN"
  # Short events (a scale-down, one deleted pod) still get MIN_REQUESTS requests in all.
  local load_started=$((t0 - WARMUP * 1000)) need_ms
  need_ms=$((MIN_REQUESTS * 1000 / RATE - ($(date +%s%3N) - load_started)))
  ((need_ms > 0)) && sleep "$(awk -v ms="$need_ms" 'BEGIN { printf "%.1f", ms / 1000 }')"
  touch "$dir/stop"
  wait "$loadgen" || true
  [[ -n $slow ]] && { wait "$slow" || true; }
  kill "$poller" "$watcher" 2>/dev/null || true
  [[ $kind == zdt ]] && kubectl -n "$ns" get zdt app -o json >"$dir/zdt.json"
  kubectl -n "$ns" get events -o json >"$dir/events.json"
  cat >"$dir/meta.json" <<JSON
{"name": "$name", "kind": "$kind", "mode": "$mode", "change": "$change", "replicas": $replicas,
 "throttleSeconds": $THROTTLE, "rate": $RATE, "graceSeconds": $grace, "preStopSleepSeconds": $sleep,
 "changeAtMs": $t0, "deploymentCompleteAtMs": $complete, "oldPodsExitedAtMs": $exited}
JSON
  [[ -n $KEEP && $name == "${list[-1]}" ]] || kubectl delete namespace "$ns" --wait=false >/dev/null
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  requests %d, failed %d %s" % (s["requests"], s["failed"], s["failedByKind"]))' "$dir/summary.json"
}

# The timeline picture needs matplotlib: a venv of our own, cached (PyPI is reachable).
VENV=$ZDT_CACHE/venv
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  say "installing matplotlib into $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib || say "no matplotlib: the table is written, the picture is not"
fi
PY=python3
[[ -x $VENV/bin/python ]] && PY=$VENV/bin/python

IFS=, read -r -a list <<<"$SCENARIOS"
for s in "${list[@]}"; do run_scenario "$s"; done
"$PY" "$HERE/analyze.py" --runs "$RUNS" --out "$OUT" --mode "$MODE" --scenarios "$SCENARIOS"
