package dev.zdt.operator.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One front-end replica's measured propagation over recent drains. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReplicaPropagation {

    @JsonPropertyDescription("The replica: its pod name, or its position (2 of 2) for another namespace's front end.")
    private String replica;

    @JsonPropertyDescription("Drains of the window this replica was asked about.")
    private Integer drains;

    @JsonPropertyDescription("Median seconds from the hold's start until it stopped routing to the pod.")
    private Double medianSeconds;

    @JsonPropertyDescription("95th percentile (nearest rank).")
    private Double p95Seconds;

    @JsonPropertyDescription("Largest.")
    private Double maxSeconds;

    @JsonPropertyDescription("Drains of the window whose hold ended at its bound while this replica, the slowest, still routed to the pod.")
    private Integer lateDrains;

    @JsonPropertyDescription("Its figures, newest first (at most 20).")
    private List<Double> recentSeconds;

    public String getReplica() { return replica; }
    public void setReplica(String replica) { this.replica = replica; }
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
    public List<Double> getRecentSeconds() { return recentSeconds; }
    public void setRecentSeconds(List<Double> recentSeconds) { this.recentSeconds = recentSeconds; }
}
