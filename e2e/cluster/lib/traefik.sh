# shellcheck shell=bash
# Traefik as the ingress controller, run as a host process (restartable on its own with
# `zdt-cluster restart-traefik`, e.g. to change the throttle).
#
#   web entrypoint  0.0.0.0:$TRAEFIK_WEB_PORT  host: http://127.0.0.1:8081, pods: http://10.244.0.1:8081
#   API entrypoint  $NODE_IP:$TRAEFIK_API_PORT host and pods: http://10.244.0.1:8082/api/http/services
#
# TRAEFIK_THROTTLE (default 2s, Traefik's own default) sets providers.providersThrottleDuration:
# how long Traefik batches provider changes before applying them, i.e. the propagation delay
# the benchmark wants to vary.

start_traefik() {
  mkdir -p "$ZDT_RUN/traefik"
  # `TRAEFIK_THROTTLE=10s zdt-cluster up` on a running cluster must not keep the old throttle;
  # a plain `up` leaves a running Traefik alone. $ZDT_RUN/traefik/throttle is the running value.
  if is_running traefik && [[ -n $TRAEFIK_THROTTLE_ASKED ]] &&
     [[ $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null) != "$TRAEFIK_THROTTLE" ]]; then
    say "Traefik runs with throttle $(cat "$ZDT_RUN/traefik/throttle" 2>/dev/null), $TRAEFIK_THROTTLE asked: restarting it"
    stop_bg 10 traefik
  fi
  local accesslog=()
  [[ ${TRAEFIK_ACCESSLOG:-0} == 1 ]] && accesslog=(--accesslog=true "--accesslog.filepath=$LOGS/traefik-access.log")
  is_running traefik || echo "$TRAEFIK_THROTTLE" >"$ZDT_RUN/traefik/throttle"
  # KUBECONFIG makes the provider use our client certificate (user zdt-traefik, see RBAC).
  start_bg traefik env KUBECONFIG="$PKI/traefik.kubeconfig" "$TRAEFIK_BIN/traefik" \
    --global.checkNewVersion=false --global.sendAnonymousUsage=false \
    --entryPoints.web.address=":$TRAEFIK_WEB_PORT" \
    --entryPoints.traefik.address="$NODE_IP:$TRAEFIK_API_PORT" \
    --api=true --api.insecure=true --api.dashboard=false \
    --ping=true --ping.entryPoint=traefik \
    --providers.providersThrottleDuration="$TRAEFIK_THROTTLE" \
    --providers.kubernetesIngress=true \
    --providers.kubernetesIngress.ingressClass=traefik \
    --providers.kubernetesIngress.ingressEndpoint.ip="$NODE_IP" \
    --log.level="${TRAEFIK_LOG_LEVEL:-INFO}" "${accesslog[@]}"
  wait_for 30 "Traefik /ping" curl -fsS "http://$NODE_IP:$TRAEFIK_API_PORT/ping" ||
    { check_alive traefik; die "Traefik did not answer on its API entrypoint"; }
  # /ping answers before the provider's first configuration is applied (one throttle later):
  # when Ingresses exist, wait until Traefik routes them, so a restart is over when we return.
  if [[ -n $(kubectl_admin get ingress -A -o jsonpath='{.items[?(@.spec.ingressClassName=="traefik")].metadata.name}' 2>/dev/null) ]]; then
    wait_for 60 "Traefik to load the Ingresses" traefik_has_kubernetes_routers ||
      warn "Traefik has not loaded the Ingresses yet"
  fi
  say "Traefik up (throttle $(cat "$ZDT_RUN/traefik/throttle"))"
}

traefik_has_kubernetes_routers() {
  curl -fsS "http://$NODE_IP:$TRAEFIK_API_PORT/api/http/routers" | grep -F '@kubernetes' >/dev/null
}

cmd_restart_traefik() {
  need_root
  stop_bg 10 traefik
  start_traefik
}
