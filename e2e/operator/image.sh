#!/usr/bin/env bash
# Builds the operator (Quarkus fast-jar) and imports it as localhost/zdt-operator:<hash of its sources>
# into the local cluster's containerd, on the JRE base image: no Docker engine, no registry.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

tag=$(operator_tag)
if ctr --address "$ZDT_CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -xF "$OPERATOR_IMAGE:$tag" >/dev/null; then
  say "$OPERATOR_IMAGE:$tag is already in containerd (same sources)"
  echo "$tag"
  exit 0
fi
say "building the operator"
(cd "$ROOT" && ./mvnw -B -q package -DskipTests)
say "importing $OPERATOR_IMAGE:$tag"
"$CLUSTER" image-from-dir "$OPERATOR_IMAGE:$tag" "$ROOT/target/quarkus-app" /app \
  java -XX:MaxRAMPercentage=75 -jar /app/quarkus-run.jar
echo "$tag"
