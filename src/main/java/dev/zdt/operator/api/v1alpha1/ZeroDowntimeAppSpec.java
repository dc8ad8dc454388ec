package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.template.spec.terminationGracePeriodSeconds)",
        message = "template.spec.terminationGracePeriodSeconds is derived by the operator from the drain budget; remove it, or set drain.terminationGracePeriodSeconds to override the derived value")
@ValidationRule(value = "!(has(self.ingress) && has(self.route))",
        message = "set ingress or route, not both: ingress renders a networking.k8s.io Ingress, route a Gateway API HTTPRoute")
@ValidationRule(value = "self.template.spec.containers.size() > 0",
        message = "template.spec.containers must name at least one container")
// containerName and port are checked by the operator (InvalidSpec): a CEL rule over the unbounded
// containers list exceeds the API server's cost budget.
public class ZeroDowntimeAppSpec {

    @JsonPropertyDescription("Number of pods. The operator keeps this many ready pods through every rollout (maxUnavailable defaults to 0).")
    @Default("2")
    @Min(0)
    @Max(1000)
    private Integer replicas = 2;

    @JsonPropertyDescription("The pod template, as in a Deployment. The operator adds its own labels, the preStop hook of the drain mode, the derived terminationGracePeriodSeconds and, in gate and exec modes, the zdt.dev/in-rotation readiness gate (a new pod becomes Ready only once a running operator replica admitted it); selector labels are owned by the operator.")
    @Required
    private PodTemplateSpec template;

    @JsonPropertyDescription("Name of the container that serves traffic (receives the preStop hook). Defaults to the first container.")
    private String containerName;

    @JsonPropertyDescription("Port of the serving container, by name or number, that the Service targets. Defaults to the container's first declared containerPort.")
    private IntOrString port;

    @JsonPropertyDescription("The Service the operator creates in front of the pods.")
    @Default("{}")
    private ServiceSpec service = new ServiceSpec();

    @JsonPropertyDescription("An Ingress the operator creates for the app. When absent, the app is reached through an ingress or load balancer you manage; the traffic profile still applies.")
    private IngressSpec ingress;

    @JsonPropertyDescription("A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) the operator creates for the app, attached to the Gateways in parentRefs and sending to the app's Service. Mutually exclusive with ingress. Needs the Gateway API CRDs in the cluster; without them the app reports Degraded with reason GatewayApiMissing.")
    private RouteSpec route;

    @JsonPropertyDescription("How the ingress controller or load balancer in front of the pods learns about endpoint changes; the drain budget is derived from it.")
    @Required
    private TrafficSpec traffic;

    @JsonPropertyDescription("How long requests and shutdown take, and how pods are drained.")
    @Default("{}")
    private DrainSpec drain = new DrainSpec();

    @JsonPropertyDescription("Rolling update settings of the generated Deployment.")
    @Default("{}")
    private StrategySpec strategy = new StrategySpec();

    public Integer getReplicas() { return replicas; }
    public void setReplicas(Integer replicas) { this.replicas = replicas; }
    public PodTemplateSpec getTemplate() { return template; }
    public void setTemplate(PodTemplateSpec template) { this.template = template; }
    public String getContainerName() { return containerName; }
    public void setContainerName(String containerName) { this.containerName = containerName; }
    public IntOrString getPort() { return port; }
    public void setPort(IntOrString port) { this.port = port; }
    public ServiceSpec getService() { return service; }
    public void setService(ServiceSpec service) { this.service = service; }
    public IngressSpec getIngress() { return ingress; }
    public void setIngress(IngressSpec ingress) { this.ingress = ingress; }
    public RouteSpec getRoute() { return route; }
    public void setRoute(RouteSpec route) { this.route = route; }
    public TrafficSpec getTraffic() { return traffic; }
    public void setTraffic(TrafficSpec traffic) { this.traffic = traffic; }
    public DrainSpec getDrain() { return drain; }
    public void setDrain(DrainSpec drain) { this.drain = drain; }
    public StrategySpec getStrategy() { return strategy; }
    public void setStrategy(StrategySpec strategy) { this.strategy = strategy; }
}
