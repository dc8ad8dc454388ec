#!/usr/bin/env bash
# Failure drills: the rollout benchmark's load (250 req/s through Traefik, every request
# recorded) and recording, while something breaks: the operator leader, every operator replica,
# Traefik's API, the API server, evictions through the PDB, an operator restart during holds.
# Each drill runs in its own namespace, checks its own pass criteria (analyze.py) and writes
# e2e/results/drills-runs/<drill>/; the run writes e2e/results/drills.json and drills.md and
# exits non-zero when a drill fails.
#
#   e2e/drills/run.sh                          # every drill (about 20 minutes)
#   e2e/drills/run.sh --drills leader-delete,eviction
#   --out DIR writes the results elsewhere; --keep leaves the namespaces
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../rollout/lib.sh"

ALL="leader-delete,leader-crash,leader-crash-exec,operator-down-gate,operator-down-exec,operator-down-sleep,exec-rollout,traefik-api-down,apiserver-restart,eviction,operator-restart-draining"
DRILLS=$ALL
OUT=""
KEEP=""
while (($#)); do
  case $1 in
    --drills) DRILLS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n 2,12p "$0"; exit 0 ;;
    *) die "unknown argument $1 (drills: $ALL)" ;;
  esac
done
THROTTLE=${BENCH_THROTTLE:-8}   # the benchmark's Traefik throttle: holds of 5-10 s
RATE=${BENCH_RATE:-250}
REPLICAS=${DRILL_REPLICAS:-3}
WARMUP=${DRILL_WARMUP:-5}
COOLDOWN=${DRILL_COOLDOWN:-5}
APISERVER_DOWN=${DRILL_APISERVER_DOWN:-15}  # seconds the API server stays down
OPERATOR_DOWN_WINDOW=${DRILL_OPERATOR_DOWN_WINDOW:-40} # seconds the rollout runs without an operator
OUT=${OUT:-$ROOT/e2e/results}
RUNS=$OUT/drills-runs
mkdir -p "$RUNS"
IPT_COMMENT="zdt-drill-traefik-api-down"
REC_PIDS=() LOADGEN=""

