#!/usr/bin/env bash
# helm install/upgrade of the operator into the local cluster, waiting until every replica is
# Ready; --uninstall removes the release (the CRD and the users' apps stay).
# ZDT_IMAGE_SOURCE=registry (default): push.sh pushes both images to the cluster's registry
# (localhost:5000) and containerd pulls them from there (pullPolicy IfNotPresent), as on any real
# cluster. ZDT_IMAGE_SOURCE=import: the images are imported straight into containerd (pullPolicy Never).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --uninstall ]]; then
  helm uninstall "$RELEASE" -n "$OPERATOR_NS" --wait
  exit 0
fi

case ${ZDT_IMAGE_SOURCE:-registry} in
  registry)
    "$ROOT/e2e/operator/push.sh" >/dev/null
    tag=$(operator_tag)
    helper=$(registry_ref helper)
    images=(--set image.repository="$ZDT_REGISTRY/zdt-operator" --set image.pullPolicy=IfNotPresent
            --set drainHelper.image.pullPolicy=IfNotPresent) ;;
  import)
    tag=$("$ROOT/e2e/operator/image.sh" | tail -1)
    # The drain helper that gate-mode pods copy in: built and imported once per source change.
    helper=$("$CLUSTER" image zdt-drain | tail -1)
    images=(--set image.repository="$OPERATOR_IMAGE" --set image.pullPolicy=Never
            --set drainHelper.image.pullPolicy=Never) ;;
  *) die "ZDT_IMAGE_SOURCE must be registry or import, not '$ZDT_IMAGE_SOURCE'" ;;
esac
# Helm installs a chart's crds/ on install only, never on upgrade: apply them first, so that an
# upgrade that brings a new CRD (drainpolicies) finds it (the operator checks its CRDs at startup).
kubectl apply --server-side --force-conflicts -f "$ROOT/deploy/helm/zdt-operator/crds/" >/dev/null
say "helm upgrade --install $RELEASE (image tag $tag, drain helper $helper, from ${ZDT_IMAGE_SOURCE:-registry})"
start=$(date +%s.%N)
helm upgrade --install "$RELEASE" "$ROOT/deploy/helm/zdt-operator" \
  --namespace "$OPERATOR_NS" --create-namespace \
  --set image.tag="$tag" "${images[@]}" \
  --set drainHelper.image.repository="${helper%:*}" --set drainHelper.image.tag="${helper##*:}" \
  --wait --timeout 5m "${@}"
kubectl -n "$OPERATOR_NS" rollout status "deploy/$RELEASE" --timeout=5m
ready=$(kubectl -n "$OPERATOR_NS" get deploy "$RELEASE" -o jsonpath='{.status.readyReplicas}')
awk -v r="$ready" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "operator ready: %s replicas in %.1f s\n", r, e - s }'
