#!/usr/bin/env bash
# The scale benchmark (issue 18), one command: for each size N, N ZeroDowntimeApps x R replicas on
# a real kube-apiserver + etcd of its own, nodes and pods simulated by KWOK, the Deployment,
# ReplicaSet and EndpointSlice controllers of a real kube-controller-manager, a real kube-scheduler,
# and the operator as it runs in production (the packaged jar, two replicas, leader election, its
# chart's ServiceAccount and RBAC). Scenarios per size:
#   (a) cold start: both replicas started with all N apps present and no children; time until every
#       app is Ready=True (and, from the audit log, until the operator had created all N Deployments);
#   (b) steady state: heap (live set after a full GC, and used), RSS, threads and CPU of each
#       replica over an idle window, and the API-server requests/s the operator adds (the API
#       server's audit log, which records only the operator's ServiceAccount);
#   (c) churn: C apps rolled at once; the driver calls the gate for every terminating pod as the
#       kubelet's preStop hook would, and times each answer against the app's hold bound;
#   (d) restart: the standby replica killed and started again: time until it serves the gate.
# Results: e2e/results/scale.json (analyze.py), raw records gzipped in e2e/results/scale-runs/,
# docs/scale.md's table and plot (plot.py).
#
#   e2e/scale/run.sh                                  # 100, 300 and 1,000 apps, 10-minute idle window
#   e2e/scale/run.sh --sizes 20 --idle 60             # a quick run
#   e2e/scale/run.sh --sizes 100,300 --idle 120 --churn 50
# Options: --sizes N[,N...]  --replicas R (10)  --idle SECONDS (600)  --churn APPS (100, at most N)
#          --no-build (use the jar already in target/)  --jfr (record each replica with JFR)
# Needs: the binaries of `e2e/cluster/zdt-cluster build all` and `zdt-cluster build kwok`, Java 17,
# python3. Does not touch the local cluster of e2e/cluster: own ports, own state in $SCALE_RUN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ZDT_CLUSTER_DIR=$ROOT/e2e/cluster
ZDT_RUN=${ZDT_SCALE_RUN:-${ZDT_CACHE:-$HOME/.cache/zdt}/scale}
export ZDT_CLUSTER_DIR ZDT_RUN
# shellcheck source=../cluster/lib/common.sh
source "$ZDT_CLUSTER_DIR/lib/common.sh"
source "$ZDT_CLUSTER_DIR/lib/build.sh"
source "$ZDT_CLUSTER_DIR/lib/pki.sh"
source "$ROOT/e2e/lib/metrics.sh"

# Own ports: the local cluster (6443, 2379, 10257, 10259, 8081...) may be running next to us.
APISERVER_PORT=16443
ETCD_CLIENT_PORT=23790 ETCD_PEER_PORT=23800 ETCD_METRICS_PORT=23810
KCM_PORT=20257 SCHED_PORT=20259 KWOK_PORT=20247
GATE_PORTS=(18080 18081) MGMT_PORTS=(19000 19001) WEBHOOK_PORTS=(18443 18444)
OPERATOR_NS=zdt-system
APPS_PER_NS=50
NODES=10

