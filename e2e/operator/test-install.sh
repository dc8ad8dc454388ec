#!/usr/bin/env bash
# The install paths users take, on the real cluster: helm install (2 replicas Ready) with both images
# pulled from the cluster's registry, health and metrics, leader failover, helm upgrade, helm
# uninstall (CRD and apps stay), and install again.
# Timings go to a scratch file; to re-record the committed ones, run it with
# INSTALL_RESULTS=e2e/results/install.json (make test must not rewrite a committed result).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RESULTS=${INSTALL_RESULTS:-${TMPDIR:-/tmp}/zdt-install.json}
APP_NS=zdt-install-test
check() { printf '  ok: %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

wait_for() { # wait_for <seconds> <command...>
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.5
  done
}
# The images come from the cluster's registry (install.sh's default, ZDT_IMAGE_SOURCE=registry), and
# the test proves containerd pulled them: each is first removed from containerd, so the kubelet must
# pull it again, and the pod's Events must say "Successfully pulled image" with the registry's
# reference. That fails when containerd cannot pull it (registry down or unreachable, image not
# pushed: the pods stay in ErrImagePull and install.sh or the wait below times out), when the pods
# run another image (the chart not given the registry's repository), or when the image was still in
# containerd and nothing was pulled (the Event then says "already present on machine").
from_registry=0
[[ ${ZDT_IMAGE_SOURCE:-registry} == registry ]] && from_registry=1
registry_refs() { # registry_refs <repo>: every reference of that repository in containerd, by tag or digest
  ctr --address "$ZDT_CONTAINERD_SOCK" -n k8s.io images ls -q | grep -E "^${1//./\\.}[:@]" || true
}
forget_image() { # forget_image <ref>: out of containerd, by tag and by digest (running containers keep theirs);
  # a digest reference left behind (repo@sha256:...) lets the kubelet find the image "already present"
  local repo=${1%:*} refs
  refs=$(registry_refs "$repo")
  if [[ -n $refs ]]; then
    # shellcheck disable=SC2086
    ctr --address "$ZDT_CONTAINERD_SOCK" -n k8s.io images rm $refs >/dev/null 2>&1 || true
  fi
  [[ -z $(registry_refs "$repo") ]] || die "could not remove $1 from containerd"
  date -u +%FT%TZ
}
# pulled_since <ref> <time>: a Pulled Event anywhere, at or after <time>, says the kubelet pulled that
# image (judged cluster-wide: another pod started at the same moment may be the one that pulled it,
# and this one then finds the image "already present")
pulled_since() {
  kubectl get events -A --field-selector reason=Pulled -o json |
    jq -e --arg ref "$1" --arg since "$2" '[.items[]
      | select((.lastTimestamp // .eventTime // "") >= $since)
      | select(.message | startswith("Successfully pulled image \"" + $ref + "\""))] | length > 0'
}
pulled_messages() { # pulled_messages [namespace]: what the Pulled Events there say, for an error message
  kubectl ${1:+-n "$1"} get events --field-selector reason=Pulled -o jsonpath='{.items[*].message}'
}
operator_ref=$(registry_ref operator)
helper_ref=$(registry_ref helper)

# 1. install (a fresh one: an operator already running from its image would pull nothing)
if ((from_registry)); then
  helm status "$RELEASE" -n "$OPERATOR_NS" >/dev/null 2>&1 && helm uninstall "$RELEASE" -n "$OPERATOR_NS" --wait >/dev/null
  operator_forgot_at=$(forget_image "$operator_ref")
fi
t=$(now)
"$ROOT/e2e/operator/install.sh"
install_s=$(since "$t")
ready=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.status.readyReplicas}')
[[ $ready == 2 ]] || die "expected 2 ready operator replicas, found $ready"
check "2 operator replicas Ready ${install_s}s after helm upgrade --install (image build included)"
if ((from_registry)); then
  wait_for 30 pulled_since "$operator_ref" "$operator_forgot_at" ||
    die "no Event since $operator_forgot_at says 'Successfully pulled image \"$operator_ref\"': $(pulled_messages "$OPERATOR_NS")"
  check "containerd pulled $operator_ref from the cluster's registry (the pod's Events)"
fi

# 2. health and metrics, through the metrics Service's ClusterIP on the management port (kube-proxy
#    makes it reachable here; retried because a replaced operator pod can linger in kube-proxy's rules
#    for a moment); the gate Service, which every pod and node reaches, serves neither
ip=$(kubectl -n "$OPERATOR_NS" get svc "$RELEASE-metrics" -o jsonpath='{.spec.clusterIP}')
port=$(kubectl -n "$OPERATOR_NS" get svc "$RELEASE-metrics" -o jsonpath='{.spec.ports[0].port}')
# (read the whole answer before matching: `curl | grep -q` would end curl with SIGPIPE, and retry it)
get() { curl -fsS --connect-timeout 3 --retry 10 --retry-all-errors "$@"; }
health=$(get "http://$ip:$port/q/health/ready") || die "/q/health/ready does not answer"
grep -q '"status": *"UP"' <<<"$health" || die "/q/health/ready is not UP: $health"
check "/q/health/ready is UP without credentials (management port $port)"
# /q/metrics answers only a token whose user may get it (TokenReview, SubjectAccessReview): 401
# without one, 403 for a ServiceAccount without the ClusterRole $RELEASE-metrics-reader, 200 for one
# bound to it (e2e/lib/metrics.sh; the operator may remember a refusal for 10 s, which the retries outlast)
status_of() { curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 3 --retry 10 "$@" || true; }
code=$(status_of "http://$ip:$port/q/metrics")
[[ $code == 401 ]] || die "/q/metrics without a token answers $code, expected 401"
code=$(status_of -H "Authorization: Bearer $(kubectl -n "$OPERATOR_NS" create token default --duration 10m)" \
  "http://$ip:$port/q/metrics")
[[ $code == 403 ]] || die "/q/metrics with the token of $OPERATOR_NS/default (not a metrics reader) answers $code, expected 403"
metrics=$(get -H "Authorization: Bearer $(metrics_token)" "http://$ip:$port/q/metrics") ||
  die "/q/metrics does not answer the token of a ServiceAccount bound to $RELEASE-metrics-reader"
grep -q '^jvm_memory_used_bytes' <<<"$metrics" || die "/q/metrics has no JVM metrics"
check "/q/metrics: 401 without a token, 403 for a ServiceAccount without $RELEASE-metrics-reader, Prometheus text for one bound to it"
gate=$(kubectl -n "$OPERATOR_NS" get svc "$RELEASE-gate" -o jsonpath='{.spec.clusterIP}:{.spec.ports[0].port}')
[[ $(kubectl -n "$OPERATOR_NS" get svc "$RELEASE-gate" -o jsonpath='{.spec.ports[*].name}') == gate ]] ||
  die "the gate Service exposes more than the gate port"
code=$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 3 --retry 10 --retry-all-errors "http://$gate/q/metrics") || true
[[ $code == 404 ]] || die "the gate Service answers /q/metrics with $code, expected 404"
check "the gate Service exposes only the gate: /q/metrics there is 404"

