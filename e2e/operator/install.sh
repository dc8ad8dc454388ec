#!/usr/bin/env bash
# helm install/upgrade of the operator into the local cluster, waiting until every replica is
# Ready; --uninstall removes the release (the CRD and the users' apps stay).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --uninstall ]]; then
  helm uninstall "$RELEASE" -n "$OPERATOR_NS" --wait
  exit 0
fi

tag=$("$ROOT/e2e/operator/image.sh" | tail -1)
# The drain helper that gate-mode pods copy in: built and imported once per source change.
helper=$("$CLUSTER" image zdt-drain | tail -1)
# Helm installs a chart's crds/ on install only, never on upgrade: apply them first, so that an
# upgrade that brings a new CRD (drainpolicies) finds it (the operator checks its CRDs at startup).
kubectl apply --server-side --force-conflicts -f "$ROOT/deploy/helm/zdt-operator/crds/" >/dev/null
say "helm upgrade --install $RELEASE (image tag $tag, drain helper $helper)"
start=$(date +%s.%N)
helm upgrade --install "$RELEASE" "$ROOT/deploy/helm/zdt-operator" \
  --namespace "$OPERATOR_NS" --create-namespace \
  --set image.tag="$tag" --set image.pullPolicy=Never \
  --set drainHelper.image.repository="${helper%:*}" --set drainHelper.image.tag="${helper##*:}" \
  --set drainHelper.image.pullPolicy=Never \
  --wait --timeout 5m "${@}"
kubectl -n "$OPERATOR_NS" rollout status "deploy/$RELEASE" --timeout=5m
ready=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.status.readyReplicas}')
awk -v r="$ready" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "operator ready: %s replicas in %.1f s\n", r, e - s }'
