# shellcheck shell=bash
# Traefik as the ingress controller, run as host processes (restartable on their own with
# `zdt-cluster restart-traefik`, e.g. to change the throttle).
#
#   replica 1, process "traefik":
#     web entrypoint  0.0.0.0:$TRAEFIK_WEB_PORT  host: http://127.0.0.1:8081, pods: http://10.244.0.1:8081
#     API entrypoint  $NODE_IP:$TRAEFIK_API_PORT host and pods: http://10.244.0.1:8082/api/http/services
#   replica 2, process "traefik-2", only with TRAEFIK_REPLICAS=2: the same on $TRAEFIK_WEB_PORT_2
#     (8083) and $TRAEFIK_API_PORT_2 (8084), with its own throttle TRAEFIK_THROTTLE_2 (default:
#     TRAEFIK_THROTTLE), e.g. a lagging replica.
#
# TRAEFIK_THROTTLE (default 2s, Traefik's own default) sets providers.providersThrottleDuration:
# how long Traefik batches provider changes before applying them, i.e. the propagation delay
# the benchmark wants to vary.
#
# The replicas are exposed in the cluster as Service zdt-ingress/traefik, without a selector,
# with one hand-written EndpointSlice per process (ports "web" and "traefik", the API): what an
# app's `traffic.controller: {namespace: zdt-ingress, service: traefik, port: traefik}` names, so
# that the operator asks every replica. The Service carries the label zdt.dev/front-end=true: the
# operator asks a Service of another namespace than the app's only when its owner marked it so.

#
# TRAEFIK_GATEWAY=1 also runs Traefik's Gateway API provider (off by default, so the Ingress
# scenarios run the Traefik they always ran): the Gateway API standard CRDs from the Go module
# sigs.k8s.io/gateway-api (the version Traefik is built with; `go mod download`, cached), read
# rights for Traefik on them, GatewayClass traefik and Gateway zdt-ingress/traefik with listener
# "web" on the web entrypoint's port, open to routes of every namespace. A running Traefik whose
# provider set differs is restarted.

TRAEFIK_NAMESPACE=zdt-ingress
TRAEFIK_REPLICAS=${TRAEFIK_REPLICAS:-1}
TRAEFIK_GATEWAY=${TRAEFIK_GATEWAY:-0}
GATEWAY_API_MODULE=sigs.k8s.io/gateway-api@v1.4.0
TRAEFIK_WEB_PORT_2=${TRAEFIK_WEB_PORT_2:-8083}
TRAEFIK_API_PORT_2=${TRAEFIK_API_PORT_2:-8084}

# traefik_replica <1|2>: sets T_NAME, T_WEB, T_API, T_THROTTLE, T_ASKED for that replica.
traefik_replica() {
  if [[ $1 == 1 ]]; then
    T_NAME=traefik T_WEB=$TRAEFIK_WEB_PORT T_API=$TRAEFIK_API_PORT
    T_THROTTLE=$TRAEFIK_THROTTLE T_ASKED=$TRAEFIK_THROTTLE_ASKED
  else
    T_NAME=traefik-$1 T_WEB=$TRAEFIK_WEB_PORT_2 T_API=$TRAEFIK_API_PORT_2
    T_THROTTLE=${TRAEFIK_THROTTLE_2:-$TRAEFIK_THROTTLE} T_ASKED=${TRAEFIK_THROTTLE_2:-$TRAEFIK_THROTTLE_ASKED}
  fi
}

