package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(string(self.maxSurge) in ['0', '0%'] && string(self.maxUnavailable) in ['0', '0%'])",
        message = "maxSurge and maxUnavailable cannot both be 0: the rollout could never make progress")
public class StrategySpec {

    @JsonPropertyDescription("Pods created above replicas during a rollout (number or percentage).")
    @Default("1")
    private IntOrString maxSurge = new IntOrString(1);

    @JsonPropertyDescription("Pods below replicas allowed during a rollout (number or percentage). 0 keeps full capacity; the gate then holds each old pod until traffic left it.")
    @Default("0")
    private IntOrString maxUnavailable = new IntOrString(0);

    @JsonPropertyDescription("Override of the derived minReadySeconds (warm-in: the time the front end needs to start sending to a new pod).")
    @Min(0)
    @Max(3600)
    private Integer minReadySeconds;

    public IntOrString getMaxSurge() { return maxSurge; }
    public void setMaxSurge(IntOrString maxSurge) { this.maxSurge = maxSurge; }
    public IntOrString getMaxUnavailable() { return maxUnavailable; }
    public void setMaxUnavailable(IntOrString maxUnavailable) { this.maxUnavailable = maxUnavailable; }
    public Integer getMinReadySeconds() { return minReadySeconds; }
    public void setMinReadySeconds(Integer minReadySeconds) { this.minReadySeconds = minReadySeconds; }
}
