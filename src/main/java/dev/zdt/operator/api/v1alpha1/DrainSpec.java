package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.terminationGracePeriodSeconds) || !has(self.holdSeconds) || self.terminationGracePeriodSeconds >= self.holdSeconds + self.maxRequestSeconds + self.shutdownSeconds",
        message = "terminationGracePeriodSeconds must be at least holdSeconds + maxRequestSeconds + shutdownSeconds, or the kubelet kills pods before they finish draining")
@ValidationRule(value = "!has(self.terminationGracePeriodSeconds) || self.terminationGracePeriodSeconds >= self.maxRequestSeconds + self.shutdownSeconds",
        message = "terminationGracePeriodSeconds must be at least maxRequestSeconds + shutdownSeconds (plus the hold), or the kubelet kills pods before they finish draining")
public class DrainSpec {

    /** What the serving container's preStop hook does. */
    public enum Mode {
        @JsonProperty("gate") GATE,
        @JsonProperty("sleep") SLEEP,
        @JsonProperty("exec") EXEC
    }

    @JsonPropertyDescription("Longest request the app serves, in seconds: in-flight requests get this long after SIGTERM.")
    @Default("30")
    @Min(0)
    @Max(3600)
    private Integer maxRequestSeconds = 30;

    @JsonPropertyDescription("Seconds the app's own graceful shutdown takes after SIGTERM, beyond finishing requests.")
    @Default("5")
    @Min(0)
    @Max(600)
    private Integer shutdownSeconds = 5;

    @JsonPropertyDescription("Seconds added to the propagation time to form the hold, for slow days.")
    @Default("5")
    @Min(0)
    @Max(300)
    private Integer safetyMarginSeconds = 5;

    @JsonPropertyDescription("gate (default): preStop calls the operator's drain gate, which answers once the pod is verifiably out of rotation or the hold expired. sleep: native preStop sleep for the derived hold, no verification. exec: a shell command that calls the gate and falls back to sleeping the hold (images with /bin/sh).")
    @Default("gate")
    private Mode mode = Mode.GATE;

    @JsonPropertyDescription("Override of the derived hold (propagation + safety margin): the longest the gate keeps a pod before letting SIGTERM through. Must not be below the propagation time.")
    @Min(1)
    @Max(3600)
    private Integer holdSeconds;

    @JsonPropertyDescription("Override of the derived terminationGracePeriodSeconds; must cover hold + maxRequestSeconds + shutdownSeconds.")
    @Min(1)
    @Max(7200)
    private Integer terminationGracePeriodSeconds;

    public Integer getMaxRequestSeconds() { return maxRequestSeconds; }
    public void setMaxRequestSeconds(Integer maxRequestSeconds) { this.maxRequestSeconds = maxRequestSeconds; }
    public Integer getShutdownSeconds() { return shutdownSeconds; }
    public void setShutdownSeconds(Integer shutdownSeconds) { this.shutdownSeconds = shutdownSeconds; }
    public Integer getSafetyMarginSeconds() { return safetyMarginSeconds; }
    public void setSafetyMarginSeconds(Integer safetyMarginSeconds) { this.safetyMarginSeconds = safetyMarginSeconds; }
    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public Integer getHoldSeconds() { return holdSeconds; }
    public void setHoldSeconds(Integer holdSeconds) { this.holdSeconds = holdSeconds; }
    public Integer getTerminationGracePeriodSeconds() { return terminationGracePeriodSeconds; }
    public void setTerminationGracePeriodSeconds(Integer v) { this.terminationGracePeriodSeconds = v; }
}
