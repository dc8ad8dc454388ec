# shellcheck shell=bash
# Envoy driven by Contour, as host processes beside Traefik, for the envoy scenarios of the
# rollout proof (`zdt-cluster envoy up|down`; not part of `up`). Contour is built from its Go
# module and Envoy installed from PyPI the first time, into the cache.
#
#   process "contour":  contour serve, watching the API server as user zdt-contour (its
#                       upstream ClusterRole), xDS on 127.0.0.1:$CONTOUR_XDS_PORT (plaintext,
#                       loopback only), IngressClass "contour"
#   process "envoy":    Envoy from `contour bootstrap`, its HTTP listener (Contour's) on
#                       0.0.0.0:$ENVOY_WEB_PORT (host: http://127.0.0.1:8085), its admin
#                       listener moved from the bootstrap's unix socket to $NODE_IP:$ENVOY_ADMIN_PORT
#
# Envoy's admin listener is what the operator reads (GET /clusters?format=json). Contour keeps it
# on a unix socket because the admin API also changes state (/drain_listeners, /quitquitquit,
# /runtime_modify); here it is on the node's bridge address, reachable from pods, and exposed as
# the selector-less Service zdt-ingress/envoy (ports web, admin) with a hand-written EndpointSlice.
# A real cluster limits who reaches that port (docs/frontends.md#envoy).

ENVOY_NAMESPACE=zdt-ingress
ENVOY_WEB_PORT=${ENVOY_WEB_PORT:-8085}
ENVOY_ADMIN_PORT=${ENVOY_ADMIN_PORT:-8086}
CONTOUR_XDS_PORT=${CONTOUR_XDS_PORT:-8087}
CONTOUR_METRICS_PORT=${CONTOUR_METRICS_PORT:-8088}
CONTOUR_HEALTH_PORT=${CONTOUR_HEALTH_PORT:-8089}
CONTOUR_DEBUG_PORT=${CONTOUR_DEBUG_PORT:-8090}
ENVOY_STATS_PORT=${ENVOY_STATS_PORT:-8091} # Contour's /stats and /ready listener in Envoy

# The upstream manifests of the Contour module the binary is built from: its CRDs and ClusterRole.
contour_examples() {
  local dir
  dir=$(cd "$ZDT_CLUSTER_DIR/build/contour" && go list -m -f '{{.Dir}}' github.com/projectcontour/contour) ||
    die "the Contour module is not in Go's module cache (zdt-cluster build contour fetches it)"
  echo "$dir/examples/contour"
}

start_envoy() {
  build_contour
  install_envoy
  local ex run=$ZDT_RUN/envoy
  ex=$(contour_examples)
  mkdir -p "$run"
  # Contour's own user, bound to upstream's ClusterRole (it reads its CRDs, Ingresses, Services,
  # EndpointSlices and Secrets, and writes Ingress status).
  issue contour "/CN=zdt-contour" client
  write_kubeconfig "$PKI/contour.kubeconfig" contour
  kubectl_admin apply --server-side --force-conflicts -f "$ex/01-crds.yaml" >/dev/null ||
    die "could not install Contour's CRDs"
  # Contour's informers fail at start for a CRD the API server does not serve yet.
  kubectl_admin wait --for=condition=Established -f "$ex/01-crds.yaml" --timeout=60s >/dev/null ||
    die "Contour's CRDs were not established within 60 s"
  { sed -n '/^kind: ClusterRole$/,/^---$/p' "$ex/02-role-contour.yaml" | sed '$d' |
      sed '1s/^/apiVersion: rbac.authorization.k8s.io\/v1\n/' | sed 's/^  name: contour$/  name: zdt-contour/'
    cat <<'YAML'
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: zdt-contour
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: zdt-contour}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: zdt-contour}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: contour
spec:
  controller: projectcontour.io/ingress-controller
