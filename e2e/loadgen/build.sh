#!/usr/bin/env bash
# Builds target/loadgen.jar from src/ with the JDK alone (no Maven: the benchmark builds it on the host in about a second).
set -euo pipefail
cd "$(dirname "$0")"
jar_path=target/loadgen.jar
# Idempotent: skip the compiler when no source is newer than the jar.
if [[ -f $jar_path && -z $(find src build.sh -newer "$jar_path" -type f | head -1) ]]; then
  echo "$jar_path is up to date"
  exit 0
fi
rm -rf target/classes
mkdir -p target/classes
javac --release 17 -Xlint:all -Werror -d target/classes $(find src -name '*.java')
jar --create --file "$jar_path.tmp" --main-class dev.zdt.loadgen.LoadGen -C target/classes .
mv "$jar_path.tmp" "$jar_path"
echo "built $jar_path"