# Whatever happens, no iptables rule of ours and no stopped operator stays behind.
cleanup() {
  local spec
  while spec=$(iptables -S INPUT 2>/dev/null | grep -F -- "$IPT_COMMENT" | head -1) && [[ -n $spec ]]; do
    # shellcheck disable=SC2086
    iptables ${spec/-A /-D } || break
  done
  if [[ $(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.spec.replicas}' 2>/dev/null) == 0 ]]; then
    kubectl -n "$OPERATOR_NS" scale deploy "$RELEASE" --replicas=2 >/dev/null 2>&1 || true
  fi
  [[ -n $LOADGEN ]] && kill "$LOADGEN" 2>/dev/null || true
  ((${#REC_PIDS[@]} == 0)) || record_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_prepare
record_code "$RUNS/code.json"
OPERATOR_REPLICAS=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.spec.replicas}')
# Metrics are on the operator's management port, not the gate port, read with the scraper's token
# (METRICS_TOKEN, minted by bench_prepare).
MANAGEMENT_PORT=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" \
  -o jsonpath='{.spec.template.spec.containers[0].ports[?(@.name=="management")].containerPort}')
MANAGEMENT_PORT=${MANAGEMENT_PORT:-9000}

# --- helpers ---------------------------------------------------------------------------------
now() { date +%s%3N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
phase() { # phase <name>: a timestamped mark in the drill's record, and progress on the terminal
  printf '%s %s\n' "$(now)" "$1" >>"$DIR/phases.txt"
  printf '    %s  %s\n' "$(date +%T)" "$1" >&2
}
operator_pods() { # the operator replicas not being deleted: name and pod IP
  kubectl -n "$OPERATOR_NS" get pods -l app.kubernetes.io/name=zdt-operator \
    -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null |
    awk 'NF == 2'
}
follow_operator_log() { # follow_operator_log <pod>: its log until it is gone (a stopped replica's last words)
  (kubectl -n "$OPERATOR_NS" logs -f "$1" --since=10m >"$DIR/operator/$1.stopped.log" 2>/dev/null) &
}
# The Lease's holder identity: "<pod>_<process>" (a restarted container is a new process, a new
# identity); the pod is the part before the "_".
leader() { kubectl -n "$OPERATOR_NS" get lease zdt-operator-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
operator_pod_state() { # operator_pod_state <pod or Lease identity>: its phase, Terminating when it is being deleted, empty when gone
  [[ -n $1 ]] || return 0
  kubectl -n "$OPERATOR_NS" get pod "${1%%_*}" -o jsonpath='{.status.phase} {.metadata.deletionTimestamp}' 2>/dev/null |
    awk '{print (NF > 1 ? "Terminating" : $1)}' || true
}
holds_in_flight() { # holds_in_flight <pod ip>: the gauge on that replica, or "?" when it cannot be read
  { curl -fsS -m 3 -H "Authorization: Bearer $METRICS_TOKEN" "http://$1:$MANAGEMENT_PORT/q/metrics" 2>/dev/null || true; } | awk '/^zdt_gate_holds_in_flight/ {print int($2); f=1} END {if (!f) print "?"}'
}
# Which replica holds how many calls right now: "pod=N pod=N".
holds_by_replica() {
  local name ip out=""
  while read -r name ip; do
    [[ -n $ip ]] && out+="$name=$(holds_in_flight "$ip") "
  done < <(operator_pods)
  echo "${out% }"
}
operator_ready() { # every replica the Deployment wants is ready, and the gate Service has endpoints
  kubectl -n "$OPERATOR_NS" rollout status "deploy/$RELEASE" --timeout=300s >/dev/null
}
wait_terminating() { # wait_terminating <timeout s>: prints the first app pod with a deletionTimestamp
  local deadline=$(($(date +%s) + $1)) p
  while (($(date +%s) < deadline)); do
    p=$(kubectl -n "$NS" get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}' 2>/dev/null)
    [[ -n $p ]] && { echo "${p%% *}"; return 0; }
    sleep 0.2
  done
  return 1
}
patch_version() { # a rolling update v1 -> v2 of the ZeroDowntimeApp
  kubectl -n "$NS" patch zdt app --type json \
    -p '[{"op":"replace","path":"/spec/template/spec/containers/0/env/1/value","value":"'"$1"'"}]' >/dev/null
}
# Pods (the operator) cannot reach Traefik's API; the host's own samples of it and routing on
# :8081 keep working. cleanup() removes the rule on any exit.
TRAEFIK_API_RULE=(INPUT -i zdt0 -p tcp -d "$ZDT_NODE_IP" --dport "${ZDT_TRAEFIK_API_URL##*:}" -m comment --comment "$IPT_COMMENT" -j DROP)
traefik_api_block() { # traefik_api_block on|off
  if [[ $1 == on ]]; then
    iptables -I "${TRAEFIK_API_RULE[@]}"; phase "iptables -I ${TRAEFIK_API_RULE[*]}"
  else
    iptables -D "${TRAEFIK_API_RULE[@]}"; phase "iptables rule removed"
  fi
}
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# drill_begin <drill> <mode>: a fresh namespace, the app ready and routed, recording, load.
drill_begin() {
  NAME=$1 MODE=$2 NS="drill-$1" DIR="$RUNS/$1"
  say "drill $NAME ($MODE mode, load average $(loadavg))"
  rm -rf "$DIR" && mkdir -p "$DIR/logs" "$DIR/operator"
  LOAD_BEFORE=$(loadavg)
  EXTRA="{}" COMPLETE="" EXITED="" CHANGE_AT=""
  kubectl delete namespace "$NS" --ignore-not-found --wait=true >/dev/null
  kubectl create namespace "$NS" >/dev/null
  zdt_app "$NS" v1 "$MODE" "$REPLICAS" | kubectl apply -f - >/dev/null
  app_wait_ready "$NAME" "$NS" "$REPLICAS"
  record_start "$NS" "$DIR" resilient
  GEN_BEFORE=$(kubectl -n "$NS" get deploy app -o jsonpath='{.metadata.generation}')
  load_start "$NS" "$DIR"
  phase "load started"
  sleep "$WARMUP"
}

# drill_end: load off, every operator replica's holds in flight, the app's status and Events.
drill_end() {
  sleep "$COOLDOWN"
  touch "$DIR/stop"
  wait "$LOADGEN" || true
  LOADGEN=""
  record_stop
  operator_ready || say "the operator Deployment is not ready"
  local deadline=$(($(date +%s) + 60))
  while [[ -n $(kubectl -n "$OPERATOR_NS" get pods -l app.kubernetes.io/name=zdt-operator -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]] &&
    (($(date +%s) < deadline)); do sleep 1; done
  local name ip holds=""
  sleep 2 # a release being answered right now is not a leak
  while read -r name ip; do
    [[ -z $ip ]] && continue
    curl -fsS -m 5 -H "Authorization: Bearer $METRICS_TOKEN" "http://$ip:$MANAGEMENT_PORT/q/metrics" 2>/dev/null | grep -E '^zdt_(gate|drains)' >"$DIR/operator/$name.metrics" || true
    holds+="\"$name\": \"$(holds_in_flight "$ip")\", "
    kubectl -n "$OPERATOR_NS" logs "$name" --since-time="$(date -u -d @"$((DRILL_T0 / 1000))" +%FT%TZ)" 2>/dev/null |
      grep -vE 'DEBUG' | tail -n 200 >"$DIR/operator/$name.log" || true
  done < <(operator_pods)
  kubectl -n "$NS" get zdt app -o json >"$DIR/zdt.json"
  kubectl -n "$NS" get events -o json >"$DIR/events.json"
  kubectl -n "$NS" get pdb -o json >"$DIR/pdb.json" 2>/dev/null || true
  cat >"$DIR/meta.json" <<JSON
{"name": "$NAME", "mode": "$MODE", "namespace": "$NS", "replicas": $REPLICAS, "throttleSeconds": $THROTTLE,
 "rate": $RATE, "drillStartAtMs": $DRILL_T0, "changeAtMs": ${CHANGE_AT:-null},
 "deploymentCompleteAtMs": ${COMPLETE:-null}, "oldPodsExitedAtMs": ${EXITED:-null},
 "loadBefore": "$LOAD_BEFORE", "loadAfter": "$(loadavg)", "holdsInFlightAfter": {${holds%, }},
 "operatorReplicas": $OPERATOR_REPLICAS, "extra": $EXTRA}
JSON
  # Deleting the namespace drains its pods through the gate too: wait, so that the next drill
  # counts only its own holds.
  [[ -n $KEEP ]] || kubectl delete namespace "$NS" --wait=true --timeout=120s >/dev/null || say "namespace $NS still terminating"
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("    requests %d, failed %d %s" % (s["requests"], s["failed"], s["failedByKind"]))' "$DIR/summary.json" >&2
}

# --- the drills ------------------------------------------------------------------------------

# The leader is stopped while the first old pod is held: gracefully (kubectl delete pod: its
# preStop, then SIGTERM) or as a crash (kill -9 of its JVM from the host; the kubelet restarts
# the container). Another process must take the Lease through it; the gate must not lose a request.
drill_leader() { # drill_leader <delete|crash> [gate|exec]
  local how=$1 mode=${2:-gate} held victim before after cid pid restarts_before="" restarts_after=""
  drill_begin "leader-$how$([[ $mode == gate ]] || echo "-$mode")" "$mode"
  # After an operator upgrade the Lease may still name a replica that is gone, until a running one
  # takes it (the lease lasts 60 s).
  local wait_until=$(($(date +%s) + 120))
  before=$(leader)
  while [[ -z $before ]] || ! kubectl -n "$OPERATOR_NS" get pod "${before%%_*}" >/dev/null 2>&1; do
    (($(date +%s) < wait_until)) || die "no running replica holds the Lease zdt-operator-leader (holder: ${before:-none})"
    sleep 2
    before=$(leader)
  done
  # The worst moment: the leader itself holds a pod's preStop call. kube-proxy spreads the calls
  # over the replicas, so a rollout may pass without one on the leader: then another rollout,
  # three at most, and the leader goes anyway.
  victim=${before%%_*}
  local holds="" ip attempt=0 hit="" deadline state
  ip=$(kubectl -n "$OPERATOR_NS" get pod "$victim" -o jsonpath='{.status.podIP}')
  CHANGE_AT=$(now)
  while ((attempt < 3)) && [[ -z $hit ]]; do
    attempt=$((attempt + 1))
    phase "rolling update to v$((attempt + 1)) (leader $before)"
    patch_version "v$((attempt + 1))"
    held=$(wait_terminating 60) || die "$NAME: no pod started terminating"
    deadline=$(($(date +%s) + 40))
    while (($(date +%s) < deadline)); do
      [[ $(holds_in_flight "$ip") =~ ^[1-9] ]] && { hit=1; break; }
      state=$(kubectl -n "$NS" get deploy app -o jsonpath='{.status.updatedReplicas}/{.status.replicas}')
      [[ $state == "$REPLICAS/$REPLICAS" ]] &&
        [[ -z $(kubectl -n "$NS" get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}') ]] && break
      sleep 0.2
    done
  done
  holds=$(holds_by_replica)
  follow_operator_log "$victim"
  if [[ $how == delete ]]; then
    phase "kubectl delete pod $victim (holds in flight: $holds; first held pod $held)"
    kubectl -n "$OPERATOR_NS" delete pod "$victim" --wait=false >/dev/null
  else
    restarts_before=$(kubectl -n "$OPERATOR_NS" get pod "$victim" -o jsonpath='{.status.containerStatuses[0].restartCount}')
    cid=$(kubectl -n "$OPERATOR_NS" get pod "$victim" -o jsonpath='{.status.containerStatuses[0].containerID}')
    cid=${cid#containerd://}
    pid=$(ctr --address "$ZDT_CONTAINERD_SOCK" -n k8s.io task ls | awk -v c="$cid" '$1 == c {print $2}')
    [[ -n $pid ]] || die "$NAME: no task for container $cid"
    phase "kill -9 $pid, the JVM of $victim (holds in flight: $holds; first held pod $held)"
    kill -9 "$pid"
  fi
  local t_kill; t_kill=$(now)
  wait_done "$NS" "$GEN_BEFORE" "" 300 || phase "no completion within 300 s"
  phase "rollout done"
  # Pass criterion (analyze.py): another process than the one stopped (another Lease identity)
  # holds the Lease, running and not being deleted. The identity is per process:
  # after a crash the same pod's restarted container is a new candidate that, like the other
  # replica, must wait for the dead process's Lease to run out; whichever takes it, the record
  # names the pod and its restart count. The Lease lasts 60 s, so wait up to 90 s.
  local t_leader="" after_phase=""
  deadline=$(($(date +%s) + 90))
  while (($(date +%s) < deadline)); do
    after=$(leader)
    if [[ -n $after && $after != "$before" ]]; then
      after_phase=$(operator_pod_state "$after")
      [[ $after_phase == Running ]] && { t_leader=$(now); break; }
    fi
    sleep 0.5
  done
  [[ -n $t_leader ]] || after_phase=$(operator_pod_state "$after")
  if [[ $how == crash && -n $after && ${after%%_*} == "${before%%_*}" ]]; then
    restarts_after=$(kubectl -n "$OPERATOR_NS" get pod "${after%%_*}" -o jsonpath='{.status.containerStatuses[0].restartCount}' 2>/dev/null || true)
  fi
  phase "leader after: ${after:-none} (${after_phase:-no pod}$([[ -n $t_leader ]] || echo ", no other running replica took the Lease within 90 s"))"
  EXTRA=$(printf '{"how": "%s", "leaderBefore": "%s", "leaderAfter": "%s", "leaderAfterPhase": "%s", "killedAtMs": %s, "holdsAtKill": %s, "leaderHeldACall": %s, "firstTerminatingPod": "%s", "rollouts": %s, "leaderSeenAtMs": %s, "leaseTransitions": %s, "restartsBefore": %s, "leaderAfterRestarts": %s}' \
    "$how" "$before" "$after" "${after_phase:-}" "$t_kill" "$(json_str "$holds")" "${hit:-0}" "$held" "$attempt" "${t_leader:-null}" \
    "$(kubectl -n "$OPERATOR_NS" get lease zdt-operator-leader -o jsonpath='{.spec.leaseTransitions}')" \
    "${restarts_before:-null}" "${restarts_after:-null}")
  drill_end
}

# Every operator replica is down while the app rolls (kubectl rollout restart of its Deployment:
# without an operator nothing renders a ZeroDowntimeApp change), and then an app pod is deleted;
# the operator comes back afterwards. Failed requests are counted per phase.
drill_operator_down() { # drill_operator_down <gate|exec|sleep>
  local mode=$1 victim
  drill_begin "operator-down-$mode" "$mode"
  phase "operator scaled to 0"
  local t_scale; t_scale=$(now)
  kubectl -n "$OPERATOR_NS" scale deploy "$RELEASE" --replicas=0 >/dev/null
  # A stopping replica keeps its held calls for up to gate.shutdownHoldSeconds (120 s by default)
  # after its port closes: wait until none is left, or the drill would measure a half-down operator.
  kubectl -n "$OPERATOR_NS" wait --for=delete pod -l app.kubernetes.io/name=zdt-operator --timeout=200s >/dev/null 2>&1 ||
    die "$NAME: operator pods still there 200 s after scaling to 0"
  phase "no operator replica runs ($((($(now) - t_scale) / 1000)) s after scaling to 0)"
  local t_down; t_down=$(now)
  CHANGE_AT=$(now); phase "rollout-window: kubectl rollout restart deploy/app (no operator)"
  kubectl -n "$NS" rollout restart deploy/app >/dev/null
  sleep "$OPERATOR_DOWN_WINDOW"
  local state; state=$(kubectl -n "$NS" get deploy app -o jsonpath='updated {.status.updatedReplicas}, ready {.status.readyReplicas}, available {.status.availableReplicas}')
  phase "after ${OPERATOR_DOWN_WINDOW}s without operator: $state"
  # A serving pod: Ready and not being deleted (new pods may be held out of rotation).
  victim=$(kubectl -n "$NS" get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.metadata.deletionTimestamp}{"\n"}{end}' | awk '$2 == "True" && NF == 2 {print $1; exit}')
  local t_delete; t_delete=$(now)
  phase "delete-window: kubectl delete pod $victim (no operator)"
  kubectl -n "$NS" delete pod "$victim" --wait=false >/dev/null
  sleep 25
  local t_restore; t_restore=$(now)
  phase "restore: operator scaled to $OPERATOR_REPLICAS"
  kubectl -n "$OPERATOR_NS" scale deploy "$RELEASE" --replicas="$OPERATOR_REPLICAS" >/dev/null
  operator_ready
  phase "operator ready"
  wait_done "$NS" "$GEN_BEFORE" "" 300 || phase "no completion within 300 s"
  phase "rollout done"
  local hooks
  hooks=$(kubectl -n "$NS" get events -o json | python3 -c 'import json,sys; print(sum(e.get("count",1) or 1 for e in json.load(sys.stdin)["items"] if e.get("reason")=="FailedPreStopHook"))')
  EXTRA=$(printf '{"scaledToZeroAtMs": %s, "operatorDownAtMs": %s, "deleteAtMs": %s, "restoreAtMs": %s, "deletedPod": "%s", "stateWithoutOperator": %s, "failedPreStopHookEvents": %s}' \
    "$t_scale" "$t_down" "$t_delete" "$t_restore" "$victim" "$(json_str "$state")" "$hooks")
  drill_end
}

# Exec mode with the operator running: each old pod's preStop script calls the gate for its own
# pod (wget in the image); the gate holds and releases it, rather than the script sleeping the hold.
drill_exec_rollout() {
  drill_begin exec-rollout exec
  CHANGE_AT=$(now); phase "rolling update v1 -> v2"
  patch_version v2
  wait_done "$NS" "$GEN_BEFORE" "$OLD_PODS" 300 || phase "no completion within 300 s"
  phase "rollout done"
  drill_end
}

# Traefik's API does not answer the operator (an iptables DROP of pod traffic to 10.244.0.1:8082;
# routing on :8081, and the host's own view of the API for the record, keep working) during a
# rollout: every hold must end by its bound, releasedBy Timeout, with an Event.
drill_traefik_api_down() {
  drill_begin traefik-api-down gate
  traefik_api_block on
  CHANGE_AT=$(now); phase "rolling update v1 -> v2"
  patch_version v2
  wait_done "$NS" "$GEN_BEFORE" "$OLD_PODS" 300 || phase "no completion within 300 s"
  phase "rollout done"
  traefik_api_block off
  EXTRA=$(printf '{"rule": %s}' "$(json_str "iptables -I ${TRAEFIK_API_RULE[*]}")")
  drill_end
}

# The API server stops while the first old pod is held, stays down APISERVER_DOWN seconds and
# starts again (etcd and everything else keep running).
drill_apiserver_restart() {
  drill_begin apiserver-restart gate
  CHANGE_AT=$(now); phase "rolling update v1 -> v2"
  patch_version v2
  local held; held=$(wait_terminating 60) || die "$NAME: no pod started terminating"
  local t_stop; t_stop=$(now)
  phase "kube-apiserver stopped for ${APISERVER_DOWN}s (first held pod $held)"
  (while :; do printf '%s %s\n' "$(now)" "$(curl -sk -m 1 -o /dev/null -w '%{http_code}' https://127.0.0.1:6443/readyz)"; sleep 0.5; done) >"$DIR/apiserver-readyz.txt" &
  local readyz=$!
  "$CLUSTER" restart-apiserver "$APISERVER_DOWN" >"$DIR/restart-apiserver.log" 2>&1
  local t_start; t_start=$(now)
  phase "kube-apiserver ready again"
  record_reconnect # kubectl's watch and log streams hang on the old connection
  wait_done "$NS" "$GEN_BEFORE" "$OLD_PODS" 300 || phase "no completion within 300 s"
  phase "rollout done"
  kill_tree "$readyz"
  local unready
  unready=$(awk '$2 != "200" {n++} END {printf "%.1f", n * 0.5}' "$DIR/apiserver-readyz.txt")
  EXTRA=$(printf '{"apiserverStoppedAtMs": %s, "apiserverReadyAtMs": %s, "downSeconds": %s, "readyzNot200Seconds": %s}' "$t_stop" "$t_start" "$APISERVER_DOWN" "$unready")
  drill_end
}

# What `kubectl drain` does: an Eviction for every app pod at once, each retried on 429 (the
# PDB allows one pod at a time) every second until it is accepted.
drill_eviction() {
  drill_begin eviction gate
  CHANGE_AT=$(now); phase "evicting $OLD_PODS"
  local p
  for p in $OLD_PODS; do
    (n429=0
     while :; do
       out=$(kubectl create --raw "/api/v1/namespaces/$NS/pods/$p/eviction" -f - 2>&1 <<JSON
{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "$p", "namespace": "$NS"}}
JSON
) && { printf '%s %s evicted after %d refusals\n' "$(now)" "$p" "$n429" >>"$DIR/evictions.txt"; break; }
       if [[ $out == *TooManyRequests* || $out == *"disruption budget"* ]]; then
         n429=$((n429 + 1)); printf '%s %s 429\n' "$(now)" "$p" >>"$DIR/evictions.txt"
       else
         printf '%s %s error %s\n' "$(now)" "$p" "$(tr '\n' ' ' <<<"$out")" >>"$DIR/evictions.txt"
       fi
       sleep 1
     done) &
  done
  wait_done "$NS" "$GEN_BEFORE" "$OLD_PODS" 300 any || phase "no completion within 300 s"
  phase "every evicted pod exited, replacements available"
  EXTRA=$(python3 -c 'import json,sys
lines=[l.split() for l in open(sys.argv[1])]
print(json.dumps({"refusals429": sum(1 for l in lines if l[2]=="429"),
                  "evicted": [l[1] for l in lines if l[2]=="evicted"],
                  "errors": sum(1 for l in lines if l[2]=="error")}))' "$DIR/evictions.txt")
  drill_end
}

# An operator replica is restarted (kubectl delete pod: what a rollout restart or helm upgrade
# does to each replica) while it holds a draining pod's preStop call.
drill_operator_restart_draining() {
  drill_begin operator-restart-draining gate
  # Holds normally end within 5-10 s, often before a stopped replica's own 5 s preStop is over;
  # with Traefik's API out of the operator's reach every hold lasts its full bound (15 s), so
  # the replica is stopped while it still holds, every time.
  traefik_api_block on
  CHANGE_AT=$(now); phase "rolling update v1 -> v2"
  patch_version v2
  local deadline=$(($(date +%s) + 60)) victim="" name ip h holds=""
  while [[ -z $victim ]] && (($(date +%s) < deadline)); do
    while read -r name ip; do
      [[ -z $ip ]] && continue
      h=$(holds_in_flight "$ip")
      [[ $h =~ ^[0-9]+$ ]] && ((h > 0)) && { victim=$name; holds="$name=$h"; break; }
    done < <(operator_pods)
    sleep 0.2
  done
  [[ -n $victim ]] || die "$NAME: no operator replica held a call"
  local t_restart; t_restart=$(now)
  follow_operator_log "$victim"
  phase "kubectl delete pod $victim while it holds $holds call(s)"
  kubectl -n "$OPERATOR_NS" delete pod "$victim" --wait=false >/dev/null
  wait_done "$NS" "$GEN_BEFORE" "$OLD_PODS" 300 || phase "no completion within 300 s"
  phase "rollout done"
  traefik_api_block off
  EXTRA=$(printf '{"restartedReplica": "%s", "holdsAtRestart": "%s", "restartAtMs": %s}' "$victim" "$holds" "$t_restart")
  drill_end
}

# --- run -------------------------------------------------------------------------------------
run_drill() {
  DRILL_T0=$(now)
  case $1 in
    leader-delete) drill_leader delete ;;
    leader-crash) drill_leader crash ;;
    leader-crash-exec) drill_leader crash exec ;;
    operator-down-gate) drill_operator_down gate ;;
    operator-down-exec) drill_operator_down exec ;;
    operator-down-sleep) drill_operator_down sleep ;;
    exec-rollout) drill_exec_rollout ;;
    traefik-api-down) drill_traefik_api_down ;;
    apiserver-restart) drill_apiserver_restart ;;
    eviction) drill_eviction ;;
    operator-restart-draining) drill_operator_restart_draining ;;
    *) die "unknown drill $1 (drills: $ALL)" ;;
  esac
}

# After an operator upgrade the new replicas wait out the old leader's Lease (60 s) before one
# reconciles; a drill's app would find no Deployment until then.
wait_until=$(($(date +%s) + 150))
until [[ $(operator_pod_state "$(leader)") == Running ]]; do
  (($(date +%s) < wait_until)) || die "no running replica holds the Lease zdt-operator-leader (holder: $(leader))"
  sleep 2
done

START=$(date +%s)
IFS=, read -r -a list <<<"$DRILLS"
for d in "${list[@]}"; do
  operator_ready
  run_drill "$d"
done
say "drills done in $(($(date +%s) - START)) s; checking"
status=0
PYTHONPATH="$ROOT" python3 -m e2e.drills.analyze --runs "$RUNS" --out "$OUT" --drills "$DRILLS" --wall "$(($(date +%s) - START))" || status=$?
# The raw record is committed compressed (analyze.py reads either form).
for d in "${list[@]}"; do
  for f in requests.csv pods.json traefik.txt events.json operator/*.log logs/*.log; do
    for g in "$RUNS/$d"/$f; do [[ -f $g ]] && gzip -f "$g"; done
  done
done
exit "$status"
