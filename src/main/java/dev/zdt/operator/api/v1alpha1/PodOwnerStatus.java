package dev.zdt.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One workload that owns pods a DrainPolicy covers, and whether its minReadySeconds covers the warm-in. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PodOwnerStatus {

    @JsonPropertyDescription("The owner's kind: Deployment (found through the pod's ReplicaSet), ReplicaSet (one no Deployment owns), StatefulSet, DaemonSet, another controller's kind, or Pod for a pod without a controller.")
    private String kind;

    @JsonPropertyDescription("The owner's name (the pod's own name for kind Pod).")
    private String name;

    @JsonPropertyDescription("How many of the covered pods this owner has.")
    private Integer pods;

    @JsonPropertyDescription("The owner's spec.minReadySeconds (0 when unset). Absent when it is unknown: see note.")
    private Integer minReadySeconds;

    @JsonPropertyDescription("The minReadySeconds the derived budget needs (drainBudget.minReadySeconds).")
    private Integer neededMinReadySeconds;

    @JsonPropertyDescription("true when minReadySeconds >= neededMinReadySeconds (always when nothing is needed); false when it is lower; absent when the owner's minReadySeconds is unknown.")
    private Boolean sufficient;

    @JsonPropertyDescription("Why minReadySeconds is unknown: a kind the operator does not read, a pod without a controller, or an owner it could not read (not found, or forbidden in a namespaced install).")
    private String note;

    public String getKind() { return kind; }
    public void setKind(String kind) { this.kind = kind; }
    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public Integer getPods() { return pods; }
    public void setPods(Integer pods) { this.pods = pods; }
    public Integer getMinReadySeconds() { return minReadySeconds; }
    public void setMinReadySeconds(Integer minReadySeconds) { this.minReadySeconds = minReadySeconds; }
    public Integer getNeededMinReadySeconds() { return neededMinReadySeconds; }
    public void setNeededMinReadySeconds(Integer neededMinReadySeconds) { this.neededMinReadySeconds = neededMinReadySeconds; }
    public Boolean getSufficient() { return sufficient; }
    public void setSufficient(Boolean sufficient) { this.sufficient = sufficient; }
    public String getNote() { return note; }
    public void setNote(String note) { this.note = note; }
}
