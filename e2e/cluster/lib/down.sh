# shellcheck shell=bash
# `zdt-cluster down [--purge]` and `zdt-cluster status`.

# Reverse start order. Pods are stopped through the kubelet-less path: containerd's tasks are
# killed by killing their shims, whose parent is our containerd.
COMPONENTS=(traefik coredns registry kube-proxy kubelet kube-scheduler kube-controller-manager containerd kube-apiserver etcd)

# Processes we started whose pid file is lost (e.g. after a crash): start_bg puts
# ZDT_OWNER=$ZDT_RUN in their environment. Matching by binary path would also hit the etcd and
# kube-apiserver that kube-api-test runs from the same binaries.
stray_pids() {
  local p
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -xF "ZDT_OWNER=$ZDT_RUN" >/dev/null && echo "${p#/proc/}"
  done
  return 0
}

# containerd-shim-runc-v2 processes started by our containerd: they carry our socket path.
our_shim_pids() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/exe" 2>/dev/null) == */containerd-shim-runc-v2 ]] || continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -F -- "$CONTAINERD_SOCK" >/dev/null && echo "${p#/proc/}"
  done
  return 0
}

kill_pods() {
  # Every container process is a descendant of a shim; killing the container's init with the
  # shim alive lets the shim clean up its cgroup. Use the runc state of our namespace.
  local pids p
  if [[ -d /run/containerd/runc/k8s.io ]]; then
    local id
    for id in $(runc --root /run/containerd/runc/k8s.io list -q 2>/dev/null); do
      runc --root /run/containerd/runc/k8s.io kill "$id" KILL 2>/dev/null || true
    done
    sleep 0.5
    for id in $(runc --root /run/containerd/runc/k8s.io list -q 2>/dev/null); do
      runc --root /run/containerd/runc/k8s.io delete --force "$id" 2>/dev/null || true
    done
  fi
  pids=$(our_shim_pids)
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
}

cleanup_mounts() {
  # Deepest first. Everything the kubelet and containerd mounted sits under these prefixes.
  local prefixes=("$KUBELET_ROOT" "$CONTAINERD_STATE" "$CONTAINERD_ROOT" /run/containerd/io.containerd /run/netns/cni- "$ZDT_RUN/netns")
  local m pfx
  for _ in 1 2 3; do
    local left=0
    while read -r m; do
      for pfx in "${prefixes[@]}"; do
        if [[ $m == "$pfx"* ]]; then
          umount -l "$m" 2>/dev/null || umount -f "$m" 2>/dev/null || true
          left=1
        fi
      done
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -r)
    ((left)) || break
  done
}

# Pod network namespaces (containerd names them cni-*). A later `ip netns add` bind-mounts
# /run/netns onto itself and hides mounts made before it: umount then says "not mounted" and
# rm says "busy". Unmounting that self-bind (iproute2 makes it again when needed) uncovers them.
netns_mounts() { awk '$5 ~ "^/run/netns/cni-" {print $5}' /proc/self/mountinfo; }

cleanup_netns() {
  local ns _
  for _ in 1 2 3; do
    for ns in $(netns_mounts); do umount -l "$ns" 2>/dev/null || true; done
    [[ -z $(netns_mounts) ]] && break
    mountpoint -q /run/netns && { umount -l /run/netns 2>/dev/null || true; }
  done
  rm -f /run/netns/cni-* 2>/dev/null || true
  [[ -z $(netns_mounts) ]] || warn "pod network namespaces still mounted: $(netns_mounts | tr '\n' ' ')"
}

cleanup_network() {
  local v
  # veths whose peer was in a deleted pod netns are gone already; the rest hang off our bridge.
  for v in $({ ip -o link show master "$BRIDGE" | awk -F': ' '{print $2}' | cut -d@ -f1; } 2>/dev/null); do
    ip link delete "$v" 2>/dev/null || true
  done
  ip link delete "$BRIDGE" 2>/dev/null || true
  cleanup_iptables
}

# Removes the chains kube-proxy, the kubelet, the CNI portmap plugin and we created, and the
# jumps into them from the built-in chains, for IPv4 and IPv6 (kube-proxy and the kubelet set
# up both families when the host has IPv6). Nothing else in the tables is touched.
cleanup_iptables() {
  local ipt table chain rules rule
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for table in filter nat mangle; do
      rules=$("$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A ' |
        grep -E -- '-j (KUBE-|CNI-)|--comment "?(kubernetes|CNI|name: "?zdt|id: )' || true)
      while read -r rule; do
        [[ -n $rule ]] || continue
        # shellcheck disable=SC2086
        eval "$ipt -t $table ${rule/-A /-D }" 2>/dev/null || true
      done <<<"$rules"
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  rm -rf "$CNI_IPAM_DIR"
}

