# Shared by the operator scripts: where things are and how the operator is named in the cluster.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=$ROOT/e2e/cluster/zdt-cluster
eval "$("$CLUSTER" env)"
RELEASE=${ZDT_RELEASE:-zdt-operator}
OPERATOR_NS=${ZDT_OPERATOR_NS:-zdt-system}
OPERATOR_IMAGE=localhost/zdt-operator

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The tag names the build's content, so an unchanged operator is not re-imported and a changed
# one rolls the operator pods.
operator_tag() {
  (cd "$ROOT/target/quarkus-app" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}
