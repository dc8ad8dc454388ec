#!/usr/bin/env bash
# stage.sh <dir>: lays the demo app out as its image has it (built first): <dir>/demo-app.jar, and
# <dir>/grpc/ with grpc-stream.jar and the gRPC jars. The image's command, and test.sh's:
#   java -cp '<dir>/demo-app.jar:<dir>/grpc/*' dev.zdt.demo.DemoApp
# (the gRPC server runs only with GRPC_PORT set; without it the app is the same as with -jar).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/errexit.sh"
(($# == 1)) || { echo "usage: stage.sh <dir>" >&2; exit 2; }
"$here/build.sh" >&2
mkdir -p "$1/grpc"
cp "$here/../demo-app/target/demo-app.jar" "$1/demo-app.jar"
cp "$here"/target/grpc/*.jar "$1/grpc/"
