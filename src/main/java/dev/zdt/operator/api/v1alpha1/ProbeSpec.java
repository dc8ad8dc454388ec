package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.timeoutSeconds) || !has(self.intervalSeconds) || self.timeoutSeconds <= self.intervalSeconds",
        message = "probe.timeoutSeconds must not exceed probe.intervalSeconds")
public class ProbeSpec {

    @JsonPropertyDescription("Seconds between two health checks.")
    @Min(1)
    @Max(300)
    private Integer intervalSeconds;

    @JsonPropertyDescription("Seconds a health check may take before it counts as failed.")
    @Min(1)
    @Max(300)
    private Integer timeoutSeconds;

    @JsonPropertyDescription("Consecutive failed checks before the load balancer stops sending to a target.")
    @Min(1)
    @Max(20)
    private Integer unhealthyThreshold;

    @JsonPropertyDescription("Consecutive passed checks before the load balancer sends to a new target.")
    @Min(1)
    @Max(20)
    private Integer healthyThreshold;

    public Integer getIntervalSeconds() { return intervalSeconds; }
    public void setIntervalSeconds(Integer intervalSeconds) { this.intervalSeconds = intervalSeconds; }
    public Integer getTimeoutSeconds() { return timeoutSeconds; }
    public void setTimeoutSeconds(Integer timeoutSeconds) { this.timeoutSeconds = timeoutSeconds; }
    public Integer getUnhealthyThreshold() { return unhealthyThreshold; }
    public void setUnhealthyThreshold(Integer unhealthyThreshold) { this.unhealthyThreshold = unhealthyThreshold; }
    public Integer getHealthyThreshold() { return healthyThreshold; }
    public void setHealthyThreshold(Integer healthyThreshold) { this.healthyThreshold = healthyThreshold; }
}
