package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class DrainRecord {

    /** Why the gate let a pod go. */
    public enum ReleasedBy {
        /** The pod was verifiably out of rotation. */
        @JsonProperty("Verified") VERIFIED,
        /** The hold bound expired first. */
        @JsonProperty("Timeout") TIMEOUT,
        /** The gate did not hold (e.g. no other ready endpoint, or verify: none with mode sleep). */
        @JsonProperty("Bypassed") BYPASSED
    }

    @JsonPropertyDescription("The pod's name.")
    private String pod;

    @JsonPropertyDescription("When the gate call arrived (RFC 3339).")
    private String started;

    @JsonPropertyDescription("Seconds the gate held the pod before SIGTERM.")
    private Double heldSeconds;

    @JsonPropertyDescription("Verified, Timeout or Bypassed.")
    private ReleasedBy releasedBy;

    @JsonPropertyDescription("Details: what was verified, or why it was not.")
    private String message;

    public String getPod() { return pod; }
    public void setPod(String pod) { this.pod = pod; }
    public String getStarted() { return started; }
    public void setStarted(String started) { this.started = started; }
    public Double getHeldSeconds() { return heldSeconds; }
    public void setHeldSeconds(Double heldSeconds) { this.heldSeconds = heldSeconds; }
    public ReleasedBy getReleasedBy() { return releasedBy; }
    public void setReleasedBy(ReleasedBy releasedBy) { this.releasedBy = releasedBy; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
}
