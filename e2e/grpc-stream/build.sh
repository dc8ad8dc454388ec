#!/usr/bin/env bash
# Builds target/grpc/: grpc-stream.jar (the demo app's gRPC server, the load generator's gRPC kind) and
# the gRPC jars it runs on. The jars come from Maven Central through the project's Maven wrapper
# (pom.xml lists them; cached in ~/.m2, offline once fetched); the sources are compiled with javac, as
# the other e2e programs, against the demo app's and the load generator's jars (built first).
# Skips each part that is up to date. MAVEN_ARGS (e.g. -Dmaven.repo.local=...) reaches Maven.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/errexit.sh"
here=$(cd "$(dirname "$0")" && pwd)
"$here/../demo-app/build.sh" >/dev/null
"$here/../loadgen/build.sh" >/dev/null
cd "$here"
out=target/grpc
stamp=target/grpc.fetched # written once the jars of the current pom.xml are all in $out
if [[ ! -f $stamp || pom.xml -nt $stamp ]]; then
  rm -rf "$out" "$stamp"
  mvn=(../../mvnw -B -q -f pom.xml dependency:copy-dependencies)
  # Offline first: a warm ~/.m2 needs no network; a cold one fetches once.
  "${mvn[@]}" -o >/dev/null 2>&1 || "${mvn[@]}" || { echo "could not fetch the gRPC jars (pom.xml) from Maven Central" >&2; exit 1; }
  touch "$stamp"
  echo "fetched $(ls "$out" | wc -l) jars into $out"
fi
jar_path=$out/grpc-stream.jar
if [[ -f $jar_path && -z $(find src build.sh ../demo-app/target/demo-app.jar ../loadgen/target/loadgen.jar -newer "$jar_path" | head -1) ]]; then
  echo "$jar_path is up to date"
  exit 0
fi
rm -rf target/classes
mkdir -p target/classes
javac --release 17 -Xlint:all -Werror -cp "../demo-app/target/demo-app.jar:../loadgen/target/loadgen.jar:$out/*" \
  -d target/classes $(find src -name '*.java')
jar --create --file "$jar_path.tmp" -C target/classes .
mv "$jar_path.tmp" "$jar_path"
echo "built $jar_path"
