# shellcheck shell=bash
# Cluster DNS: CoreDNS as a host process on the node's bridge address ($NODE_IP:53), serving
# only cluster.local (and reverse zones) from the API through the kubernetes plugin. There is
# no upstream forwarding: a name outside the cluster gets an answer of "no such name/refused"
# at once, and no query leaves the machine.

build_coredns() {
  go_build coredns "$COREDNS_BIN" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    github.com/coredns/coredns
}

apply_coredns_rbac() {
  kubectl_admin apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: zdt-coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: zdt-coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: zdt-coredns
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: zdt-coredns
EOF
}

start_coredns() {
  mkdir -p "$ZDT_RUN/coredns"
  write_config "$ZDT_RUN/coredns/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    ready 127.0.0.1:8181
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $PKI/coredns.kubeconfig zdt
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
    loadbalance
}
EOF
  apply_coredns_rbac
  start_bg coredns "$COREDNS_BIN/coredns" -conf "$ZDT_RUN/coredns/Corefile"
  wait_for 30 "CoreDNS /ready" curl -fsS http://127.0.0.1:8181/ready ||
    { check_alive coredns; die "CoreDNS did not become ready"; }
}