# 3. the operator reconciles: an app gets its Deployment
kubectl create namespace "$APP_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
app() { # app <name> <mode>
  cat <<YAML | kubectl -n "$APP_NS" apply -f - >/dev/null
apiVersion: zdt.dev/v1alpha1
kind: ZeroDowntimeApp
metadata:
  name: $1
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: localhost/demo-app:dev
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 8080}]
  traffic: {provider: traefik}
  drain: {mode: $2, maxRequestSeconds: 5, shutdownSeconds: 2}
YAML
}
"$CLUSTER" image demo-app >/dev/null
app before-failover sleep
# After a helm upgrade the new replicas wait out the old leader's Lease (60 s) before one reconciles.
wait_for 120 kubectl -n "$APP_NS" get deploy before-failover || die "no Deployment for app before-failover"
check "a ZeroDowntimeApp gets its Deployment"

# 3b. a namespace that enforces Pod Security restricted refuses a template that does not meet it:
#     the app names the refused pods with the API server's own message (PodsNotCreated)
PSA_NS=zdt-install-restricted
kubectl create namespace "$PSA_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$PSA_NS" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
APP_NS=$PSA_NS app refused gate
degraded() {
  kubectl -n "$PSA_NS" get zdt refused -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason} {.status.conditions[?(@.type=="Degraded")].message}'
}
refused() { [[ $(degraded) == PodsNotCreated* ]]; }
wait_for 120 refused ||
  die "no PodsNotCreated for a template refused by Pod Security restricted: $(degraded)"
