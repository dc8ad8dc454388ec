#!/usr/bin/env bash
# The main job (`make demo`): bring up the local single-node cluster, install the operator with
# helm, deploy the demo app as a ZeroDowntimeApp behind Traefik, roll it out under steady load,
# next to a plain Deployment doing the same, and print what every request saw.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
OUT=${ZDT_DEMO_OUT:-$ROOT/target/demo}

"$CLUSTER" deps
"$CLUSTER" build all
"$CLUSTER" up
"$ROOT/e2e/operator/install.sh"
"$ROOT/e2e/rollout/bench.sh" --ci --keep --out "$OUT" || status=$?

eval "$("$CLUSTER" env)"
printf '\n\033[1m$ kubectl -n bench-gate-restricted get zdt\033[0m\n'
kubectl -n bench-gate-restricted get zdt
printf '\n\033[1m$ kubectl -n bench-gate-restricted describe zdt app\033[0m\n'
kubectl -n bench-gate-restricted describe zdt app
cat <<TXT

Results: $OUT (rollout-ci.md, rollout-ci.json, rollout-ci.png, every request in rollout-ci-runs/*/requests.csv).
The cluster keeps running: eval "\$(e2e/cluster/zdt-cluster env)"; kubectl get zdt -A
Stop it with: make down
TXT
exit "${status:-0}"
