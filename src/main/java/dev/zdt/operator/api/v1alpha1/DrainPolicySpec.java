package dev.zdt.operator.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.selector.matchLabels) || has(self.selector.matchExpressions)",
        message = "selector must have matchLabels or matchExpressions: an empty selector would take every pod of the namespace")
@ValidationRule(value = "!has(self.drain) || !has(self.drain.mode) || self.drain.mode == 'gate'",
        message = "a DrainPolicy supports drain.mode gate only (its hook keeps the pod's own preStop); remove drain.mode")
@ValidationRule(value = "!has(self.drain) || !has(self.drain.calibration) || !self.drain.calibration.enabled",
        message = "drain.calibration is for ZeroDowntimeApps: a DrainPolicy keeps no measured propagation in its status yet, so its hold follows the derived budget only")
public class DrainPolicySpec {

    @JsonPropertyDescription("The pods to protect, in the policy's namespace, by their labels. Only pods created after the policy (or re-created, e.g. by kubectl rollout restart) get the drain; status.unprotectedPods counts the others. A pod of a ZeroDowntimeApp is never touched; a pod matched by several policies gets the one whose name sorts first.")
    @Required
    private LabelSelector selector;

    @JsonPropertyDescription("Name of the container that serves traffic (receives the drain helper as its preStop hook, its own preStop runs after the hold). Defaults to the pod's first container.")
    private String containerName;

    @JsonPropertyDescription("Services in the policy's namespace whose EndpointSlices route to the pods: the drain gate holds a pod until none of them offers it as ready, then for the propagation time.")
    @Required
    private List<String> services = new ArrayList<>();

    @JsonPropertyDescription("How the ingress controller or load balancer in front of the pods learns about endpoint changes; the drain budget is derived from it, as for a ZeroDowntimeApp.")
    @Required
    private TrafficSpec traffic;

    @JsonPropertyDescription("How long requests and shutdown take; the drain budget is derived from it, as for a ZeroDowntimeApp. Only mode gate is supported.")
    @Default("{}")
    private DrainSpec drain = new DrainSpec();

    public LabelSelector getSelector() { return selector; }
    public void setSelector(LabelSelector selector) { this.selector = selector; }
    public String getContainerName() { return containerName; }
    public void setContainerName(String containerName) { this.containerName = containerName; }
    public List<String> getServices() { return services; }
    public void setServices(List<String> services) { this.services = services; }
    public TrafficSpec getTraffic() { return traffic; }
    public void setTraffic(TrafficSpec traffic) { this.traffic = traffic; }
    public DrainSpec getDrain() { return drain; }
    public void setDrain(DrainSpec drain) { this.drain = drain; }
}