grep -q 'violates PodSecurity "restricted:latest"' <<<"$(degraded)" || die "PodsNotCreated without the API server's message: $(degraded)"
kubectl -n "$PSA_NS" get events --field-selector reason=PodsNotCreated -o name | grep -q . ||
  die "no PodsNotCreated Event"
check "restricted namespace: the refused pods are named ($(degraded | cut -c1-140)...)"
kubectl delete namespace "$PSA_NS" --wait=false >/dev/null

# 4. leader failover: delete the Lease holder, time until another replica holds it and reconciles
lease=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="ZDT_LEADER_ELECTION_LEASE_NAME")].value}')
leader=$(kubectl -n "$OPERATOR_NS" get lease "$lease" -o jsonpath='{.spec.holderIdentity}')
[[ -n $leader ]] || die "no holder of Lease $lease"
t=$(now)
# The holder identity is "<pod>_<process>": the pod is the part before the "_".
kubectl -n "$OPERATOR_NS" delete pod "${leader%%_*}" --wait=false >/dev/null
new_leader() {
  local h
  h=$(kubectl -n "$OPERATOR_NS" get lease "$lease" -o jsonpath='{.spec.holderIdentity}')
  [[ -n $h && $h != "$leader" ]]
}
wait_for 120 new_leader || die "no new leader within 120 s"
failover_s=$(since "$t")
app after-failover sleep
wait_for 120 kubectl -n "$APP_NS" get deploy after-failover || die "the new leader does not reconcile"
reconcile_s=$(since "$t")
check "leader $leader deleted: new leader after ${failover_s}s, reconciling a new app ${reconcile_s}s after the kill"

# 5. helm upgrade (a changed value rolls the operator; both replicas Ready again), and the leader
#    hands over in seconds: a leader stopped gracefully gives its Lease back instead of letting it run
#    out (60 s). A poller notes, every ~0.5 s, the Lease's holder and whether that pod is stopping
#    (deletionTimestamp set) or gone; a handover is from the first poll that saw the holder stopping,
#    gone or the Lease free, to the first poll that saw another holder. Every handover the rolling
#    update causes is judged (the old leader's, and an old standby's if it took over meanwhile).
lease_watch() {
  local h d
  while :; do
    h=$(kubectl -n "$OPERATOR_NS" get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) || h=""
    d=-
    if [[ -n $h ]]; then
      if d=$(kubectl -n "$OPERATOR_NS" get pod "${h%%_*}" -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null); then
        d=${d:-live}
      else
        d=gone
      fi
    fi
    printf '%s %s %s\n' "$(now)" "${h:--}" "$d"
    sleep 0.3
  done
}
lease_log=$(mktemp)
lease_watch >"$lease_log" &
watcher=$!
helm upgrade "$RELEASE" "$ROOT/deploy/helm/zdt-operator" -n "$OPERATOR_NS" --reuse-values --set logLevel=DEBUG \
  --wait --timeout 5m >/dev/null
