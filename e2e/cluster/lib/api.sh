# shellcheck shell=bash
# The control plane's storage and API: etcd and kube-apiserver.

# The node's address lives on our own bridge, created before anything needs it: the API
# server advertises it (pods reach `kubernetes.default` there), the kubelet registers it as the
# node's InternalIP and Traefik's API binds it. The CNI bridge plugin reuses this bridge.
ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    say "created bridge $BRIDGE"
  fi
  ip addr replace "$NODE_IP/${NODE_POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

start_etcd() {
  mkdir -p "$ZDT_RUN/etcd"
  chmod 700 "$ZDT_RUN/etcd"
  # Plain HTTP on loopback only. --unsafe-no-fsync: this is a throw-away test store, and fsync
  # latency on a shared disk would otherwise dominate API latency.
  start_bg etcd "$ETCD_BIN/etcd" \
    --name zdt --data-dir "$ZDT_RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "zdt=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "http://127.0.0.1:2381" \
    --unsafe-no-fsync --log-level warn
  wait_for 20 "etcd health" curl -fsS "http://127.0.0.1:2381/health" || { check_alive etcd; die "etcd did not become healthy"; }
}

start_apiserver() {
  start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
    --tls-cert-file "$PKI/kube-apiserver.crt" --tls-private-key-file "$PKI/kube-apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --api-audiences "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --profiling=false \
    --v 1
  wait_for 60 "kube-apiserver /readyz" \
    curl -fsS --cacert "$PKI/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" ||
    { check_alive kube-apiserver; die "kube-apiserver did not become ready (see $LOGS/kube-apiserver.log)"; }
}

up_api() {
  local t0=$(now_ms)
  [[ -x $K8S_BIN/kube-apiserver && -x $ETCD_BIN/etcd && -x $K8S_BIN/kubectl ]] || cmd_build api
  ensure_pki
  ensure_bridge
  start_etcd
  start_apiserver
  say "API server ready in $(elapsed "$t0"): https://127.0.0.1:$APISERVER_PORT"
  say "kubeconfig: $KUBECONFIG_ADMIN"
}

# `zdt-cluster restart-apiserver [seconds down]`: stops the kube-apiserver alone, keeps it down
# that long (default 0), starts it again and returns once /readyz answers. etcd and every other
# component keep running: what a control-plane upgrade or an API server crash looks like to them.
cmd_restart_apiserver() {
  need_root
  local down=${1:-0}
  [[ $down =~ ^[0-9]+$ ]] || die "usage: zdt-cluster restart-apiserver [seconds down]"
  is_running etcd || die "etcd is not running: use 'zdt-cluster up'"
  stop_bg 20 kube-apiserver
  sleep "$down"
  start_apiserver
}
