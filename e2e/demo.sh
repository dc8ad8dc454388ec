#!/usr/bin/env bash
# The main job (`make demo`): bring up the local single-node cluster, install the operator with
# helm, deploy the demo app as a ZeroDowntimeApp behind Traefik, roll it out under steady load,
# next to a plain Deployment doing the same, and print what every request saw, then what
# `kubectl get zdt` and `kubectl describe zdt` say of the app that was kept running.
#
# `make test` runs this same script as its proof step and checks what it prints
# (e2e/demo_check.py), so the main job cannot break unseen. Each step is idempotent: on a warm
# machine with the cluster up and the operator installed, only the proof itself takes time.
# Writes a timing record to target/timings/ (e2e/timings.py), unless ZDT_DEMO_RECORD=0 (make test's run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/e2e/lib/errexit.sh"
source "$ROOT/e2e/lib/timing.sh"
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
OUT=${ZDT_DEMO_OUT:-$ROOT/target/demo}
RECORD=${ZDT_DEMO_RECORD:-1}
((RECORD)) && timing_start "make demo"

step() { # step <title> <command...>: a header, then the command, timed for the record
  local title=$1 t0 rc=0
  shift
  printf '\n\033[1m==> %s\033[0m\n' "$title"
  t0=$(date +%s)
  "$@" || rc=$?
  ((RECORD)) && timing_step "$title" "$(($(date +%s) - t0))" "$rc"
  return "$rc"
}
finish() { ((RECORD)) && timing_write; exit "$1"; }
packages() { "$CLUSTER" deps && "$CLUSTER" build all; }
step "Debian packages and upstream binaries" packages || finish $?
step "the local cluster" "$CLUSTER" up || finish $?
step "the operator, installed with helm" "$ROOT/e2e/operator/install.sh" || finish $?
step "the rollout proof: plain Deployment vs ZeroDowntimeApp, under load through Traefik" \
  "$ROOT/e2e/rollout/bench.sh" --ci --keep --out "$OUT" || status=$?

eval "$("$CLUSTER" env)"
if [[ ! -s $OUT/kept-namespace ]]; then
  echo "error: the rollout proof exited ${status:-0} before it kept an app to show (see its output above)" >&2
  finish "${status:-1}"
fi
ns=$(cat "$OUT/kept-namespace")
printf '\n\033[1m$ kubectl -n %s get zdt\033[0m\n' "$ns"
kubectl -n "$ns" get zdt
printf '\n\033[1m$ kubectl -n %s describe zdt app\033[0m\n' "$ns"
kubectl -n "$ns" describe zdt app
cat <<TXT

Results: $OUT (rollout-ci.md, rollout-ci.json, rollout-ci.png, every request in rollout-ci-runs/*/requests.csv.gz).
The cluster keeps running: eval "\$(e2e/cluster/zdt-cluster env)"; kubectl get zdt -A
Stop it with: make down
TXT
finish "${status:-0}"
