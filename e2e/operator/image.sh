#!/usr/bin/env bash
# Builds the operator (Quarkus fast-jar) as localhost/zdt-operator:<hash of its sources>, on the JRE
# base image, into $ZDT_CACHE/images/zdt-operator.tar, and imports it into the local cluster's
# containerd: no Docker engine. --no-import: only the tar (push.sh copies it to a registry).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

import=1
[[ ${1:-} == --no-import ]] && import=0
tag=$(operator_tag)
if ((import)) && ctr --address "$ZDT_CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -xF "$OPERATOR_IMAGE:$tag" >/dev/null; then
  say "$OPERATOR_IMAGE:$tag is already in containerd (same sources)"
  echo "$tag"
  exit 0
fi
if ((!import)) && [[ $(tar_ref "$OPERATOR_TAR") == "$OPERATOR_IMAGE:$tag" ]]; then
  say "$OPERATOR_IMAGE:$tag is already built ($OPERATOR_TAR, same sources)"
  echo "$tag"
  exit 0
fi
say "building the operator"
(cd "$ROOT" && ./mvnw -B -q package -DskipTests)
say "image $OPERATOR_IMAGE:$tag"
IMAGE_NO_IMPORT=$((1 - import)) "$CLUSTER" image-from-dir "$OPERATOR_IMAGE:$tag" "$ROOT/target/quarkus-app" /app \
  java -XX:MaxRAMPercentage=75 -jar /app/quarkus-run.jar
echo "$tag"
