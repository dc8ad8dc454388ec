#!/usr/bin/env bash
# Pushes the operator's two images to a registry, for any cluster that pulls from it:
#   e2e/operator/push.sh [REGISTRY]      (make push REGISTRY=host[:port][/path])
# builds them as the local cluster does (image.sh; zdt-cluster image zdt-drain), into the OCI
# archives under $ZDT_CACHE/images, copies them with skopeo to <registry>/zdt-operator:<tag> and
# <registry>/zdt-drain:<tag>, and prints the helm install that uses them (and writes those values to
# $ZDT_CACHE/pushed-values.yaml). Without REGISTRY: the local cluster's registry, localhost:5000.
# Credentials are skopeo's own: `skopeo login <host>` or REGISTRY_AUTH_FILE (docs/install.md).
# Progress goes to stderr, the helm command to stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

registry=${1:-$ZDT_REGISTRY}
registry=${registry%/}
[[ $registry =~ ^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$ ]] ||
  die "REGISTRY must look like host[:port][/path] (lowercase path), got '$registry'"
host=${registry%%/*}
# TLS is verified everywhere but on this machine's loopback (the local registry is plain HTTP); a
# remote registry without TLS must be marked insecure in registries.conf, skopeo's own setting.
tls=()
scheme=https
if [[ $host =~ ^(localhost|127\.0\.0\.1)(:[0-9]+)?$ ]]; then
  tls=(--dest-tls-verify=false)
  scheme=http
fi

# Before minutes of building: the registry must answer at all (401 is an answer: it wants a login).
answers() { curl -sS -o /dev/null --connect-timeout 5 --max-time 15 "$1://$host/v2/" 2>&1; }
if ! err=$(answers "$scheme") && ! { [[ $scheme == https ]] && answers http >/dev/null; }; then
  hint=""
  [[ $host == "$ZDT_REGISTRY" ]] && hint=" (the local cluster's registry: start it with 'make up')"
  die "registry $host does not answer at $scheme://$host/v2/$hint: ${err#curl: }"
fi

tag=$("$ROOT/e2e/operator/image.sh" --no-import | tail -n 1)
helper=$(IMAGE_NO_IMPORT=1 "$CLUSTER" image zdt-drain | tail -n 1)
helper_tag=${helper##*:}

# push <archive> <reference in it> <destination>: the archive must hold exactly the reference we
# mean (image-from-dir keeps one tar per image name; a stale one would be pushed under a new tag).
push() {
  local archive=$1 ref=$2 dest=$3 err
  [[ $(tar_ref "$archive") == "$ref" ]] || die "$archive holds '$(tar_ref "$archive")', not $ref"
  say "pushing $ref to $dest"
  err=$(mktemp)
  if ! skopeo copy --quiet --retry-times 2 "${tls[@]}" "oci-archive:$archive:$ref" "docker://$dest" 2>"$err"; then
    cat "$err" >&2; rm -f "$err"
    die "registry $host refused $dest (skopeo copy failed above; for a private registry: skopeo login $host, or REGISTRY_AUTH_FILE)"
  fi
  rm -f "$err"
}
push "$OPERATOR_TAR" "$OPERATOR_IMAGE:$tag" "$registry/zdt-operator:$tag"
push "$ZDT_CACHE/images/zdt-drain-$helper_tag.tar" "$helper" "$registry/zdt-drain:$helper_tag"

values=$ZDT_CACHE/pushed-values.yaml
cat >"$values" <<YAML
# Written by e2e/operator/push.sh: the images it pushed to $registry.
image:
  repository: $registry/zdt-operator
  tag: "$tag"
  pullPolicy: IfNotPresent
drainHelper:
  image:
    repository: $registry/zdt-drain
    tag: "$helper_tag"
    pullPolicy: IfNotPresent
YAML
say "pushed $registry/zdt-operator:$tag and $registry/zdt-drain:$helper_tag; the same values are in $values"
cat <<EOF
helm install zdt-operator deploy/helm/zdt-operator -n zdt-system --create-namespace \\
  --set image.repository=$registry/zdt-operator --set image.tag=$tag \\
  --set drainHelper.image.repository=$registry/zdt-drain --set drainHelper.image.tag=$helper_tag
EOF