# The kubelet's pod cgroups (cgroupfs driver: /kubepods in every v1 hierarchy and in the
# unified one). Empty once the processes are gone; removed deepest first.
cleanup_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $d ]] || continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d $d ]] && warn "could not remove cgroup $d (processes left in it?)"
  done
  return 0
}

cmd_down() {
  need_root
  local purge=0 t0 c p
  [[ ${1:-} == --purge ]] && purge=1
  t0=$(now_ms)
  stop_bg 15 envoy contour traefik traefik-2 coredns registry kube-proxy kubelet kube-scheduler kube-controller-manager
  kill_pods
  stop_bg 15 containerd
  # The API server drains against etcd: stop it first.
  stop_bg 15 kube-apiserver
  stop_bg 15 etcd
  for p in $(stray_pids) $(our_shim_pids); do
    warn "killing leftover process $p ($(readlink /proc/"$p"/exe 2>/dev/null))"
    kill -KILL "$p" 2>/dev/null || true
  done
  cleanup_mounts
  cleanup_cgroups
  cleanup_netns
  cleanup_network
  # A fresh cluster at every `up`: stale nodes, pods and leases from a previous run would
  # otherwise come back. Certificates stay (they cost nothing to keep and time to make).
  rm -rf "$ZDT_RUN/etcd" "$KUBELET_ROOT" "$CONTAINERD_STATE" "$ZDT_RUN/traefik" "$ZDT_RUN/envoy"
  ((purge)) && rm -rf "$ZDT_RUN"
  say "down in $(elapsed "$t0")"
}

# `zdt-cluster leftovers`: after `down`, lists anything of the cluster still on the machine and
# exits 1 if there is any (processes, mounts, netns, links, iptables chains/rules, cgroups).
cmd_leftovers() {
  local found=0 what
  report() { [[ -z $2 ]] && return 0; found=1; printf '  %s:\n%s\n' "$1" "$(sed 's/^/    /' <<<"$2")"; }
  what=""
  for c in "${COMPONENTS[@]}"; do is_running "$c" && what+="$c (pid $(pid_of "$c"))"$'\n'; done
  report "components running" "${what%$'\n'}"
  report "orphans of ours" "$( { stray_pids; our_shim_pids; } | xargs -r ps -o pid=,comm= -p 2>/dev/null)"
  report "mounts" "$(awk '{print $5}' /proc/self/mountinfo |
    grep -E "^($KUBELET_ROOT|$CONTAINERD_STATE|$CONTAINERD_ROOT|/run/containerd/io.containerd|/run/netns/cni-)" || true)"
  report "pod network namespaces" "$(ls /run/netns/cni-* 2>/dev/null || true)"
  report "links" "$(ip -br link 2>/dev/null | awk -v b="$BRIDGE" '$1 == b || $1 ~ /^veth/ {print $1}')"
  report "iptables" "$(iptables-save 2>/dev/null | grep -E 'KUBE-|CNI-' || true)"
  report "ip6tables" "$(ip6tables-save 2>/dev/null | grep -E 'KUBE-|CNI-' || true)"
  report "cgroups" "$(ls -d /sys/fs/cgroup/*/kubepods 2>/dev/null || true)"
  if ((found)); then
    say "leftovers found"
    return 1
  fi
  say "nothing of the cluster is left on this machine"
}

cmd_status() {
  local c pid
  for c in etcd kube-apiserver registry containerd kube-controller-manager kube-scheduler kubelet kube-proxy coredns traefik traefik-2 contour envoy; do
    if is_running "$c"; then
      pid=$(pid_of "$c")
      printf '  %-24s running  pid %-7s rss %s MiB\n' "$c" "$pid" \
        "$(( $(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null || echo 0) / 1024 ))"
    else
      printf '  %-24s stopped\n' "$c"
    fi
  done
  if is_running kube-apiserver; then
    echo "  kubeconfig: $KUBECONFIG_ADMIN"
    kubectl_admin get nodes -o wide 2>/dev/null | sed 's/^/  /' || true
  fi
  if is_running registry; then
    echo "  registry:               http://$REGISTRY_HOST (storage $REGISTRY_STORAGE; containerd pulls $REGISTRY_HOST/...)"
  fi
  if is_running traefik; then
    echo "  traefik throttle:       $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null)"
    echo "  traefik web (host):     http://127.0.0.1:$TRAEFIK_WEB_PORT"
    echo "  traefik api (host+pods): http://$NODE_IP:$TRAEFIK_API_PORT/api/http/services"
    echo "  traefik Service:        zdt-ingress/traefik (port traefik: the API of every replica)"
  fi
  if is_running traefik-2; then
    echo "  traefik-2 throttle:     $(cat "$ZDT_RUN/traefik/throttle-2" 2>/dev/null)"
    echo "  traefik-2 web (host):   http://127.0.0.1:$TRAEFIK_WEB_PORT_2"
    echo "  traefik-2 api:          http://$NODE_IP:$TRAEFIK_API_PORT_2/api/http/services"
  fi
}
