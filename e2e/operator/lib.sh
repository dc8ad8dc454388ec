# Shared by the operator scripts: where things are and how the operator is named in the cluster.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/e2e/lib/errexit.sh"
source "$ROOT/e2e/lib/metrics.sh"
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
eval "$("$CLUSTER" env)"
RELEASE=${ZDT_RELEASE:-zdt-operator}
OPERATOR_NS=${ZDT_OPERATOR_NS:-zdt-system}
OPERATOR_IMAGE=localhost/zdt-operator
# image-from-dir names the tar after the image: one tar, holding the last build's tag.
OPERATOR_TAR=$ZDT_CACHE/images/zdt-operator.tar

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The tag names the build's inputs (the main sources and the build files): Quarkus's generated
# bytecode differs from build to build, so a tag over the output changed on every install and
# rolled the operator (and waited out its 60 s leader Lease) even when nothing had changed.
operator_tag() {
  (cd "$ROOT" && find src/main pom.xml .mvn -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

# tar_ref <OCI archive>: the reference its (only) image is tagged with, empty when there is no tar.
tar_ref() {
  [[ -f $1 ]] || return 0
  tar -xOf "$1" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"] // empty'
}

# The references install.sh installs from the cluster's registry (push.sh pushes them there):
# registry_ref operator|helper.
registry_ref() {
  case $1 in
    operator) echo "$ZDT_REGISTRY/zdt-operator:$(operator_tag)" ;;
    helper) echo "$ZDT_REGISTRY/zdt-drain:$("$CLUSTER" drain-helper-ref | sed 's/.*://')" ;;
  esac
}
