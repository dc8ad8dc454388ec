# shellcheck shell=bash
# `zdt-cluster up [api]`: the node. Order: sysctls, API, containerd (+ pause image),
# controller-manager, scheduler, bootstrap objects, kubelet, kube-proxy, Traefik.

apply_sysctls() {
  # ip_forward: pod traffic is routed between the bridge and the host. inotify: the kubelet,
  # containerd and every Java pod each take instances; 128 runs out quickly.
  local kv
  for kv in net.ipv4.ip_forward=1 fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288 \
            net.bridge.bridge-nf-call-iptables=1; do
    sysctl -qw "$kv" || warn "sysctl $kv refused"
  done
}

write_containerd_config() {
  mkdir -p "$CONTAINERD_STATE" "$CONTAINERD_ROOT" "$CNI_CONF_DIR"
  write_config "$CONTAINERD_STATE/config.toml" <<EOF
# Written by zdt-cluster; regenerated at every \`up\`.
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.grpc.v1.cri"]
  # Our own image, imported from a local OCI layout, never pulled.
  sandbox_image = "localhost/pause:zdt"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc
  # ("can't get final child's PID from pipe: EOF", really a refused oom_score_adj write).
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # PID 1 is not systemd: cgroupfs, like the kubelet.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    # One hosts.toml per registry (read at every pull): the harness registry is plain HTTP.
    config_path = "$CONTAINERD_STATE/certs.d"
EOF
  # The harness registry (lib/registry.sh) on loopback, without TLS: pull and resolve only.
  write_config "$CONTAINERD_STATE/certs.d/$REGISTRY_HOST/hosts.toml" <<EOF
server = "http://$REGISTRY_HOST"

[host."http://$REGISTRY_HOST"]
  capabilities = ["pull", "resolve"]
EOF
  # Bridge (on our own zdt0) + host-local IPAM + portmap for hostPort. No ipMasq: pods talk to
  # the host and to each other, and have no way out of the machine.
  write_config "$CNI_CONF_DIR/10-zdt.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "zdt",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_IPAM_DIR",
        "ranges": [[{ "subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

start_containerd() {
  local conf=$CONTAINERD_STATE/config.toml before=""
  [[ -f $conf ]] && before=$(sha256sum <"$conf")
  write_containerd_config
  # containerd reads config.toml at start only: a running one with another config is restarted
  # (its shims, and so the pods' containers, keep running; the kubelet reconnects).
  if is_running containerd && [[ $(sha256sum <"$conf") != "$before" ]]; then
    say "containerd's config changed: restarting containerd"
    stop_bg 15 containerd
  fi
  start_bg containerd /usr/bin/containerd --config "$CONTAINERD_STATE/config.toml"
  wait_for 30 "containerd socket" ctr --address "$CONTAINERD_SOCK" version ||
    { check_alive containerd; die "containerd did not answer"; }
}

start_controller_manager() {
  local kc=$PKI/kube-controller-manager.kubeconfig
  start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --leader-elect=false \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --use-service-account-credentials=true \
    --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --v 1
}

start_scheduler() {
  local kc=$PKI/kube-scheduler.kubeconfig
  start_bg kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --leader-elect=false --v 1
}

# Objects the rest of the node needs from the API: Traefik's permissions and its IngressClass.
apply_bootstrap_objects() {
  kubectl_admin apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: zdt-traefik
rules:
- apiGroups: [""]
  resources: [services, endpoints, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: zdt-traefik
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: zdt-traefik
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: zdt-traefik
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
spec:
  controller: traefik.io/ingress-controller
EOF
}

start_kubelet() {
  mkdir -p "$KUBELET_ROOT"
  # Pods resolve cluster names through CoreDNS (clusterDNS); the base resolv.conf, used for
  # dnsPolicy Default and appended to nothing else, names no upstream server: nothing outside
  # this machine is theirs to query.
  printf '# zdt e2e node: no DNS server for pods\noptions ndots:1\n' | write_config "$ZDT_RUN/pod-resolv.conf"
  write_config "$ZDT_RUN/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# PID 1 is not systemd; containerd uses cgroupfs as well.
cgroupDriver: cgroupfs
# This kernel mounts cgroup v1 hierarchies; 1.34 still allows them when this is false.
failCgroupV1: false
failSwapOn: false
# A negative oom_score_adj is refused here (no CAP_SYS_RESOURCE); 0 needs no privilege.
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
healthzBindAddress: 127.0.0.1
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$NODE_IP]
resolvConf: $ZDT_RUN/pod-resolv.conf
# Images come from local imports and the harness registry: never garbage-collect them on a test node.
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
serializeImagePulls: false
maxPods: 110
# The node object is updated quickly so tests see Ready and terminations promptly.
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
EOF
  start_bg kubelet "$K8S_BIN/kubelet" \
    --config "$ZDT_RUN/kubelet-config.yaml" \
    --kubeconfig "$PKI/kubelet-client.kubeconfig" \
    --root-dir "$KUBELET_ROOT" --cert-dir "$KUBELET_ROOT/pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --v 1
}

start_kube_proxy() {
  write_config "$ZDT_RUN/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
# No IPVS in this kernel; nftables mode is newer than the iptables rules tested here.
mode: iptables
clientConnection:
  kubeconfig: $PKI/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
oomScoreAdj: 0
# 0 = leave the host's conntrack sysctls alone.
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  # No route_localnet change on the host: NodePorts are not reached via 127.0.0.1 here.
  localhostNodePorts: false
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
  start_bg kube-proxy "$K8S_BIN/kube-proxy" --config "$ZDT_RUN/kube-proxy-config.yaml" --v 1
}

node_ready() {
  [[ $(kubectl_admin get node "$NODE_NAME" \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

# A previous run that crashed or was interrupted leaves pid files of dead processes, mounts or
# the bridge behind: clean all of it before starting again.
recover_if_stale() {
  local c stale=0
  for c in "${COMPONENTS[@]}"; do
    if [[ -f $PIDS/$c.pid ]] && ! is_running "$c"; then
      warn "$c has a pid file but is not running"
      stale=1
    fi
  done
  if ((stale)); then
    warn "a previous run did not finish cleanly: running 'down' first"
    cmd_down
  fi
}

up_full() {
  local t0=$(now_ms)
  cmd_deps
  # What the node runs (Helm is built by `build all`, it is not part of the node).
  build_api; build_node; build_traefik; build_coredns; build_registry
  apply_sysctls
  up_api
  start_registry
  start_containerd
  ensure_image pause
  start_controller_manager
  start_scheduler
  apply_bootstrap_objects
  start_coredns
  start_kubelet
  start_kube_proxy
  start_traefik
  say "waiting for node $NODE_NAME to become Ready"
  if ! wait_for 120 "node Ready" node_ready; then
    local c
    for c in containerd kubelet kube-proxy kube-controller-manager kube-scheduler; do check_alive "$c"; done
    kubectl_admin describe node "$NODE_NAME" >&2 || true
    die "node $NODE_NAME is not Ready (see $LOGS/kubelet.log)"
  fi
  wait_for 30 "kube-proxy rules" iptables -t nat -S KUBE-SERVICES || warn "kube-proxy has not written KUBE-SERVICES yet"
  say "cluster up in $(elapsed "$t0"): node $NODE_NAME Ready"
  say "kubeconfig:          $KUBECONFIG_ADMIN"
  say "Traefik web (host):  http://127.0.0.1:$TRAEFIK_WEB_PORT   (pods: http://$NODE_IP:$TRAEFIK_WEB_PORT)"
  say "Traefik API:         http://$NODE_IP:$TRAEFIK_API_PORT/api/http/services (host and pods)"
}

cmd_up() {
  need_root
  mkdir -p "$ZDT_RUN" "$LOGS" "$PIDS"
  recover_if_stale
  case ${1:-full} in
    api) up_api ;;
    full) up_full ;;
    *) die "usage: zdt-cluster up [api]" ;;
  esac
}
