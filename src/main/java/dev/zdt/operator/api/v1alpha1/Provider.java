package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The thing in front of the pods that has to stop sending traffic before a pod may stop. */
public enum Provider {
    @JsonProperty("traefik") TRAEFIK("traefik"),
    @JsonProperty("ingress-nginx") INGRESS_NGINX("ingress-nginx"),
    @JsonProperty("haproxy") HAPROXY("haproxy"),
    @JsonProperty("envoy") ENVOY("envoy"),
    @JsonProperty("aws-alb") AWS_ALB("aws-alb"),
    @JsonProperty("gce") GCE("gce"),
    @JsonProperty("azure-application-gateway") AZURE_APPLICATION_GATEWAY("azure-application-gateway"),
    @JsonProperty("health-probe") HEALTH_PROBE("health-probe"),
    @JsonProperty("generic") GENERIC("generic");

    private final String value;

    Provider(String value) {
        this.value = value;
    }

    /** The name used in the CRD and in messages. */
    public String value() {
        return value;
    }

    @Override
    public String toString() {
        return value;
    }
}
