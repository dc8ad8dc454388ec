package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class DrainBudgetStatus {

    @JsonPropertyDescription("Seconds from an endpoint's removal until the front end stops sending to it.")
    private Integer propagationSeconds;

    @JsonPropertyDescription("The gate's bound: propagation + safety margin. No pod is held longer.")
    private Integer holdSeconds;

    @JsonPropertyDescription("Set on the pods: hold + maxRequestSeconds + shutdownSeconds.")
    private Integer terminationGracePeriodSeconds;

    @JsonPropertyDescription("Set on the Deployment: the front end's warm-in time for a new pod.")
    private Integer minReadySeconds;

    @JsonPropertyDescription("One line that shows how the numbers were derived.")
    private String derivation;

    @JsonPropertyDescription("Hash of the budget, also on the pod template (zdt.dev/budget-hash), so a timing change rolls the pods.")
    private String hash;

    public Integer getPropagationSeconds() { return propagationSeconds; }
    public void setPropagationSeconds(Integer propagationSeconds) { this.propagationSeconds = propagationSeconds; }
    public Integer getHoldSeconds() { return holdSeconds; }
    public void setHoldSeconds(Integer holdSeconds) { this.holdSeconds = holdSeconds; }
    public Integer getTerminationGracePeriodSeconds() { return terminationGracePeriodSeconds; }
    public void setTerminationGracePeriodSeconds(Integer v) { this.terminationGracePeriodSeconds = v; }
    public Integer getMinReadySeconds() { return minReadySeconds; }
    public void setMinReadySeconds(Integer minReadySeconds) { this.minReadySeconds = minReadySeconds; }
    public String getDerivation() { return derivation; }
    public void setDerivation(String derivation) { this.derivation = derivation; }
    public String getHash() { return hash; }
    public void setHash(String hash) { this.hash = hash; }
}