YAML
  } | kubectl_admin apply -f - >/dev/null || die "could not apply Contour's RBAC and IngressClass"

  start_bg contour "$CONTOUR_BIN/contour" serve --kubeconfig="$PKI/contour.kubeconfig" \
    --insecure --xds-address=127.0.0.1 --xds-port="$CONTOUR_XDS_PORT" \
    --http-address=127.0.0.1 --http-port="$CONTOUR_METRICS_PORT" \
    --health-address=127.0.0.1 --health-port="$CONTOUR_HEALTH_PORT" \
    --debug-http-address=127.0.0.1 --debug-http-port="$CONTOUR_DEBUG_PORT" \
    --stats-address=127.0.0.1 --stats-port="$ENVOY_STATS_PORT" \
    --envoy-service-http-address=0.0.0.0 --envoy-service-http-port="$ENVOY_WEB_PORT" \
    --ingress-class-name=contour --disable-leader-election
  wait_for 30 "contour's health endpoint" curl -fsS "http://127.0.0.1:$CONTOUR_HEALTH_PORT/healthz" ||
    { check_alive contour; die "contour did not become healthy"; }

  # Contour's bootstrap, its admin listener moved to the node's address (see the header).
  "$CONTOUR_BIN/contour" bootstrap "$run/bootstrap.json" --xds-address=127.0.0.1 --xds-port="$CONTOUR_XDS_PORT" \
    --xds-resource-version=v3 --admin-address="$run/admin.sock" >/dev/null 2>&1 ||
    die "contour bootstrap failed"
  python3 - "$run/bootstrap.json" "$NODE_IP" "$ENVOY_ADMIN_PORT" <<'PY' || die "could not move Envoy's admin listener"
import json, sys
path, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = json.load(open(path))
b["admin"]["address"] = {"socket_address": {"address": ip, "port_value": port}}
json.dump(b, open(path, "w"), indent=1)
PY
  # Not start_bg: Envoy gets SIGTERM when the process that started it exits (seen here each time
  # `zdt-cluster envoy up` returned, one second after Envoy's start; an Envoy whose parent was
  # already gone lived on). So it starts from a subshell that exits at once, as init's child.
  printf '\n==== %s starting: envoy -c %s\n' "$(date -u +%FT%TZ)" "$run/bootstrap.json" >>"$LOGS/envoy.log"
  ( setsid env ZDT_OWNER="$ZDT_RUN" "$ENVOY_VENV/bin/envoy" -c "$run/bootstrap.json" --use-dynamic-base-id \
      --service-cluster zdt-ingress --service-node envoy-host-1 --log-level "${ENVOY_LOG_LEVEL:-warning}" \
      >>"$LOGS/envoy.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDS/envoy.pid" )
  say "started envoy (pid $(cat "$PIDS/envoy.pid"), log $LOGS/envoy.log)"
  wait_for 30 "envoy's admin /ready" curl -fsS "http://$NODE_IP:$ENVOY_ADMIN_PORT/ready" ||
    { check_alive envoy; die "envoy did not become ready (it gets its listeners from contour over xDS)"; }
  expose_envoy
  say "contour + envoy up (web :$ENVOY_WEB_PORT, admin $NODE_IP:$ENVOY_ADMIN_PORT)"
}

# Service zdt-ingress/envoy, marked as a front end for apps of every namespace, and the
# EndpointSlice of the one host process.
expose_envoy() {
  kubectl_admin apply -f - >/dev/null <<YAML || die "could not expose Envoy as Service $ENVOY_NAMESPACE/envoy"
apiVersion: v1
kind: Namespace
metadata:
  name: $ENVOY_NAMESPACE
---
apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: $ENVOY_NAMESPACE
  # The apps that name it live in other namespaces: the operator asks it for them only with this mark.
  labels: {zdt.dev/front-end: "true"}
spec:
  ports:
  - {name: web, port: 80, targetPort: $ENVOY_WEB_PORT}
  - {name: admin, port: 9001, targetPort: $ENVOY_ADMIN_PORT}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: envoy-host-1
  namespace: $ENVOY_NAMESPACE
  labels:
    kubernetes.io/service-name: envoy
    endpointslice.kubernetes.io/managed-by: zdt-cluster
addressType: IPv4
ports:
- {name: web, port: $ENVOY_WEB_PORT, protocol: TCP}
- {name: admin, port: $ENVOY_ADMIN_PORT, protocol: TCP}
endpoints:
- addresses: ["$NODE_IP"]
  conditions: {ready: true}
YAML
}

stop_envoy() {
  stop_bg 10 envoy contour
  kubectl_admin -n "$ENVOY_NAMESPACE" delete endpointslice envoy-host-1 --ignore-not-found >/dev/null 2>&1 || true
}

cmd_envoy() {
  need_root
  case ${1:-up} in
    up) is_running contour && is_running envoy && { expose_envoy; say "contour + envoy already running"; return 0; }
        stop_envoy; start_envoy ;;
    down) stop_envoy ;;
    *) die "usage: zdt-cluster envoy [up|down]" ;;
  esac
}
