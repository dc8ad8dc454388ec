#!/usr/bin/env bash
# The drain gate benchmark (issue 5, item 7), one command: N concurrent held gate calls (default
# 1,000) against a real kube-apiserver + etcd; heap and live threads while held, release latency
# p50/p99 after the EndpointSlice change. Writes e2e/results/gate-bench.json.
#   e2e/gate-bench/run.sh                 # 1,000 calls
#   e2e/gate-bench/run.sh -Dzdt.bench.calls=2000
# Needs the API server binaries: e2e/cluster/zdt-cluster build api
set -euo pipefail
cd "$(dirname "$0")/../.."
./mvnw -B -q test -Dtest=GateBench -Dzdt.bench=true -Dsurefire.failIfNoSpecifiedTests=false "$@"
cat e2e/results/gate-bench.json
