package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.IntOrString;

/**
 * The ingress controller's replicas, named by the Service in front of its API: the operator asks
 * every ready endpoint of that Service's EndpointSlices, each at its own address.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ControllerRef {

    @JsonPropertyDescription("Namespace of the controller's Service, e.g. kube-system.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    private String namespace;

    @JsonPropertyDescription("Name of a Service whose endpoints are the controller's replicas (pod-backed, or selector-less with EndpointSlices written by hand), e.g. traefik.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    private String service;

    @JsonPropertyDescription("The Service port, by name or number, that reaches the controller's API on each replica (for Traefik the entrypoint serving /api, often named traefik; for Envoy its admin listener). Each replica is asked at its endpoint address and the EndpointSlice's port of that name.")
    @Required
    private IntOrString port;

    public String getNamespace() { return namespace; }
    public void setNamespace(String namespace) { this.namespace = namespace; }
    public String getService() { return service; }
    public void setService(String service) { this.service = service; }
    public IntOrString getPort() { return port; }
    public void setPort(IntOrString port) { this.port = port; }
}
