package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class ServiceSpec {

    /** Service types the operator renders. */
    public enum Type { ClusterIP, NodePort, LoadBalancer }

    @JsonPropertyDescription("Port the Service exposes; it targets the serving container's port.")
    @Default("80")
    @Min(1)
    @Max(65535)
    private Integer port = 80;

    @JsonPropertyDescription("Service type: ClusterIP, NodePort or LoadBalancer.")
    @Default("ClusterIP")
    private Type type = Type.ClusterIP;

    public Integer getPort() { return port; }
    public void setPort(Integer port) { this.port = port; }
    public Type getType() { return type; }
    public void setType(Type type) { this.type = type; }
}
