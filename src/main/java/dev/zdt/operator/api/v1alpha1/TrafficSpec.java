package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

// Provider knobs without a schema default: their defaults depend on the provider, so they are
// filled in by DrainBudget and shown in status.drainBudget.derivation.
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.throttleSeconds) || self.provider == 'traefik'",
        message = "throttleSeconds applies only to provider traefik")
@ValidationRule(value = "!has(self.syncSeconds) || self.provider in ['ingress-nginx', 'haproxy']",
        message = "syncSeconds applies only to providers ingress-nginx and haproxy")
@ValidationRule(value = "!has(self.probe) || self.provider in ['health-probe', 'gce', 'azure-application-gateway', 'aws-alb']",
        message = "probe applies only to providers health-probe, gce, azure-application-gateway and aws-alb")
@ValidationRule(value = "!has(self.deregistrationDelaySeconds) || self.provider == 'aws-alb'",
        message = "deregistrationDelaySeconds applies only to provider aws-alb")
@ValidationRule(value = "self.provider != 'generic' || has(self.propagationSeconds)",
        message = "provider generic needs propagationSeconds: how long your front end takes to stop sending to a removed endpoint")
@ValidationRule(value = "self.verify != 'ingress' || self.provider in ['traefik', 'envoy', 'health-probe']",
        message = "verify: ingress is implemented for providers traefik, envoy (its admin API) and health-probe (an HAProxy's runtime API) only; use verify: endpoints for other providers")
@ValidationRule(value = "self.verify != 'ingress' || self.provider != 'health-probe' || has(self.controller)",
        message = "verify: ingress with provider health-probe needs controller: the Service in front of HAProxy's runtime API (a TCP port; apiUrl does not apply)")
@ValidationRule(value = "self.verify != 'ingress' || has(self.controller) || has(self.apiUrl)",
        message = "verify: ingress needs controller, the Service in front of the ingress controller's API (namespace, service, port), or apiUrl for a single instance")
@ValidationRule(value = "!(has(self.controller) && has(self.apiUrl))",
        message = "set controller or apiUrl, not both: controller asks every replica, apiUrl one instance")
public class TrafficSpec {

    /** How the gate confirms that the front end stopped sending to a pod. */
    public enum Verify {
        @JsonProperty("endpoints") ENDPOINTS,
        @JsonProperty("ingress") INGRESS,
        @JsonProperty("none") NONE
    }

    @JsonPropertyDescription("The ingress controller or load balancer in front of the pods: traefik, ingress-nginx, haproxy, envoy (Envoy under Contour, Envoy Gateway or another xDS control plane), aws-alb, gce, azure-application-gateway, health-probe (any load balancer that polls a health endpoint) or generic (give propagationSeconds).")
    @Required
    private Provider provider;

    @JsonPropertyDescription("traefik: providers throttle duration in seconds (Traefik's providersThrottleDuration; default 2).")
    @Min(0)
    @Max(600)
    private Integer throttleSeconds;

    @JsonPropertyDescription("ingress-nginx, haproxy: seconds between the controller's applications of endpoint changes (ingress-nginx default 4, from --sync-rate-limit 0.3/s; legacy releases 30; haproxy default 5, from --sync-period).")
    @Min(0)
    @Max(600)
    private Integer syncSeconds;

    @JsonPropertyDescription("health-probe, gce, azure-application-gateway, aws-alb: the load balancer's health check. Unset fields take the provider's documented defaults.")
    private ProbeSpec probe;

    @JsonPropertyDescription("aws-alb: the target group's deregistration delay in seconds (AWS default 300). It should be at least twice drain.maxRequestSeconds.")
    @Min(0)
    @Max(3600)
    private Integer deregistrationDelaySeconds;

    @JsonPropertyDescription("Seconds a controller that watches the Kubernetes API needs to see an EndpointSlice change (watch and informer latency).")
    @Default("2")
    @Min(0)
    @Max(60)
    private Integer watchSeconds = 2;

    @JsonPropertyDescription("Override of the derived propagation time: seconds from an endpoint's removal until the front end stops sending to it. Required for provider generic.")
    @Min(0)
    @Max(3600)
    private Integer propagationSeconds;

    @JsonPropertyDescription("How removal is confirmed before a pod is released: endpoints (EndpointSlices, then the propagation time), ingress (ask every replica of the front end: traefik through its API, envoy through its admin API, each needs controller or apiUrl; health-probe through an HAProxy's runtime API, needs controller) or none (hold for the full hold time).")
    @Default("endpoints")
    private Verify verify = Verify.ENDPOINTS;

    @JsonPropertyDescription("verify: ingress: the Service in front of the ingress controller's API (traefik: its HTTP API; health-probe: an HAProxy's runtime API on TCP, level user). The operator asks every ready replica behind it and releases a pod only when all of them stopped routing to it.")
    private ControllerRef controller;

    @JsonPropertyDescription("verify: ingress, single instance: base URL of one ingress controller's API, e.g. http://10.88.0.1:9000. Only that one instance is asked. Accepted only when the cluster admin lists the URL in the operator's allow-list (zdt.ingress.allowed-api-urls, chart value ingress.allowedApiUrls); otherwise use controller.")
    @io.fabric8.generator.annotation.Pattern("^https?://[^/?#@]+(/[^?#]*)?$")
    private String apiUrl;

    public Provider getProvider() { return provider; }
    public void setProvider(Provider provider) { this.provider = provider; }
    public Integer getThrottleSeconds() { return throttleSeconds; }
    public void setThrottleSeconds(Integer throttleSeconds) { this.throttleSeconds = throttleSeconds; }
    public Integer getSyncSeconds() { return syncSeconds; }
    public void setSyncSeconds(Integer syncSeconds) { this.syncSeconds = syncSeconds; }
    public ProbeSpec getProbe() { return probe; }
    public void setProbe(ProbeSpec probe) { this.probe = probe; }
    public Integer getDeregistrationDelaySeconds() { return deregistrationDelaySeconds; }
    public void setDeregistrationDelaySeconds(Integer v) { this.deregistrationDelaySeconds = v; }
    public Integer getWatchSeconds() { return watchSeconds; }
    public void setWatchSeconds(Integer watchSeconds) { this.watchSeconds = watchSeconds; }
    public Integer getPropagationSeconds() { return propagationSeconds; }
    public void setPropagationSeconds(Integer propagationSeconds) { this.propagationSeconds = propagationSeconds; }
    public Verify getVerify() { return verify; }
    public void setVerify(Verify verify) { this.verify = verify; }
    public ControllerRef getController() { return controller; }
    public void setController(ControllerRef controller) { this.controller = controller; }
    public String getApiUrl() { return apiUrl; }
    public void setApiUrl(String apiUrl) { this.apiUrl = apiUrl; }
}
