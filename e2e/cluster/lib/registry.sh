# shellcheck shell=bash
# The image registry: CNCF Distribution (built from its Go module like the rest) as a host
# process on 127.0.0.1:$REGISTRY_PORT, its storage under $ZDT_CACHE/registry so that pushed images
# survive `down`. containerd pulls from it over plain HTTP (the hosts.toml that
# write_containerd_config writes); e2e/operator/push.sh pushes the operator's images to it.

start_registry() {
  mkdir -p "$ZDT_RUN/registry" "$REGISTRY_STORAGE"
  write_config "$ZDT_RUN/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  # A test registry: old tags may be deleted by hand (skopeo delete), nothing else needs it.
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  # Loopback only: containerd and skopeo run on this host; nothing outside may push or pull.
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
  # No OpenTelemetry collector here: without these the registry tries to export traces to one.
  start_bg registry env OTEL_TRACES_EXPORTER=none OTEL_SDK_DISABLED=true \
    "$REGISTRY_BIN/registry" serve "$ZDT_RUN/registry/config.yml"
  wait_for 30 "registry on $REGISTRY_HOST" curl -fsS "http://$REGISTRY_HOST/v2/" ||
    { check_alive registry; die "the registry does not answer on http://$REGISTRY_HOST/v2/"; }
}