start_traefik() {
  [[ $TRAEFIK_REPLICAS == 1 || $TRAEFIK_REPLICAS == 2 ]] || die "TRAEFIK_REPLICAS must be 1 or 2, not $TRAEFIK_REPLICAS"
  [[ $TRAEFIK_GATEWAY == 0 || $TRAEFIK_GATEWAY == 1 ]] || die "TRAEFIK_GATEWAY must be 0 or 1, not $TRAEFIK_GATEWAY"
  local i
  [[ $TRAEFIK_GATEWAY == 1 ]] && gateway_api_prepare
  for ((i = 1; i <= TRAEFIK_REPLICAS; i++)); do start_traefik_replica "$i"; done
  # Fewer replicas asked than run: the extra one stops, and its EndpointSlice goes.
  if ((TRAEFIK_REPLICAS < 2)) && is_running traefik-2; then
    stop_bg 10 traefik-2
  fi
  expose_traefik
  # /ping answers before the provider's first configuration is applied (one throttle later):
  # when Ingresses exist, wait until every replica routes them, so a restart is over when we return.
  if [[ -n $(kubectl_admin get ingress -A -o jsonpath='{.items[?(@.spec.ingressClassName=="traefik")].metadata.name}' 2>/dev/null) ]]; then
    for ((i = 1; i <= TRAEFIK_REPLICAS; i++)); do
      traefik_replica "$i"
      wait_for 60 "$T_NAME to load the Ingresses" traefik_has_kubernetes_routers "$T_API" ||
        warn "$T_NAME has not loaded the Ingresses yet"
    done
  fi
}

