package dev.zdt.operator.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class DrainPolicyStatus {

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Pods the selector matches, terminating ones excluded.")
    private Integer coveredPods;

    @JsonPropertyDescription("Matched pods without the drain (created before the policy, while the webhook was down, or in a namespace without the zdt.dev/drain-policy=enabled label); kubectl rollout restart of their owner protects them.")
    private Integer unprotectedPods;

    @JsonPropertyDescription("Up to 5 of the unprotected pods, by name.")
    private List<String> unprotectedExamples;

    @JsonPropertyDescription("The workloads that own the covered pods (Deployment, StatefulSet, DaemonSet, ...), with their minReadySeconds and whether it is at least what the derived budget needs. Those without enough come first, then those unknown, then the rest, each by kind and name; at most 10 (ownerCount says how many there are).")
    private List<PodOwnerStatus> owners;

    @JsonPropertyDescription("How many distinct owners the covered pods have (owners lists at most 10).")
    private Integer ownerCount;

    @JsonPropertyDescription("Ready (the policy is valid, every matched pod is protected and no owner has a minReadySeconds known to be below the needed one), with a CamelCase reason and a message.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("The derived drain timings and how they were derived. minReadySeconds cannot be set on a pod: give the pods' owner (Deployment, StatefulSet) at least this minReadySeconds; owners says which have it.")
    private DrainBudgetStatus drainBudget;

    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
    public Integer getCoveredPods() { return coveredPods; }
    public void setCoveredPods(Integer coveredPods) { this.coveredPods = coveredPods; }
    public Integer getUnprotectedPods() { return unprotectedPods; }
    public void setUnprotectedPods(Integer unprotectedPods) { this.unprotectedPods = unprotectedPods; }
    public List<String> getUnprotectedExamples() { return unprotectedExamples; }
    public void setUnprotectedExamples(List<String> unprotectedExamples) { this.unprotectedExamples = unprotectedExamples; }
    public List<PodOwnerStatus> getOwners() { return owners; }
    public void setOwners(List<PodOwnerStatus> owners) { this.owners = owners; }
    public Integer getOwnerCount() { return ownerCount; }
    public void setOwnerCount(Integer ownerCount) { this.ownerCount = ownerCount; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
    public DrainBudgetStatus getDrainBudget() { return drainBudget; }
    public void setDrainBudget(DrainBudgetStatus drainBudget) { this.drainBudget = drainBudget; }
}