HELM=${HELM:-$HELM_BIN/helm}   # renders the chart's RBAC and Services
SIZES=100,300,1000 REPLICAS=10 IDLE=600 CHURN=100 BUILD=1 JFR=0
while (($#)); do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --replicas) REPLICAS=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --churn) CHURN=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --jfr) JFR=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--sizes wants numbers separated by commas, got '$SIZES'"
[[ $REPLICAS =~ ^[1-9][0-9]*$ && $IDLE =~ ^[0-9]+$ && $CHURN =~ ^[0-9]+$ ]] ||
  die "--replicas, --idle and --churn want whole numbers"

for b in "$K8S_BIN/kube-apiserver" "$K8S_BIN/kube-controller-manager" "$K8S_BIN/kube-scheduler" \
         "$K8S_BIN/kubectl" "$ETCD_BIN/etcd" "$HELM"; do
  [[ -x $b ]] || die "missing $b: run e2e/cluster/zdt-cluster build all"
done
[[ -x $KWOK_BIN/kwok ]] || build_kwok
command -v java >/dev/null && command -v jcmd >/dev/null || die "needs a JDK (java, jcmd)"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/e2e/results/scale-runs/$STAMP
mkdir -p "$OUT"
JAR=$ROOT/target/quarkus-app/quarkus-run.jar
if ((BUILD)); then
  say "packaging the operator (./mvnw package -DskipTests)"
  (cd "$ROOT" && ./mvnw -B -q package -DskipTests) >"$OUT/package.log" 2>&1 || { tail -30 "$OUT/package.log"; die "package failed"; }
fi
[[ -f $JAR ]] || die "no $JAR: run without --no-build"

KC=$ZDT_RUN/kubeconfig
k() { "$K8S_BIN/kubectl" --kubeconfig "$KC" "$@"; }
driver() {
  PYTHONPATH="$ROOT" python3 -m e2e.scale.driver --server "https://127.0.0.1:$APISERVER_PORT" --ca "$PKI/ca.crt" \
    --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
# meta <file> <key> <json value>: one fact per line, gathered into scale.json by analyze.py.
meta() { printf '{"key": "%s", "value": %s}\n' "$2" "$3" >>"$1"; }

stop_all() {
  stop_bg 20 operator-0 operator-1
  stop_bg 10 kwok kube-scheduler kube-controller-manager kube-apiserver etcd
}
trap 'stop_all' EXIT

start_control_plane() {
  stop_all
  rm -rf "$ZDT_RUN/etcd" "$LOGS" "$ZDT_RUN/audit.log"
  ensure_pki
  write_kubeconfig "$KC" admin
  mkdir -p "$ZDT_RUN/etcd"; chmod 700 "$ZDT_RUN/etcd"
  start_bg etcd "$ETCD_BIN/etcd" --name scale --data-dir "$ZDT_RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "scale=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" \
    --quota-backend-bytes 8589934592 --unsafe-no-fsync --log-level warn
  wait_for 20 "etcd" curl -fsS "http://127.0.0.1:$ETCD_METRICS_PORT/health" || die "etcd did not start"
  # The audit log records the operator's requests only (its ServiceAccount), one line per request,
  # with verb, resource and user agent: the "requests per second the operator adds".
  cat >"$ZDT_RUN/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["system:serviceaccount:$OPERATOR_NS:zdt-operator"]
- level: None
EOF
  start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address 127.0.0.1 \
    --tls-cert-file "$PKI/kube-apiserver.crt" --tls-private-key-file "$PKI/kube-apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --api-audiences "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
    --audit-policy-file "$ZDT_RUN/audit-policy.yaml" --audit-log-path "$ZDT_RUN/audit.log" \
    --audit-log-format json --audit-log-maxsize 0 --profiling=false --v 1
  wait_for 60 "kube-apiserver" curl -fsS --cacert "$PKI/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" ||
    { check_alive kube-apiserver; die "kube-apiserver did not become ready"; }
  # Only the controllers that turn a Deployment into ready endpoints; API QPS raised from the
  # default 20 so that 10,000 pods are not throttled by the controller's own client.
  start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$KC" --authentication-kubeconfig "$KC" --authorization-kubeconfig "$KC" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --controllers deployment,replicaset,endpointslice,serviceaccount,garbagecollector \
    --kube-api-qps 300 --kube-api-burst 500 --v 1
  start_bg kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$KC" --authentication-kubeconfig "$KC" --authorization-kubeconfig "$KC" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false \
    --kube-api-qps 300 --kube-api-burst 500 --v 1
  start_bg kwok "$KWOK_BIN/kwok" --kubeconfig "$KC" --config "$ROOT/e2e/scale/kwok-stages.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --server-address "127.0.0.1:$KWOK_PORT" --node-ip 10.250.0.1 --cidr 10.64.0.1/12
  local i
  for ((i = 0; i < NODES; i++)); do
    printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: kwok-%d\n  annotations: {kwok.x-k8s.io/node: fake}\n  labels: {type: kwok}\nspec:\n  podCIDR: 10.64.%d.0/21\n---\n' \
      "$i" $((i * 8))
  done | k apply -f - >/dev/null
  wait_for 60 "KWOK nodes Ready" bash -c "[[ \$('$K8S_BIN/kubectl' --kubeconfig '$KC' get nodes --no-headers | grep -c ' Ready ') == $NODES ]]" ||
    { check_alive kwok; die "KWOK did not make the nodes Ready"; }
  # The API server taints a new node not-ready; the node lifecycle controller, not run here (no
  # kubelet heartbeats to judge), would lift it once the node is Ready.
  k taint nodes --all node.kubernetes.io/not-ready:NoSchedule- >/dev/null
  local crd
  for crd in "$ROOT"/deploy/crds/*.yml; do k apply --server-side -f "$crd" >/dev/null; done
  k create namespace "$OPERATOR_NS" >/dev/null
  # What the chart installs, but the operator's own Deployment, PDB and the kinds this API server
  # has no CRD for: the operator runs as processes here, under the chart's ServiceAccount.
  "$HELM" template zdt-operator "$ROOT/deploy/helm/zdt-operator" -n "$OPERATOR_NS" |
    python3 -c '
import sys
docs = sys.stdin.read().split("\n---")
keep = [d for d in docs if d.strip() and not any(("\nkind: " + kind) in d for kind in
        ("Deployment", "PodDisruptionBudget", "ServiceMonitor", "NetworkPolicy"))]
print("\n---".join(keep))' | k apply -n "$OPERATOR_NS" -f - >"$OUT/chart-apply-$SIZE.log"
  # The gate Service's endpoints, as the EndpointSlice controller would list the operator's pods:
  # a replica admits new pods into rotation (warm-in) only while it is a ready endpoint of it.
  k apply -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: zdt-operator-gate-processes
  namespace: $OPERATOR_NS
  labels: {kubernetes.io/service-name: zdt-operator-gate, endpointslice.kubernetes.io/managed-by: zdt-scale-benchmark}
addressType: IPv4
ports: [{name: gate, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.250.1.10], conditions: {ready: true}, targetRef: {kind: Pod, namespace: $OPERATOR_NS, name: zdt-operator-scale-0}}
- {addresses: [10.250.1.11], conditions: {ready: true}, targetRef: {kind: Pod, namespace: $OPERATOR_NS, name: zdt-operator-scale-1}}
EOF
  wait_for 30 "the ServiceAccount" k -n "$OPERATOR_NS" get serviceaccount zdt-operator
  local token
  token=$(k -n "$OPERATOR_NS" create token zdt-operator --duration 24h)
  cat >"$ZDT_RUN/operator.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: scale
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: zdt-operator
  user: {token: "$token"}
contexts:
- name: scale
  context: {cluster: scale, user: zdt-operator, namespace: $OPERATOR_NS}
current-context: scale
EOF
  chmod 600 "$ZDT_RUN/operator.kubeconfig"
  # The operator answers /q/metrics as in a cluster, only to a reader's token (the chart's
  # zdt-operator-metrics-reader, applied above); the churn's snapshots below are read with it.
  METRICS_TOKEN=$(ZDT_KUBECTL=k metrics_token zdt-operator "$OPERATOR_NS")
}

create_apps() { # <n>
  python3 - "$1" "$REPLICAS" "$APPS_PER_NS" <<'EOF' | k create -f - >/dev/null
import sys
n, replicas, per_ns = map(int, sys.argv[1:])
for ns in range((n + per_ns - 1) // per_ns):
    print(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: scale-{ns:03d}}}\n---")
for i in range(n):
    # The chart's gate-mode defaults; a generic front end with a 2 s propagation, verified from the
    # EndpointSlices (no Traefik here); an Ingress as well, so every app has all four children.
    print(f"""apiVersion: zdt.dev/v1alpha1
kind: ZeroDowntimeApp
metadata: {{name: app-{i:04d}, namespace: scale-{i // per_ns:03d}}}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
      - name: app
        image: localhost/scale-app:kwok
        ports: [{{name: http, containerPort: 8080}}]
  ingress: {{className: traefik, host: app-{i:04d}.scale.example}}
  traffic: {{provider: generic, propagationSeconds: 2, verify: endpoints}}
  drain: {{maxRequestSeconds: 2, shutdownSeconds: 1, mode: gate}}
---""")
EOF
}

start_operator() { # <index>
  local i=$1 jfr=()
  # The gate's token key, as the chart's Secret holds it (both replicas read the same one).
  if [[ ! -s $ZDT_RUN/gate-key/current ]]; then
    mkdir -p "$ZDT_RUN/gate-key" && head -c 48 /dev/urandom | base64 -w0 >"$ZDT_RUN/gate-key/current"
  fi
  ((JFR)) && jfr=("-XX:StartFlightRecording=filename=$OUT/operator-$i-$SIZE.jfr,settings=profile,dumponexit=true")
  # As in the chart's pod: the JVM sizes itself for the 512 MiB memory limit (MaxRAM; initial heap
  # 1/64 of it, MaxRAMPercentage=75 as the image sets, so a 384 MiB ceiling) and takes the collector
  # it picks in a container that small (Serial: under 1792 MiB it is no "server class machine").
  # HOSTNAME is the leader-election identity (the pod name in a cluster). The reconciler's debug
  # line names what each status write changed (analyze.py counts them over the idle window).
  start_bg "operator-$i" env KUBECONFIG="$ZDT_RUN/operator.kubeconfig" HOSTNAME="zdt-operator-scale-$i" \
    POD_NAME="zdt-operator-scale-$i" POD_NAMESPACE="$OPERATOR_NS" KUBERNETES_NAMESPACE="$OPERATOR_NS" \
    ZDT_GATE_SERVICE_NAME=zdt-operator-gate ZDT_GATE_NAMESPACE="$OPERATOR_NS" ZDT_GATE_PORT=80 \
    ZDT_DRAIN_HELPER_IMAGE=localhost/zdt-drain:kwok ZDT_LEADER_ELECTION_LEASE_NAME=zdt-operator-leader \
    QUARKUS_HTTP_PORT="${GATE_PORTS[$i]}" QUARKUS_MANAGEMENT_PORT="${MGMT_PORTS[$i]}" QUARKUS_LOG_LEVEL=INFO \
    ZDT_WEBHOOK_PORT="${WEBHOOK_PORTS[$i]}" ZDT_GATE_AUTH_KEY_DIR="$ZDT_RUN/gate-key" \
    java -XX:MaxRAM=512m -XX:MaxRAMPercentage=75 -XX:+UseSerialGC "${jfr[@]}" \
    '-Dquarkus.log.category."dev.zdt.operator.reconcile.ZeroDowntimeAppReconciler".level=DEBUG' -jar "$JAR"
}

operator_pid() { pid_of "operator-$1"; }

# sample <index> <file> <label>: one line of a replica's process facts.
sample() {
  local i=$1 pid rss threads ticks heap
  pid=$(operator_pid "$i")
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  # Heap in use: the sum over the generations' "total ..., used NK" lines (one line for G1, two for
  # Serial); Metaspace's lines have no "total".
  heap=$(jcmd "$pid" GC.heap_info 2>/dev/null |
    awk '/ total / && / used / {for (f = 1; f <= NF; f++) if ($f == "used") {v = $(f+1); sub(/K,?$/, "", v); s += v}} END {if (s != "") print s "K"}')
  printf '{"replica": %d, "label": "%s", "t": %s, "rssKiB": %s, "threads": %s, "cpuTicks": %s, "heapUsed": "%s", "load": "%s"}\n' \
    "$i" "$3" "$(now)" "$rss" "$threads" "$ticks" "$heap" "$(load)" >>"$2"
}

# live_heap <index> <file> <label>: heap in use after a full GC (the live set), then a sample.
live_heap() {
  jcmd "$(operator_pid "$1")" GC.run >/dev/null
  sample "$@"
}

leader() {
  k -n "$OPERATOR_NS" get lease zdt-operator-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null
}

run_size() {
  SIZE=$1
  local chn=$((CHURN < SIZE ? CHURN : SIZE)) d=$OUT/$SIZE
  mkdir -p "$d"
  say "==== $SIZE apps x $REPLICAS replicas (load $(load))"
  start_control_plane
  meta "$d/meta.jsonl" apps "$SIZE"
  meta "$d/meta.jsonl" replicas "$REPLICAS"
  create_apps "$SIZE"
  say "created $SIZE apps; starting two operator replicas"

  # (a) cold start
  local t0
  meta "$d/meta.jsonl" coldStartLoadBefore "\"$(load)\""
  t0=$(now)
  start_operator 0
  start_operator 1
  meta "$d/meta.jsonl" coldStartT0 "$t0"
  # Not every app Ready in time is a result too (analyze.py counts the apps that were): go on.
  if driver ready --apps "$SIZE" --timeout $((600 + SIZE * 3)) --out "$d/ready.jsonl"; then
    meta "$d/meta.jsonl" coldStartComplete true
  else
    meta "$d/meta.jsonl" coldStartComplete false
    warn "cold start: not every app Ready in time (see $d/ready.jsonl, $LOGS)"
  fi
  meta "$d/meta.jsonl" coldStartDone "$(now)"
  meta "$d/meta.jsonl" coldStartLoadAfter "\"$(load)\""
  say "cold start: ended after $(python3 -c "print(round($(now) - $t0, 1))") s"
  meta "$d/meta.jsonl" leader "\"$(leader)\""

  # (b) steady state: let the start settle (a full periodic reconcile has passed), then an idle window.
  local settle=30
  say "settling ${settle}s, then idle window ${IDLE}s"
  sleep "$settle"
  local i
  for i in 0 1; do live_heap "$i" "$d/process.jsonl" idleStart; done
  curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/metrics" | grep '^apiserver_request_total' >"$d/apiserver-metrics-start.txt"
  meta "$d/meta.jsonl" idleStart "$(now)"
  sleep "$IDLE"
  meta "$d/meta.jsonl" idleEnd "$(now)"
  for i in 0 1; do sample "$i" "$d/process.jsonl" idleEndBeforeGc; live_heap "$i" "$d/process.jsonl" idleEnd; done
  # What the live heap is made of: each replica's 60 largest classes (a full GC first), for the profile.
  for i in 0 1; do jcmd "$(operator_pid "$i")" GC.class_histogram 2>/dev/null | head -64 >"$d/histogram-$i.txt" || true; done
  curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/metrics" | grep '^apiserver_request_total' >"$d/apiserver-metrics-end.txt"
  meta "$d/meta.jsonl" idleLoadAfter "\"$(load)\""

  # (c) churn
  if ((chn > 0)); then
    say "churn: rolling $chn apps at once"
    meta "$d/meta.jsonl" churnApps "$chn"
    meta "$d/meta.jsonl" churnLoadBefore "\"$(load)\""
    driver churn --apps "$chn" --replicas "$REPLICAS" --timeout 1200 --out "$d/churn.jsonl" \
      --gate "http://127.0.0.1:${GATE_PORTS[0]},http://127.0.0.1:${GATE_PORTS[1]}" ||
      warn "churn did not complete (see $d/churn.jsonl)"
    meta "$d/meta.jsonl" churnLoadAfter "\"$(load)\""
    for i in 0 1; do sample "$i" "$d/process.jsonl" churnEnd; done
    for i in 0 1; do
      curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "http://127.0.0.1:${MGMT_PORTS[$i]}/q/metrics" \
        >"$d/operator-$i-metrics.txt" || warn "replica $i did not answer /q/metrics"
    done
  fi

  # (d) restart of the standby replica (the leader keeps reconciling; the restarted one must serve
  # the gate from its own informers): killed as a crash would, started again at once.
  local lead standby ts
  lead=$(leader)
  standby=0; [[ ${lead%%_*} == zdt-operator-scale-0 ]] && standby=1 # the identity is <pod>_<process>
  say "restart: killing replica $standby (leader: $lead)"
  meta "$d/meta.jsonl" restartLoadBefore "\"$(load)\""
  kill -KILL "$(operator_pid "$standby")"
  stop_bg 5 "operator-$standby"
  ts=$(now)
  start_operator "$standby"
  meta "$d/meta.jsonl" restartT0 "$ts"
  driver probe --gate "http://127.0.0.1:${GATE_PORTS[$standby]}" --management "http://127.0.0.1:${MGMT_PORTS[$standby]}" \
    --timeout 300 >"$d/restart.json" || warn "the restarted replica did not serve (see $d/restart.json)"
  meta "$d/meta.jsonl" restartLoadAfter "\"$(load)\""

  # The operator's API requests for the whole run, from the audit log (one line per request).
  gzip -c "$ZDT_RUN/audit.log" >"$d/audit.jsonl.gz"
  for i in 0 1; do gzip -c "$LOGS/operator-$i.log" >"$d/operator-$i.log.gz"; done
  # KWOK's log: one line per pod status patch, for e2e/scale/flips.py (what moved the apps' status).
  gzip -c "$LOGS/kwok.log" >"$d/kwok.log.gz"
  stop_all
  PYTHONPATH="$ROOT" python3 -m e2e.scale.flips "$d" >"$d/flips.json" || warn "flips.py failed on $d"
}

meta "$OUT/run.jsonl" command "\"e2e/scale/run.sh --sizes $SIZES --replicas $REPLICAS --idle $IDLE --churn $CHURN\""
meta "$OUT/run.jsonl" commit "\"$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src pom.xml || echo '+dirty')\""
meta "$OUT/run.jsonl" cpus "$(nproc)"
meta "$OUT/run.jsonl" memoryMiB "$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
meta "$OUT/run.jsonl" java "\"$(java -version 2>&1 | head -1 | tr -d '"')\""
meta "$OUT/run.jsonl" kubernetes "\"$K8S_VERSION\""
meta "$OUT/run.jsonl" kwok "\"$KWOK_VERSION\""
meta "$OUT/run.jsonl" idleSeconds "$IDLE"
meta "$OUT/run.jsonl" chartRenderedBy "\"$HELM\""
meta "$OUT/run.jsonl" startLoad "\"$(load)\""
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for n in "${SIZE_LIST[@]}"; do run_size "$n"; done
PYTHONPATH="$ROOT" python3 -m e2e.scale.analyze "$OUT" "$ROOT/e2e/results/scale.json"
# The raw records stay next to the result, compressed (analyze.py reads them either way).
find "$OUT" -name '*.jsonl' ! -name meta.jsonl ! -name run.jsonl -exec gzip -f {} +
find "$OUT" \( -name '*.txt' -o -name '*.log' \) -exec gzip -f {} +
PYTHONPATH="$ROOT" python3 -m e2e.scale.plot "$ROOT/e2e/results/scale.json" "$ROOT/docs/scale.svg"
say "results: e2e/results/scale.json, raw records in ${OUT#"$ROOT"/}"
