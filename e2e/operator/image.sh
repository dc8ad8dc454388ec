#!/usr/bin/env bash
# Builds the operator (Quarkus fast-jar) and imports it as localhost/zdt-operator:<content hash>
# into the local cluster's containerd, on the JRE base image: no Docker engine, no registry.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say "building the operator"
(cd "$ROOT" && ./mvnw -B -q package -DskipTests)
tag=$(operator_tag)
say "importing $OPERATOR_IMAGE:$tag"
"$CLUSTER" image-from-dir "$OPERATOR_IMAGE:$tag" "$ROOT/target/quarkus-app" /app \
  java -XX:MaxRAMPercentage=75 -jar /app/quarkus-run.jar
echo "$tag"