kubectl -n "$OPERATOR_NS" rollout status "deploy/$RELEASE" --timeout=5m >/dev/null
check "helm upgrade rolled the operator"
new_revision_leads() { # the holder is one of the Deployment's current pods, running
  local h
  h=$(kubectl -n "$OPERATOR_NS" get lease "$lease" -o jsonpath='{.spec.holderIdentity}')
  h=${h%%_*}
  [[ -n $h ]] && [[ -z $(kubectl -n "$OPERATOR_NS" get pod "$h" -o jsonpath='{.metadata.deletionTimestamp}') ]] &&
    [[ $(kubectl -n "$OPERATOR_NS" get pod "$h" -o jsonpath='{.metadata.labels.pod-template-hash}') == \
       $(kubectl -n "$OPERATOR_NS" get rs -l "app.kubernetes.io/instance=$RELEASE" -o json |
         jq -r '[.items[] | select(.spec.replicas > 0)][0].metadata.labels["pod-template-hash"]') ]]
}
wait_for 120 new_revision_leads || die "no pod of the upgraded operator holds Lease $lease: $(tail -n 3 "$lease_log")"
sleep 1
kill "$watcher" && wait "$watcher" 2>/dev/null || true
handovers=$(awk '
  { t = $1; h = $2; d = $3 }
  h != "-" && h != cur {
    if (cur != "") { if (stop == "") stop = t; printf "%s %s %.1f\n", cur, h, t - stop }
    cur = h; stop = ""
  }
  stop == "" && cur != "" && (h == "-" || d != "live") { stop = t }
' "$lease_log")
rm -f "$lease_log"
[[ -n $handovers ]] || die "the upgrade replaced every operator pod, yet no handover of Lease $lease was seen"
handover_s=$(awk 'BEGIN { m = 0 } $3 > m { m = $3 } END { printf "%.1f", m }' <<<"$handovers")
awk -v m="$handover_s" 'BEGIN { exit !(m < 15) }' ||
  die "a leader handover during helm upgrade took ${handover_s}s (limit 15 s): $(tr '\n' ';' <<<"$handovers")"
check "helm upgrade: the Lease changed hands $(wc -l <<<"$handovers") time(s), the longest ${handover_s}s from the holder stopping to the next holder ($(awk '{printf "%s%.1fs", (NR > 1 ? ", " : ""), $3}' <<<"$handovers"))"

# 6. helm uninstall keeps the CRD and the apps' workloads, and leaves no webhook behind (a leftover
#    mutating webhook would slow, or with failurePolicy Fail block, pod creation where it applied)
webhook_secret="$RELEASE-webhook-tls"
wait_for 60 kubectl -n "$OPERATOR_NS" get secret "$webhook_secret" || die "the operator made no webhook certificate"
helm uninstall "$RELEASE" -n "$OPERATOR_NS" --wait >/dev/null
[[ -z $(kubectl get mutatingwebhookconfigurations -o name | grep "/$RELEASE\$") ]] \
  || die "the MutatingWebhookConfiguration $RELEASE outlived the release"
secret_gone() { ! kubectl -n "$OPERATOR_NS" get secret "$webhook_secret" >/dev/null 2>&1; }
wait_for 60 secret_gone || die "the webhook's certificate Secret outlived its configuration"
check "helm uninstall removed the webhook configuration and its certificate Secret"
kubectl get crd zerodowntimeapps.zdt.dev >/dev/null || die "the CRD went away with the release"
kubectl -n "$APP_NS" get zdt before-failover >/dev/null || die "the app went away with the release"
kubectl -n "$APP_NS" get deploy before-failover >/dev/null || die "the app's Deployment went away with the release"
check "helm uninstall kept the CRD, the apps and their Deployments"

# 6b. a namespaced install (watchNamespaces): the operator may act in the watched namespace only;
#     every ClusterRole bound to it names the objects it may touch (the CRD for the startup check,
#     its own webhook configuration), but for create on TokenReviews and SubjectAccessReviews (which
#     are not stored, so have no name); an app there is reconciled, an app elsewhere is not
NS_WATCHED=zdt-install-watched NS_OTHER=zdt-install-other
for ns in "$NS_WATCHED" "$NS_OTHER"; do
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
"$ROOT/e2e/operator/install.sh" --set "watchNamespaces={$NS_WATCHED}" >/dev/null
sa=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.spec.template.spec.serviceAccountName}')
as=(--as="system:serviceaccount:$OPERATOR_NS:$sa")
[[ $(kubectl auth can-i create deployments -n "$NS_WATCHED" "${as[@]}") == yes ]] ||
  die "namespaced install: the operator may not create Deployments in its watched namespace $NS_WATCHED"
for verb in "list deployments" "create deployments" "list pods" "list zerodowntimeapps.zdt.dev"; do
  # shellcheck disable=SC2086
  [[ $(kubectl auth can-i $verb -n "$NS_OTHER" "${as[@]}" || true) == no ]] ||
    die "namespaced install: the operator may $verb in $NS_OTHER, which it does not watch"
done
[[ $(kubectl auth can-i create deployments -n kube-system "${as[@]}" || true) == no ]] ||
  die "namespaced install: the operator may create Deployments in kube-system"
