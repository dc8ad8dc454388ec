package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class IngressSpec {

    /** Path matching, as in networking.k8s.io/v1 Ingress. */
    public enum PathType { Prefix, Exact, ImplementationSpecific }

    @JsonPropertyDescription("IngressClass name, e.g. traefik. Empty uses the cluster's default IngressClass.")
    private String className;

    @JsonPropertyDescription("Host name the Ingress routes, a DNS name such as demo.example.com.")
    @Required
    @Pattern("^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    private String host;

    @JsonPropertyDescription("Path the Ingress routes; must start with '/'.")
    @Default("/")
    @Pattern("^/.*$")
    private String path = "/";

    @JsonPropertyDescription("Path matching: Prefix, Exact or ImplementationSpecific.")
    @Default("Prefix")
    private PathType pathType = PathType.Prefix;

    @JsonPropertyDescription("Name of a kubernetes.io/tls Secret in the app's namespace; when set, the Ingress terminates TLS for the host.")
    private String tlsSecretName;

    public String getClassName() { return className; }
    public void setClassName(String className) { this.className = className; }
    public String getHost() { return host; }
    public void setHost(String host) { this.host = host; }
    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
    public PathType getPathType() { return pathType; }
    public void setPathType(PathType pathType) { this.pathType = pathType; }
    public String getTlsSecretName() { return tlsSecretName; }
    public void setTlsSecretName(String tlsSecretName) { this.tlsSecretName = tlsSecretName; }
}
