package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

/** Whether the hold follows what the drain gate measured of the front end. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!self.enabled || has(self.maxHoldSeconds)",
        message = "calibration.enabled needs maxHoldSeconds: the longest hold calibration may set")
public class CalibrationSpec {

    @JsonPropertyDescription("Let the hold (and through it the grace period) follow twice the slowest front-end replica measured over the last 20 drains plus the safety margin, rounded up to 5 s (twice: the window learns a front end from below, and a verified drain still ends when the front end drops the pod): raised as soon as a slower drain is measured, lowered only once it has left the window. Never below the derived hold, never above maxHoldSeconds. Needs verify: ingress.")
    @Default("false")
    private Boolean enabled = false;

    @JsonPropertyDescription("The longest hold calibration may set, in seconds; at least the derived hold.")
    @Min(1)
    @Max(3600)
    private Integer maxHoldSeconds;

    public Boolean getEnabled() { return enabled; }
    public void setEnabled(Boolean enabled) { this.enabled = enabled; }
    public Integer getMaxHoldSeconds() { return maxHoldSeconds; }
    public void setMaxHoldSeconds(Integer maxHoldSeconds) { this.maxHoldSeconds = maxHoldSeconds; }
}
