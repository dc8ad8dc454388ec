# shellcheck shell=bash
# `zdt-cluster smoke`: proves the full node works the way the benchmark will use it:
# a plain Deployment + Service + Ingress answers through Traefik from the host, the Service's
# ClusterIP answers from the host (kube-proxy), Traefik's API lists the service and is
# reachable on the address pods use, and `kubectl logs` reaches the kubelet.

SMOKE_NS=zdt-smoke
SMOKE_HOST=smoke.zdt.test

smoke_fail() {
  printf '%s[zdt-cluster] SMOKE FAILED:%s %s\n' "$R" "$N" "$*" >&2
  { kubectl_admin -n "$SMOKE_NS" get deploy,rs,pods,svc,endpointslices,ingress -o wide 2>&1
    kubectl_admin -n "$SMOKE_NS" get events --sort-by=.lastTimestamp 2>&1 | tail -n 25; } >&2 || true
  exit 1
}

smoke_cleanup() {
  kubectl_admin delete namespace "$SMOKE_NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1 ||
    warn "namespace $SMOKE_NS was not deleted in time"
}

# retry <seconds> <command...>: like wait_for, but keeps the last output for the message.
smoke_curl_until() {
  local timeout=$1 expect=$2; shift 2
  local deadline=$(( $(date +%s) + timeout )) out=""
  while (( $(date +%s) < deadline )); do
    out=$(curl -sS --max-time 3 "$@" 2>&1) && [[ $out == *"$expect"* ]] && { echo "$out"; return 0; }
    sleep 0.5
  done
  echo "$out"
  return 1
}

