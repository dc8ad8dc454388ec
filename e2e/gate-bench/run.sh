#!/usr/bin/env bash
# The drain gate benchmark (issue 5, item 7), one command. Against a real kube-apiserver + etcd, N
# (default 1,000) concurrent held gate calls sent by a separate client JVM (HeldCallsClient: one
# NIO selector thread, so its cost is not counted as the gate's), in two scenarios:
#   burst:     N app-scoped calls released together by one EndpointSlice update;
#   staggered: N pod-scoped calls, the pods' endpoints removed one at a time while the rest stay held.
# The burst runs twice: first in a JVM that started seconds before (still compiling), then again
# after the staggered scenario (warm).
# Reports heap and live threads of the gate's JVM while held, and latency (p50/p99/max) from just
# before the EndpointSlice update is sent to the gate's decision, to the gate's HTTP server having
# written each answer (bursts), and to each answer's arrival at the client.
# Writes e2e/results/gate-bench.json.
#   e2e/gate-bench/run.sh                                 # 1,000 calls
#   e2e/gate-bench/run.sh -Dzdt.bench.calls=2000          # more (raise zdt.gate.max-holds-per-app too)
#   e2e/gate-bench/run.sh -Dzdt.bench.staggered-batch=10  # staggered releases 10 pods per update
#   e2e/gate-bench/run.sh "-Dzdt.bench.client-prefix=nice -n -10"   # the client ahead of the gate for CPU
#   e2e/gate-bench/run.sh -DargLine=-XX:StartFlightRecording=filename=/tmp/gate.jfr,settings=profile
#   e2e/gate-bench/run.sh -Dzdt.bench.client-jvm-args=-XX:StartFlightRecording=filename=/tmp/client.jfr
# Needs the API server binaries: e2e/cluster/zdt-cluster build api
set -euo pipefail
cd "$(dirname "$0")/../.."
source e2e/lib/errexit.sh
./mvnw -B -q test -Dtest=GateBench -Dzdt.bench=true -Dsurefire.failIfNoSpecifiedTests=false "$@"
cat e2e/results/gate-bench.json
