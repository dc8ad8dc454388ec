package dev.zdt.operator.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class ZeroDowntimeAppStatus {

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Pods of the app that exist, old and new.")
    private Integer replicas;

    @JsonPropertyDescription("Pods that are ready.")
    private Integer readyReplicas;

    @JsonPropertyDescription("Pods that run the current template.")
    private Integer updatedReplicas;

    @JsonPropertyDescription("Pods that are terminating: held by the drain gate or finishing their requests.")
    private Integer drainingPods;

    @JsonPropertyDescription("Ready, Progressing and Degraded, with a CamelCase reason and a message.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("The derived drain timings and how they were derived.")
    private DrainBudgetStatus drainBudget;

    @JsonPropertyDescription("The most recent drains, newest first (bounded).")
    private List<DrainRecord> lastDrains;

    @JsonPropertyDescription("What the drain gate measured of the front end over recent drains (verify: ingress): seconds from each hold's start until every replica stopped routing to the pod, per front end and per replica.")
    private ObservedPropagation observedPropagation;

    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
    public Integer getReplicas() { return replicas; }
    public void setReplicas(Integer replicas) { this.replicas = replicas; }
    public Integer getReadyReplicas() { return readyReplicas; }
    public void setReadyReplicas(Integer readyReplicas) { this.readyReplicas = readyReplicas; }
    public Integer getUpdatedReplicas() { return updatedReplicas; }
    public void setUpdatedReplicas(Integer updatedReplicas) { this.updatedReplicas = updatedReplicas; }
    public Integer getDrainingPods() { return drainingPods; }
    public void setDrainingPods(Integer drainingPods) { this.drainingPods = drainingPods; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
    public DrainBudgetStatus getDrainBudget() { return drainBudget; }
    public void setDrainBudget(DrainBudgetStatus drainBudget) { this.drainBudget = drainBudget; }
    public List<DrainRecord> getLastDrains() { return lastDrains; }
    public void setLastDrains(List<DrainRecord> lastDrains) { this.lastDrains = lastDrains; }
    public ObservedPropagation getObservedPropagation() { return observedPropagation; }
    public void setObservedPropagation(ObservedPropagation observedPropagation) { this.observedPropagation = observedPropagation; }
}
