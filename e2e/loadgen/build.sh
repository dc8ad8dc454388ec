#!/usr/bin/env bash
# Builds target/loadgen.jar (the benchmark builds it on the host in about a second).
exec "$(dirname "$0")/../lib/jdk-jar.sh" "$(dirname "$0")" loadgen.jar dev.zdt.loadgen.LoadGen