unnamed=$(kubectl get clusterrolebindings -o json | python3 -c '
import json, subprocess, sys
ns, sa = sys.argv[1], sys.argv[2]
bound = [b["roleRef"]["name"] for b in json.load(sys.stdin)["items"]
         if b["roleRef"]["kind"] == "ClusterRole"
         and any(s.get("kind") == "ServiceAccount" and s.get("name") == sa and s.get("namespace") == ns
                 for s in b.get("subjects") or [])]
for name in bound:
    role = json.loads(subprocess.check_output(["kubectl", "get", "clusterrole", name, "-o", "json"]))
    for rule in role.get("rules") or []:
        if not rule.get("resourceNames") and not (rule.get("resources") in (["tokenreviews"], ["subjectaccessreviews"])
                                                   and rule.get("verbs") == ["create"]):
            print(f"{name}: {rule}")
print("bound:", " ".join(bound), file=sys.stderr)' "$OPERATOR_NS" "$sa" 2>/tmp/zdt-namespaced-bound.txt)
[[ -z $unnamed ]] || die "namespaced install: ClusterRole rules that name no object: $unnamed"
APP_NS=$NS_WATCHED app watched sleep
APP_NS=$NS_OTHER app elsewhere sleep
wait_for 120 kubectl -n "$NS_WATCHED" get deploy watched || die "namespaced install: no Deployment for the watched app"
kubectl -n "$NS_OTHER" get deploy elsewhere >/dev/null 2>&1 && die "namespaced install: an app outside the watched namespace got a Deployment"
[[ -z $(kubectl -n "$NS_OTHER" get zdt elsewhere -o jsonpath='{.status}') ]] ||
  die "namespaced install: an app outside the watched namespace got a status"
check "namespaced install: reconciles $NS_WATCHED only, may not list or create in $NS_OTHER or kube-system; cluster-wide rules only by name or create on tokenreviews and subjectaccessreviews ($(sed 's/^bound: //' /tmp/zdt-namespaced-bound.txt))"
helm uninstall "$RELEASE" -n "$OPERATOR_NS" --wait >/dev/null
kubectl delete namespace "$NS_WATCHED" "$NS_OTHER" --wait=false >/dev/null

# 7. install again (the rest of the suite needs the operator); it adopts the existing apps
"$ROOT/e2e/operator/install.sh" >/dev/null
check "installed again"

# 8. the drain helper reaches the apps' pods from the registry too: a gate-mode app's init container
#    (which copies the helper in) runs it after the image was removed from containerd, so containerd
#    must pull it again (judged cluster-wide: a reinstall rolls the other gate-mode apps too).
if ((from_registry)); then
  # A new app and so a new pod (one left by an earlier, interrupted run would not start again).
  kubectl -n "$APP_NS" delete zdt helper-pull --ignore-not-found --wait=true >/dev/null
  gone() { [[ -z $(kubectl -n "$APP_NS" get pods -o name | grep '^pod/helper-pull-') ]]; }
  wait_for 120 gone || die "the pods of an earlier helper-pull app did not go away"
  forgot_at=$(forget_image "$helper_ref")
  app helper-pull gate
  helper_pod() { kubectl -n "$APP_NS" get pods -o name | sed -n 's|^pod/\(helper-pull-.*\)|\1|p' | head -n 1; }
  helper_copied() {
    [[ $(kubectl -n "$APP_NS" get pod "$(helper_pod)" -o jsonpath='{.status.initContainerStatuses[0].state.terminated.reason}') == Completed ]]
  }
  wait_for 120 helper_copied || die "the gate-mode app's init container did not complete: $(kubectl -n "$APP_NS" get pods -o wide)"
  [[ $(kubectl -n "$APP_NS" get pod "$(helper_pod)" -o jsonpath='{.spec.initContainers[0].image}') == "$helper_ref" ]] ||
    die "the gate-mode pod's init container does not run $helper_ref"
  wait_for 30 pulled_since "$helper_ref" "$forgot_at" ||
    die "no Event since $forgot_at says 'Successfully pulled image \"$helper_ref\"': $(pulled_messages "$APP_NS")"
  check "containerd pulled $helper_ref from the cluster's registry for a gate-mode app's init container"
fi
kubectl -n "$APP_NS" delete zdt --all --wait=true >/dev/null
kubectl delete namespace "$APP_NS" --wait=false >/dev/null

mkdir -p "$(dirname "$RESULTS")"
cat >"$RESULTS" <<JSON
{
  "installSecondsIncludingImageBuild": $install_s,
  "leaderFailoverSeconds": $failover_s,
  "reconcileAfterLeaderKillSeconds": $reconcile_s,
  "upgradeLeaderHandoverSeconds": $handover_s,
  "measuredAt": "$(date -u +%FT%TZ)"
}
JSON
echo "results: $RESULTS"
