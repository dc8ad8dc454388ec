#!/usr/bin/env bash
# The main job (`make demo`): bring up the local single-node cluster, install the operator with
# helm, deploy the demo app as a ZeroDowntimeApp behind Traefik, roll it out under steady load,
# next to a plain Deployment doing the same, and print what every request saw, then what
# `kubectl get zdt` and `kubectl describe zdt` say of the app that was kept running.
#
# `make test` runs this same script as its proof step and checks what it prints
# (e2e/demo_check.py), so the main job cannot break unseen. Each step is idempotent: on a warm
# machine with the cluster up and the operator installed, only the proof itself takes time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/e2e/lib/errexit.sh"
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
OUT=${ZDT_DEMO_OUT:-$ROOT/target/demo}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
step "Debian packages and upstream binaries (cached under ${ZDT_CACHE:-~/.cache/zdt})"
"$CLUSTER" deps
"$CLUSTER" build all
step "the local cluster"
"$CLUSTER" up
step "the operator, installed with helm"
"$ROOT/e2e/operator/install.sh"
step "the rollout proof: plain Deployment vs ZeroDowntimeApp, under load through Traefik"
"$ROOT/e2e/rollout/bench.sh" --ci --keep --out "$OUT" || status=$?

eval "$("$CLUSTER" env)"
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
exit "${status:-0}"
