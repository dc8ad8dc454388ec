# shellcheck shell=bash
# A scraper of the operator's /q/metrics, as Prometheus is one: the operator answers only a bearer
# token whose user may get that URL (metrics/MetricsAuth), which the chart's ClusterRole
# <release>-metrics-reader grants. Sourced by the harness scripts that read the metrics.
#
# metrics_token [release] [namespace]: makes (once; apply is idempotent) the ServiceAccount
# zdt-metrics-scraper in the operator's namespace and its ClusterRoleBinding to
# <release>-metrics-reader, and prints a token of it, valid for ZDT_METRICS_TOKEN_DURATION (24h).
# Defaults: $RELEASE and $OPERATOR_NS. ZDT_KUBECTL names the kubectl to run (a command or a shell
# function; default kubectl). Mint it once per run and keep it in a variable: each call asks the
# API server three times.
metrics_token() {
  local release=${1:-${RELEASE:-zdt-operator}} ns=${2:-${OPERATOR_NS:-zdt-system}} kc=${ZDT_KUBECTL:-kubectl}
  local sa=zdt-metrics-scraper
  "$kc" -n "$ns" create serviceaccount "$sa" --dry-run=client -o yaml | "$kc" apply -f - >/dev/null
  "$kc" create clusterrolebinding "$release-metrics-scraper" --clusterrole "$release-metrics-reader" \
    --serviceaccount "$ns:$sa" --dry-run=client -o yaml | "$kc" apply -f - >/dev/null
  "$kc" -n "$ns" create token "$sa" --duration "${ZDT_METRICS_TOKEN_DURATION:-24h}"
}
