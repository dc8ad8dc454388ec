package dev.zdt.operator.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** A Gateway API HTTPRoute the operator renders for the app instead of an Ingress. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RouteSpec {

    /** Path matching, as in gateway.networking.k8s.io/v1 HTTPRoute. */
    public enum PathType { PathPrefix, Exact }

    @JsonPropertyDescription("The Gateways (or their listeners) the HTTPRoute attaches to, e.g. [{name: traefik-gateway, namespace: traefik}]. The Gateway's listener must allow routes from the app's namespace.")
    @Required
    @Size(min = 1, max = 16)
    private List<ParentRef> parentRefs = new ArrayList<>();

    @JsonPropertyDescription("Host names the HTTPRoute matches, e.g. [demo.example.com]; the API server checks them against the HTTPRoute's own schema. Empty matches every host the Gateway's listener accepts.")
    @Size(max = 16)
    private List<String> hostnames;

    @JsonPropertyDescription("Path the HTTPRoute matches; must start with '/'.")
    @Default("/")
    @Pattern("^/.*$")
    private String path = "/";

    @JsonPropertyDescription("Path matching: PathPrefix or Exact.")
    @Default("PathPrefix")
    private PathType pathType = PathType.PathPrefix;

    public List<ParentRef> getParentRefs() { return parentRefs; }
    public void setParentRefs(List<ParentRef> parentRefs) { this.parentRefs = parentRefs; }
    public List<String> getHostnames() { return hostnames; }
    public void setHostnames(List<String> hostnames) { this.hostnames = hostnames; }
    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
    public PathType getPathType() { return pathType; }
    public void setPathType(PathType pathType) { this.pathType = pathType; }

    /** One Gateway the route attaches to: a parentRef of kind Gateway. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ParentRef {

        @JsonPropertyDescription("Name of the Gateway.")
        @Required
        @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
        private String name;

        @JsonPropertyDescription("Namespace of the Gateway. Defaults to the app's namespace.")
        @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        private String namespace;

        @JsonPropertyDescription("Name of one listener of the Gateway to attach to. Empty attaches to every listener that accepts the route.")
        @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
        private String sectionName;

        public String getName() { return name; }
        public void setName(String name) { this.name = name; }
        public String getNamespace() { return namespace; }
        public void setNamespace(String namespace) { this.namespace = namespace; }
        public String getSectionName() { return sectionName; }
        public void setSectionName(String sectionName) { this.sectionName = sectionName; }
    }
}