start_traefik_replica() {
  traefik_replica "$1"
  mkdir -p "$ZDT_RUN/traefik"
  local state=$ZDT_RUN/traefik/throttle
  [[ $1 == 1 ]] || state+="-$1"
  # `TRAEFIK_THROTTLE=10s zdt-cluster up` on a running cluster must not keep the old throttle;
  # a plain `up` leaves a running Traefik alone. $state is the running value.
  if is_running "$T_NAME" && [[ -n $T_ASKED ]] && [[ $(cat "$state" 2>/dev/null) != "$T_THROTTLE" ]]; then
    say "$T_NAME runs with throttle $(cat "$state" 2>/dev/null), $T_THROTTLE asked: restarting it"
    stop_bg 10 "$T_NAME"
  fi
  local gwstate=$ZDT_RUN/traefik/gateway${state#"$ZDT_RUN/traefik/throttle"}
  if is_running "$T_NAME" && [[ $(cat "$gwstate" 2>/dev/null || echo 0) != "$TRAEFIK_GATEWAY" ]]; then
    say "$T_NAME runs with Gateway API provider $(cat "$gwstate" 2>/dev/null || echo 0), $TRAEFIK_GATEWAY asked: restarting it"
    stop_bg 10 "$T_NAME"
  fi
  local gateway=()
  [[ $TRAEFIK_GATEWAY == 1 ]] && gateway=(--providers.kubernetesGateway=true)
  is_running "$T_NAME" || echo "$TRAEFIK_GATEWAY" >"$gwstate"
  local accesslog=()
  [[ ${TRAEFIK_ACCESSLOG:-0} == 1 ]] && accesslog=(--accesslog=true "--accesslog.filepath=$LOGS/$T_NAME-access.log")
  is_running "$T_NAME" || echo "$T_THROTTLE" >"$state"
  # KUBECONFIG makes the provider use our client certificate (user zdt-traefik, see RBAC).
  start_bg "$T_NAME" env KUBECONFIG="$PKI/traefik.kubeconfig" "$TRAEFIK_BIN/traefik" \
    --global.checkNewVersion=false --global.sendAnonymousUsage=false \
    --entryPoints.web.address=":$T_WEB" \
    --entryPoints.traefik.address="$NODE_IP:$T_API" \
    --api=true --api.insecure=true --api.dashboard=false \
    --ping=true --ping.entryPoint=traefik \
    --providers.providersThrottleDuration="$T_THROTTLE" \
    --providers.kubernetesIngress=true \
    --providers.kubernetesIngress.ingressClass=traefik \
    --providers.kubernetesIngress.ingressEndpoint.ip="$NODE_IP" \
    "${gateway[@]}" --log.level="${TRAEFIK_LOG_LEVEL:-INFO}" "${accesslog[@]}"
  wait_for 30 "$T_NAME /ping" curl -fsS "http://$NODE_IP:$T_API/ping" ||
    { check_alive "$T_NAME"; die "$T_NAME did not answer on its API entrypoint"; }
  say "$T_NAME up (throttle $(cat "$state"), web :$T_WEB, API $NODE_IP:$T_API)"
}

# Service zdt-ingress/traefik and one EndpointSlice per running replica; a slice of a replica not
# asked for is deleted, so the operator stops asking it.
expose_traefik() {
  local i manifest
  manifest=$(cat <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $TRAEFIK_NAMESPACE
---
apiVersion: v1
kind: Service
metadata:
  name: traefik
  namespace: $TRAEFIK_NAMESPACE
  # The apps that name it live in other namespaces: the operator asks it for them only with this mark.
  labels: {zdt.dev/front-end: "true"}
spec:
  ports:
  - {name: web, port: 80, targetPort: $TRAEFIK_WEB_PORT}
  - {name: traefik, port: 9000, targetPort: $TRAEFIK_API_PORT}
YAML
)
  for ((i = 1; i <= TRAEFIK_REPLICAS; i++)); do
    traefik_replica "$i"
    manifest+=$(cat <<YAML

---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: traefik-host-$i
  namespace: $TRAEFIK_NAMESPACE
  labels:
    kubernetes.io/service-name: traefik
    endpointslice.kubernetes.io/managed-by: zdt-cluster
addressType: IPv4
ports:
- {name: web, port: $T_WEB, protocol: TCP}
- {name: traefik, port: $T_API, protocol: TCP}
endpoints:
- addresses: ["$NODE_IP"]
  conditions: {ready: true}
YAML
)
  done
  kubectl_admin apply -f - <<<"$manifest" >/dev/null || die "could not expose Traefik as Service $TRAEFIK_NAMESPACE/traefik"
  for ((i = TRAEFIK_REPLICAS + 1; i <= 2; i++)); do
    kubectl_admin -n "$TRAEFIK_NAMESPACE" delete endpointslice "traefik-host-$i" --ignore-not-found >/dev/null
  done
  say "Traefik exposed as Service $TRAEFIK_NAMESPACE/traefik ($TRAEFIK_REPLICAS replicas, API port name traefik)"
}

# The Gateway API for TRAEFIK_GATEWAY=1: CRDs, Traefik's rights on them, the GatewayClass and the
# Gateway. Idempotent; nothing of it is removed when the provider is turned off again (unused then).
gateway_api_prepare() {
  local dir
  dir=$(go mod download -json "$GATEWAY_API_MODULE" | jq -r .Dir) && [[ -d $dir/config/crd/standard ]] ||
    die "no Gateway API CRDs: go mod download $GATEWAY_API_MODULE failed"
  # Server-side: the HTTPRoute CRD is too large for kubectl's last-applied annotation.
  kubectl_admin apply --server-side --force-conflicts -f "$dir/config/crd/standard/" >/dev/null ||
    die "could not apply the Gateway API CRDs"
  kubectl_admin wait --for condition=Established --timeout=60s -f "$dir/config/crd/standard/" >/dev/null ||
    die "the Gateway API CRDs were not established"
  kubectl_admin apply -f - >/dev/null <<YAML || die "could not apply the Gateway and Traefik's rights on the Gateway API"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: zdt-traefik-gateway
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
# The Gateway API provider also watches ConfigMaps (CA certificates of BackendTLSPolicies).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses, gateways, httproutes, grpcroutes, referencegrants, backendtlspolicies]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gatewayclasses/status, gateways/status, httproutes/status, grpcroutes/status, backendtlspolicies/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: zdt-traefik-gateway
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: zdt-traefik-gateway}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: zdt-traefik}
---
apiVersion: v1
kind: Namespace
metadata:
  name: $TRAEFIK_NAMESPACE
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: traefik
spec:
  controllerName: traefik.io/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: traefik
  namespace: $TRAEFIK_NAMESPACE
spec:
  gatewayClassName: traefik
  listeners:
  - name: web
    protocol: HTTP
    port: $TRAEFIK_WEB_PORT
    allowedRoutes:
      namespaces: {from: All}
YAML
}

traefik_has_kubernetes_routers() { # <api port>
  curl -fsS "http://$NODE_IP:${1:-$TRAEFIK_API_PORT}/api/http/routers" | grep -F '@kubernetes' >/dev/null
}

cmd_restart_traefik() {
  need_root
  stop_bg 10 traefik traefik-2
  start_traefik
}