cmd_smoke() {
  local t0 out ip pods
  t0=$(now_ms)
  for c in kube-apiserver kubelet kube-proxy containerd traefik; do
    is_running "$c" || die "the full cluster is not up ($c is not running): run 'zdt-cluster up' first"
  done
  node_ready || die "node $NODE_NAME is not Ready"
  ensure_image demo-app
  ensure_image busybox

  smoke_cleanup
  trap smoke_cleanup EXIT
  say "smoke: deploying demo-app (2 replicas) + Service + Ingress in namespace $SMOKE_NS"
  kubectl_admin create namespace "$SMOKE_NS" >/dev/null
  kubectl_admin -n "$SMOKE_NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-app
spec:
  replicas: 2
  selector:
    matchLabels: {app: demo-app}
  template:
    metadata:
      labels: {app: demo-app}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: localhost/demo-app:dev
        imagePullPolicy: Never
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - {name: PORT, value: "8080"}
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
        resources:
          requests: {cpu: 50m, memory: 64Mi}
          limits: {memory: 256Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: demo-app
spec:
  selector: {app: demo-app}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: demo-app
spec:
  ingressClassName: traefik
  rules:
  - host: $SMOKE_HOST
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: demo-app
            port: {name: http}
EOF
  kubectl_admin -n "$SMOKE_NS" rollout status deployment/demo-app --timeout=120s >/dev/null ||
    smoke_fail "the Deployment did not become available in 120s"
  pods=$(kubectl_admin -n "$SMOKE_NS" get pods -l app=demo-app -o jsonpath='{.items[*].metadata.name}')
  say "smoke: pods ready ($pods) after $(elapsed "$t0")"

  ip=$(kubectl_admin -n "$SMOKE_NS" get service demo-app -o jsonpath='{.spec.clusterIP}')
  out=$(smoke_curl_until 20 demo-app- "http://$ip/") ||
    smoke_fail "ClusterIP http://$ip/ did not answer with a pod name from the host: $out"
  say "smoke: ClusterIP $ip answers from the host: $out"

  out=$(smoke_curl_until 60 demo-app- -H "Host: $SMOKE_HOST" "http://127.0.0.1:$TRAEFIK_WEB_PORT/") ||
    smoke_fail "Traefik http://127.0.0.1:$TRAEFIK_WEB_PORT/ (Host: $SMOKE_HOST) did not route to the app: $out"
  say "smoke: Ingress answers through Traefik at 127.0.0.1:$TRAEFIK_WEB_PORT: $out"

  # Traefik applies endpoint changes after its throttle: wait until its API lists both pods.
  local n deadline=$(( $(date +%s) + 30 ))
  while :; do
    out=$(curl -fsS --max-time 3 "http://$NODE_IP:$TRAEFIK_API_PORT/api/http/services" 2>&1) || out=""
    n=$(jq --arg n "$SMOKE_NS-demo-app-http@kubernetes" \
          '[.[] | select(.name == $n) | .loadBalancer.servers[]] | length' <<<"${out:-[]}" 2>/dev/null || echo 0)
    [[ $n == 2 ]] && break
    (( $(date +%s) < deadline )) ||
      smoke_fail "Traefik API http://$NODE_IP:$TRAEFIK_API_PORT/api/http/services does not list $SMOKE_NS-demo-app-http@kubernetes with 2 servers: ${out:-no answer}"
    sleep 0.5
  done
  say "smoke: Traefik API lists $SMOKE_NS-demo-app-http@kubernetes with 2 servers"

  # Several requests: both replicas must be reached (Traefik balances over the endpoints).
  local seen="" i
  for i in $(seq 1 20); do
    seen+=$(curl -sS --max-time 3 -H "Host: $SMOKE_HOST" "http://127.0.0.1:$TRAEFIK_WEB_PORT/" | grep -o 'demo-app-[a-z0-9-]*' | head -n1)$'\n'
  done
  (( $(sort -u <<<"$seen" | grep -c .) >= 2 )) || smoke_fail "Traefik sent 20 requests to fewer than 2 pods: $(sort -u <<<"$seen" | tr '\n' ' ')"
  say "smoke: Traefik balances over both pods"

  # From inside a pod: CoreDNS resolves the Service and the API server, both ClusterIPs answer
  # (kube-proxy), and Traefik's API answers on the bridge address (the operator asks it from a
  # pod). busybox's nslookup and nc: its static-glibc wget segfaults in pods (NSS).
  kubectl_admin -n "$SMOKE_NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: probe
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: probe
    image: localhost/busybox:zdt
    imagePullPolicy: Never
    command:
    - /bin/busybox
    - sh
    - -c
    - |
      set -e
      nslookup demo-app.$SMOKE_NS.svc.$CLUSTER_DOMAIN | grep -q 'Address: $ip\$'
      echo "dns: demo-app.$SMOKE_NS.svc.$CLUSTER_DOMAIN is $ip"
      get() { printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' "\$3" "\$1" | nc -w 5 "\$1" "\$2"; }
      get $ip 80 / | grep -q 'pod=demo-app-'
      echo "service: \$(get $ip 80 / | tail -n 1)"
      nslookup kubernetes.default.svc.$CLUSTER_DOMAIN | grep -q 'Address: $KUBERNETES_SVC_IP\$'
      # Plain HTTP to a Go TLS server gets a canned answer: proof enough that it is the API server.
      get $KUBERNETES_SVC_IP 443 /livez | grep -q 'HTTPS server'
      echo "apiserver: reached through $KUBERNETES_SVC_IP:443"
      get $NODE_IP $TRAEFIK_API_PORT /api/http/services | grep -q '$SMOKE_NS-demo-app-http@kubernetes'
      echo "traefik api: lists $SMOKE_NS-demo-app-http@kubernetes"
EOF
  local phase=""
  for _ in $(seq 1 60); do
    phase=$(kubectl_admin -n "$SMOKE_NS" get pod probe -o jsonpath='{.status.phase}' 2>/dev/null || true)
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 0.5
  done
  out=$(kubectl_admin -n "$SMOKE_NS" logs probe 2>&1 || true)
  [[ $phase == Succeeded ]] || smoke_fail "the probe pod (DNS name, API server, Traefik API from a pod) ended '$phase': $out"
  say "smoke: from a pod: $(tr '\n' ';' <<<"$out")"

  out=$(kubectl_admin -n "$SMOKE_NS" logs deployment/demo-app --tail=20 2>&1) ||
    smoke_fail "kubectl logs failed: $out"
  [[ $out == *ready* ]] || smoke_fail "kubectl logs did not show the app's 'ready' line: $out"
  say "smoke: kubectl logs works"

  trap - EXIT
  smoke_cleanup
  say "smoke: PASSED in $(elapsed "$t0")"
  echo "smoke: 1 passed, 0 failed"
}
