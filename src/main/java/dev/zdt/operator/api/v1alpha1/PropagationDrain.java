package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One drain as the front end's propagation was measured. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PropagationDrain {

    @JsonPropertyDescription("The pod drained.")
    private String pod;

    @JsonPropertyDescription("Seconds from the hold's start until the slowest replica stopped routing to the pod (when late: until it was last asked, at most the follow-up limit).")
    private Double seconds;

    @JsonPropertyDescription("The slowest replica.")
    private String replica;

    @JsonPropertyDescription("The hold the pod had.")
    private Integer holdSeconds;

    @JsonPropertyDescription("True when the hold ended at its bound while a replica still routed to the pod.")
    private Boolean late;

    public PropagationDrain() {
    }

    public PropagationDrain(String pod, double seconds, String replica, int holdSeconds, boolean late) {
        this.pod = pod;
        this.seconds = seconds;
        this.replica = replica;
        this.holdSeconds = holdSeconds;
        this.late = late;
    }

    public String getPod() { return pod; }
    public void setPod(String pod) { this.pod = pod; }
    public Double getSeconds() { return seconds; }
    public void setSeconds(Double seconds) { this.seconds = seconds; }
    public String getReplica() { return replica; }
    public void setReplica(String replica) { this.replica = replica; }
    public Integer getHoldSeconds() { return holdSeconds; }
    public void setHoldSeconds(Integer holdSeconds) { this.holdSeconds = holdSeconds; }
    public Boolean getLate() { return late; }
    public void setLate(Boolean late) { this.late = late; }
}
