# shellcheck shell=bash
# `zdt-cluster deps`: the Debian packages the node needs. Quick when all are installed
# (one dpkg-query); `apt-get update` runs only when something is missing.

DEB_PACKAGES=(
  containerd runc containernetworking-plugins   # container runtime and CNI plugins (/usr/lib/cni)
  iptables conntrack ipset ethtool socat kmod   # what kubelet and kube-proxy call
  umoci skopeo busybox-static debootstrap       # daemonless image building
  openssl curl jq ca-certificates iproute2 util-linux procps psmisc
  haproxy                                       # the probing balancer of HaproxyGateTest and the *-haproxy scenarios (run as our own process)
)

cmd_deps() {
  local missing=() p installed
  # One dpkg-query for all of them: the fast path of every `up`.
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${DEB_PACKAGES[@]}" 2>/dev/null |
              awk '$2 == "installed" {print $1}' || true)
  for p in "${DEB_PACKAGES[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "Debian packages: all present"
  else
    need_root
    say "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "installed ${#missing[@]} packages"
  fi
  # The containerd package may bring its own service on a machine with systemd; ours runs with
  # its own config and socket, so make sure a packaged daemon is not holding /run/containerd.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]] &&
     systemctl is-active --quiet containerd 2>/dev/null; then
    warn "the system containerd service is running; zdt-cluster uses its own containerd, stopping the system one"
    systemctl stop containerd || true
  fi
  # Same for haproxy: ours runs as our own process with our own config; the packaged service must not run.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]] &&
     systemctl is-active --quiet haproxy 2>/dev/null; then
    warn "the system haproxy service is running; zdt-cluster runs its own haproxy, stopping and disabling the system one"
    systemctl disable --now haproxy || true
  fi
  command -v go >/dev/null || warn "go is not on PATH: 'zdt-cluster build' needs Go 1.26+"
}
