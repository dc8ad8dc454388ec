package dev.zdt.operator.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * What the drain gate measured of the front end over recent drains: for each drain with an ingress
 * check, how long after the hold began every replica stopped routing to the pod. The window is kept
 * here, in the status, so that an operator restart or a new leader starts from it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ObservedPropagation {

    @JsonPropertyDescription("The front end measured, e.g. Traefik.")
    private String frontEnd;

    @JsonPropertyDescription("Drains in the window (the most recent, at most 20).")
    private Integer drains;

    @JsonPropertyDescription("Median over the window of the slowest replica's seconds from the hold's start until it stopped routing to the pod.")
    private Double medianSeconds;

    @JsonPropertyDescription("95th percentile (nearest rank) of the same figures.")
    private Double p95Seconds;

    @JsonPropertyDescription("Largest of the same figures.")
    private Double maxSeconds;

    @JsonPropertyDescription("Drains in the window whose hold ended at its bound while a replica still routed to the pod.")
    private Integer lateDrains;

    @JsonPropertyDescription("The window, newest first: one entry per drain.")
    private List<PropagationDrain> recent;

    @JsonPropertyDescription("The same figures per front-end replica (at most 10, most recently seen first); a replica of another namespace's front end is named by its position, e.g. 2 of 2.")
    private List<ReplicaPropagation> replicas;

    public String getFrontEnd() { return frontEnd; }
    public void setFrontEnd(String frontEnd) { this.frontEnd = frontEnd; }
    public Integer getDrains() { return drains; }
    public void setDrains(Integer drains) { this.drains = drains; }
    public Double getMedianSeconds() { return medianSeconds; }
    public void setMedianSeconds(Double medianSeconds) { this.medianSeconds = medianSeconds; }
    public Double getP95Seconds() { return p95Seconds; }
    public void setP95Seconds(Double p95Seconds) { this.p95Seconds = p95Seconds; }
    public Double getMaxSeconds() { return maxSeconds; }
    public void setMaxSeconds(Double maxSeconds) { this.maxSeconds = maxSeconds; }
    public Integer getLateDrains() { return lateDrains; }
    public void setLateDrains(Integer lateDrains) { this.lateDrains = lateDrains; }
    public List<PropagationDrain> getRecent() { return recent; }
    public void setRecent(List<PropagationDrain> recent) { this.recent = recent; }
    public List<ReplicaPropagation> getReplicas() { return replicas; }
    public void setReplicas(List<ReplicaPropagation> replicas) { this.replicas = replicas; }
}
