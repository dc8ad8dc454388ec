# shellcheck shell=bash
# HAProxy as an external probing load balancer in front of a bench app's pods (scenarios
# plain-haproxy and gate-haproxy), run as a host process of our own (Debian's haproxy 2.6, which
# `zdt-cluster deps` installs; never the packaged service):
#
#   web      127.0.0.1:$HAPROXY_WEB_PORT      the load goes here (mode http, no retry elsewhere:
#                                             like a cloud balancer, it does not re-send a failed request)
#   runtime  $ZDT_NODE_IP:$HAPROXY_API_PORT   stats socket, level user: `show servers state`
#
# Servers come from DNS: `server-template` slots filled from the SRV records of a headless Service
# (app-probed, publishNotReadyAddresses false), resolved through the cluster's CoreDNS every
# second. Kubernetes marks a terminating pod's endpoint not ready at once, so the pod leaves DNS
# when its drain starts (after CoreDNS's 5 s cache at most) and HAProxy takes the slot out. The
# HTTP health check (GET /healthz every HAPROXY_INTER_S, DOWN after HAPROXY_FALL failures or
# timeouts of HAPROXY_CHECK_TIMEOUT_S; the app's traffic.probe says the same) is the
# probe's part: it catches a pod that dies or stops answering; the demo app fails it only on
# SIGTERM, which comes after the hold.
#
# The runtime API is exposed to the operator as Service zdt-ingress/haproxy (port name runtime),
# selector-less, with a hand-written EndpointSlice, as e2e/cluster/lib/traefik.sh does for Traefik.

HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
HAPROXY_WEB_PORT=${HAPROXY_WEB_PORT:-8193}
HAPROXY_API_PORT=${HAPROXY_API_PORT:-8194}
HAPROXY_INTER_S=${HAPROXY_INTER_S:-2}
# 1 s checks timed out under the bench's load (first run); a probe's timeout may not exceed its interval.
HAPROXY_CHECK_TIMEOUT_S=${HAPROXY_CHECK_TIMEOUT_S:-2}
HAPROXY_FALL=${HAPROXY_FALL:-3}
HAPROXY_PID=""

# haproxy_start <ns> <dir> <pod selector, e.g. app: app>: the headless Service, the config, the process, the Service of its runtime API.
haproxy_start() {
  local ns=$1 dir=$2 selector=$3
  [[ -x $HAPROXY_BIN ]] || "$CLUSTER" deps >/dev/null
  [[ -x $HAPROXY_BIN ]] || die "no $HAPROXY_BIN: apt-get install haproxy"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: app-probed, namespace: $ns}
spec:
  clusterIP: None
  selector: {$selector}
  ports: [{name: http, port: 8080, targetPort: http}]
YAML
  # HAPROXY_SERVERS=srv (default): the Service's SRV records, one target name per pod, so that a
  # pod keeps its slot; a: its A records (the first runs: HAProxy 2.6 moved addresses between
  # slots whenever the answer changed and failed requests before any rollout).
  local target="_http._tcp.app-probed.$ns.svc.cluster.local"
  [[ ${HAPROXY_SERVERS:-srv} == a ]] && target="app-probed.$ns.svc.cluster.local:8080"
  cat >"$dir/haproxy.cfg" <<CFG
global
  stats socket ipv4@$ZDT_NODE_IP:$HAPROXY_API_PORT level user
  pidfile $dir/haproxy.pid
resolvers cluster
  nameserver coredns $ZDT_NODE_IP:53
  accepted_payload_size 8192
  resolve_retries 3
  timeout resolve 1s
  timeout retry 1s
  hold valid 1s
  # A pod's record gone from a good answer: its slot leaves at once. A failed answer (timeout,
  # refused, other error, or NX) keeps the last good one for 30 s: with 0 s, one DNS hiccup of
  # CoreDNS under load put every slot in maintenance at once (first run: 503 "no server available").
  hold obsolete 0s
  hold nx 30s
  hold refused 30s
  hold timeout 30s
  hold other 30s
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout check ${HAPROXY_CHECK_TIMEOUT_S}s
frontend web
  bind 127.0.0.1:$HAPROXY_WEB_PORT
  default_backend app
backend app
  balance roundrobin
  option httpchk GET /healthz
  default-server inter ${HAPROXY_INTER_S}s fall $HAPROXY_FALL rise 1
  server-template pod 1-10 $target check resolvers cluster init-addr none resolve-prefer ipv4
CFG
  "$HAPROXY_BIN" -c -q -f "$dir/haproxy.cfg" || die "haproxy refused $dir/haproxy.cfg"
  "$HAPROXY_BIN" -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: haproxy, namespace: zdt-ingress, labels: {zdt.dev/front-end: "true"}}
spec:
  ports: [{name: runtime, port: 9999, targetPort: $HAPROXY_API_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: haproxy-host-1
  namespace: zdt-ingress
  labels: {kubernetes.io/service-name: haproxy, endpointslice.kubernetes.io/managed-by: zdt-bench}
addressType: IPv4
ports: [{name: runtime, port: $HAPROXY_API_PORT, protocol: TCP}]
endpoints:
- addresses: ["$ZDT_NODE_IP"]
  conditions: {ready: true}
YAML
  local i
  for i in $(seq 1 60); do
    haproxy_servers >/dev/null 2>&1 && return 0
    kill -0 "$HAPROXY_PID" 2>/dev/null || { cat "$dir/haproxy.log" >&2; die "haproxy exited"; }
    sleep 0.5
  done
  die "haproxy's runtime API did not answer on $ZDT_NODE_IP:$HAPROXY_API_PORT"
}

haproxy_servers() { # the servers HAProxy routes to now, one a line (http://ip:port)
  PYTHONPATH="$ROOT" python3 -m e2e.rollout.haproxy_sampler --api "$ZDT_NODE_IP:$HAPROXY_API_PORT" --backend app --once
}

# haproxy_wait_routes <n>: until HAProxy routes to n servers (DNS filled the slots, checks passed).
haproxy_wait_routes() {
  local deadline=$(($(date +%s) + 60))
  until (($(haproxy_servers 2>/dev/null | grep -c .) == $1)); do
    (($(date +%s) < deadline)) || die "HAProxy does not route to $1 pods: $(haproxy_servers 2>&1 | tr '\n' ' ')"
    sleep 0.5
  done
}

# haproxy_stop: the process ends and its Service's endpoint goes (no operator asks a stopped HAProxy).
haproxy_stop() {
  [[ -n $HAPROXY_PID ]] || return 0
  kill "$HAPROXY_PID" 2>/dev/null || true
  wait "$HAPROXY_PID" 2>/dev/null || true
  HAPROXY_PID=""
  kubectl -n zdt-ingress delete endpointslice haproxy-host-1 --ignore-not-found >/dev/null
}
