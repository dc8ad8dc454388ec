#!/usr/bin/env bash
# jdk-jar.sh <project dir> <jar name> <main class>: builds <dir>/target/<jar> from <dir>/src with
# the JDK alone (no Maven: the e2e programs must build fast and offline). Skips the compiler when
# no source is newer than the jar.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/errexit.sh"
cd "$1"
jar_path=target/$2
if [[ -f $jar_path && -z $(find src build.sh -newer "$jar_path" -type f | head -1) ]]; then
  echo "$jar_path is up to date"
  exit 0
fi
rm -rf target/classes
mkdir -p target/classes
javac --release 17 -Xlint:all -Werror -d target/classes $(find src -name '*.java')
jar --create --file "$jar_path.tmp" --main-class "$3" -C target/classes .
mv "$jar_path.tmp" "$jar_path"
echo "built $jar_path"
