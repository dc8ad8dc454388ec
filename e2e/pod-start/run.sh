#!/usr/bin/env bash
# What the drain helper's init container adds to a pod's start: the same ZeroDowntimeApp in exec
# mode (same readiness gate, no init container) and in gate mode (the init container copies the
# helper), rounds alternating, every pod timed from its first appearance in a watch to Ready=True
# on this script's own clock (millisecond resolution; API timestamps have only seconds).
# Writes e2e/results/pod-start.json and the raw watch lines to e2e/results/pod-start-runs/.
#
#   e2e/pod-start/run.sh [--rounds N]     (default 4 rounds of 3 pods per mode)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../rollout/lib.sh"
ROUNDS=4
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
THROTTLE=${BENCH_THROTTLE:-8}
REPLICAS=3
OUT=$ROOT/e2e/results
RUNS=$OUT/pod-start-runs
rm -rf "$RUNS"; mkdir -p "$RUNS"
bench_prepare

round() { # round <mode> <n>
  local mode=$1 n=$2 ns="podstart-$1-$2" file="$RUNS/$1-$2.txt" watch
  kubectl delete namespace "$ns" --ignore-not-found --wait=true >/dev/null
  kubectl create namespace "$ns" >/dev/null
  kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=baseline >/dev/null
  # Each watch line stamped with this machine's clock in ms.
  kubectl -n "$ns" get pods -w -o jsonpath='{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}' |
    while IFS= read -r line; do printf '%s %s\n' "$(date +%s%3N)" "$line"; done >"$file" &
  watch=$!
  sleep 1 # the watch is established before the first pod exists
  zdt_app "$ns" v1 "$mode" "$REPLICAS" | kubectl apply -f - >/dev/null
  local deadline=$(($(date +%s) + 120))
  until kubectl -n "$ns" get deploy app >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || die "$ns: no Deployment"
    sleep 0.2
  done
  kubectl -n "$ns" wait --for=condition=Available deploy/app --timeout=180s >/dev/null || die "$ns: not available"
  sleep 1
  kill "$watch" 2>/dev/null || true
  pkill -P "$watch" 2>/dev/null || true
  kubectl -n "$ns" get pods -o json >"$RUNS/$1-$2.pods.json"
  kubectl delete namespace "$ns" --wait=false >/dev/null
  say "$mode round $n done"
}

for n in $(seq 1 "$ROUNDS"); do
  if ((n % 2)); then round exec "$n"; round gate "$n"; else round gate "$n"; round exec "$n"; fi
done

python3 - "$RUNS" "$OUT/pod-start.json" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import glob, json, os, statistics, sys
runs, out, cpus, load = sys.argv[1:5]
per_mode = {}
for path in sorted(glob.glob(os.path.join(runs, "*.txt"))):
    mode = os.path.basename(path).split("-")[0]
    seen, ready = {}, {}
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        t, pod, status = int(parts[0]), parts[1], (parts[2] if len(parts) > 2 else "")
        seen.setdefault(pod, t)
        if status == "True":
            ready.setdefault(pod, t)
    pods = json.load(open(path[:-4] + ".pods.json"))["items"]
    inits = {p["metadata"]["name"]: [c["name"] for c in p["spec"].get("initContainers", [])] for p in pods}
    for pod, t in seen.items():
        if pod in ready:
            per_mode.setdefault(mode, []).append({"pod": pod, "startToReadyMs": ready[pod] - t,
                                                  "initContainers": inits.get(pod, [])})
res = {"cpus": int(cpus), "loadavg": load, "modes": {}}
for mode, pods in per_mode.items():
    ms = sorted(p["startToReadyMs"] for p in pods)
    res["modes"][mode] = {"pods": len(ms), "medianMs": statistics.median(ms), "minMs": ms[0], "maxMs": ms[-1],
                          "withInitContainer": sum(1 for p in pods if p["initContainers"]), "samples": pods}
if "gate" in res["modes"] and "exec" in res["modes"]:
    g, e = res["modes"]["gate"]["medianMs"], res["modes"]["exec"]["medianMs"]
    res["gateMinusExecMedianMs"] = g - e
    res["gateOverExecMedianRatio"] = round(g / e, 2)
json.dump(res, open(out, "w"), indent=2)
for mode, m in res["modes"].items():
    print("%-5s %2d pods: creation -> Ready median %d ms (min %d, max %d); with the helper's init container: %d"
          % (mode, m["pods"], m["medianMs"], m["minMs"], m["maxMs"], m["withInitContainer"]))
if "gateMinusExecMedianMs" in res:
    print("gate - exec median: %+d ms (ratio %.2f)" % (res["gateMinusExecMedianMs"], res["gateOverExecMedianRatio"]))
PY
gzip -f "$RUNS"/*.txt "$RUNS"/*.json
