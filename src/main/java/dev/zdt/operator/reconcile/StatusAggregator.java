package dev.zdt.operator.reconcile;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.budget.FrontEndFit;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentCondition;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;

/**
 * Builds the whole status from one place: the budget, the Deployment's state (with the pods its
 * ReplicaSet cannot create) and the pods.
 * A condition keeps its lastTransitionTime while its status does not change.
 */
public final class StatusAggregator {

    public static final String READY = "Ready";
    public static final String PROGRESSING = "Progressing";
    public static final String DEGRADED = "Degraded";

    private final ZeroDowntimeApp app;
    private final Instant now;
    private final List<Condition> conditions = new ArrayList<>();
    private final ZeroDowntimeAppStatus status = new ZeroDowntimeAppStatus();
    private String routeUnavailable;

    public StatusAggregator(ZeroDowntimeApp app, Instant now) {
        this.app = app;
        this.now = now.truncatedTo(ChronoUnit.SECONDS);
        status.setObservedGeneration(app.getMetadata().getGeneration());
    }

    /** The spec cannot be turned into a Deployment: say why, leave the children as they are. */
    public ZeroDowntimeAppStatus invalid(String reason, String message) {
        keepBudgetOfPrevious();
        set(READY, "False", reason, message);
        set(PROGRESSING, "False", reason, "no rollout " + blockedBy(reason) + "; the existing pods keep running");
        set(DEGRADED, "True", reason, message);
        return finish();
    }

    /** What stops the rollout, for the Progressing message; the reason's own message says the details. */
    static String blockedBy(String reason) {
        return switch (reason) {
            case "InvalidSpec" -> "while the spec is invalid";
            case "ChildConflict" -> "while an object the app does not own holds a child's name";
            case "GateUnavailable" -> "while the drain gate is unavailable";
            default -> "until the reconcile succeeds";
        };
    }

    /** spec.route is set but the cluster cannot take an HTTPRoute: reported as Degraded GatewayApiMissing. */
    public void routeUnavailable(String message) {
        this.routeUnavailable = message;
    }

    public ZeroDowntimeAppStatus from(DrainBudget budget, Optional<Deployment> deployment, List<Pod> pods) {
        DrainSpec.Mode mode = app.getSpec().getDrain().getMode();
        status.setDrainBudget(budget.toStatus(mode));
        int desired = app.getSpec().getReplicas();
        int draining = (int) pods.stream().filter(p -> p.getMetadata().getDeletionTimestamp() != null).count();
        status.setDrainingPods(draining);
        if (deployment.isEmpty() || deployment.get().getStatus() == null) {
            status.setReplicas(0);
            status.setReadyReplicas(0);
            status.setUpdatedReplicas(0);
            set(READY, "False", "Creating", "the Deployment is being created");
            set(PROGRESSING, "True", "Creating", "the Deployment is being created");
            if (routeUnavailable != null) {
                set(DEGRADED, "True", "GatewayApiMissing", routeUnavailable);
            } else {
                set(DEGRADED, "False", "AsExpected", "");
            }
            return finish();
        }
        Deployment d = deployment.get();
        DeploymentStatus ds = d.getStatus();
        int replicas = orZero(ds.getReplicas());
        int ready = orZero(ds.getReadyReplicas());
        int updated = orZero(ds.getUpdatedReplicas());
        int available = orZero(ds.getAvailableReplicas());
        status.setReplicas(replicas);
        status.setReadyReplicas(ready);
        status.setUpdatedReplicas(updated);

        boolean observed = ds.getObservedGeneration() != null
                && ds.getObservedGeneration() >= orZero(d.getMetadata().getGeneration());
        boolean complete = observed && updated == desired && replicas == desired && available == desired && draining == 0;
        String budgetLine = "grace " + budget.terminationGracePeriodSeconds() + "s, hold " + budget.holdSeconds() + "s";

        List<PodTrouble> troubles = PodTrouble.of(pods);
        Optional<ReplicaFailure> notCreated = ReplicaFailure.of(d);
        String stuck = (troubles.isEmpty() ? "" : "; not starting: " + PodTrouble.describe(troubles, true))
                + notCreated.map(f -> "; " + f.brief()).orElse("");
        if (available >= desired) {
            set(READY, "True", desired == 0 ? "ScaledToZero" : "Available",
                    available + " of " + desired + " pods available; drain budget " + budgetLine);
        } else {
            set(READY, "False", "InsufficientReplicas", available + " of " + desired + " pods available" + stuck);
        }
        if (complete) {
            set(PROGRESSING, "False", "RolloutComplete", "all " + desired + " pods run the current template");
        } else {
            set(PROGRESSING, "True", "RolloutInProgress", updated + " of " + desired + " pods updated, " + ready
                    + " ready, " + draining + " draining" + (observed ? "" : "; the Deployment has not seen the change yet")
                    + stuck);
        }
        Optional<DeploymentCondition> stalled = Optional.ofNullable(ds.getConditions()).orElse(List.of()).stream()
                .filter(c -> c != null && "Progressing".equals(c.getType()) && "False".equals(c.getStatus()))
                .findFirst();
        // Before the others: pods that do not exist cannot start, and the rollout that stalls after
        // progressDeadlineSeconds stalls for this reason, which its own message no longer says.
        if (notCreated.isPresent()) {
            set(DEGRADED, "True", "PodsNotCreated", notCreated.get().describe());
        } else if (!troubles.isEmpty()) {
            // Without the kubelet's changing back-off text, so that one Event is written per new trouble.
            set(DEGRADED, "True", "PodsNotStarting", PodTrouble.describe(troubles, false)
                    + "; fix the template (image, command, config) and the rollout continues");
        } else if (routeUnavailable != null) {
            set(DEGRADED, "True", "GatewayApiMissing", routeUnavailable);
        } else if (stalled.isPresent()) {
            set(DEGRADED, "True", "RolloutStalled", stalled.get().getReason() + ": " + stalled.get().getMessage());
        } else if (slowerFrontEnd().isPresent()) {
            set(DEGRADED, "True", FrontEndFit.REASON, slowerFrontEnd().get());
        } else if (!budget.warnings().isEmpty()) {
            set(DEGRADED, "True", "UnsafeTrafficSettings", String.join("; ", budget.warnings()));
        } else {
            set(DEGRADED, "False", "AsExpected", "");
        }
        return finish();
    }

    /** The front end as measured by the drain gate (status.observedPropagation, its own field), when slower than the budget. */
    private Optional<String> slowerFrontEnd() {
        if (app.getStatus() == null) {
            return Optional.empty();
        }
        Integer margin = app.getSpec().getDrain() == null ? null : app.getSpec().getDrain().getSafetyMarginSeconds();
        return FrontEndFit.slower(app.getStatus().getObservedPropagation(), margin == null ? 5 : margin);
    }

    private void keepBudgetOfPrevious() {
        if (app.getStatus() != null) {
            status.setDrainBudget(app.getStatus().getDrainBudget());
            status.setReplicas(app.getStatus().getReplicas());
            status.setReadyReplicas(app.getStatus().getReadyReplicas());
            status.setUpdatedReplicas(app.getStatus().getUpdatedReplicas());
            status.setDrainingPods(app.getStatus().getDrainingPods());
        }
    }

    private void set(String type, String value, String reason, String message) {
        Optional<Condition> previous = previous(type);
        String since = previous.filter(p -> Objects.equals(p.getStatus(), value))
                .map(Condition::getLastTransitionTime)
                .orElse(now.toString());
        conditions.add(new ConditionBuilder()
                .withType(type)
                .withStatus(value)
                .withReason(reason)
                .withMessage(message)
                .withObservedGeneration(app.getMetadata().getGeneration())
                .withLastTransitionTime(since)
                .build());
    }

    private Optional<Condition> previous(String type) {
        if (app.getStatus() == null || app.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return app.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    private ZeroDowntimeAppStatus finish() {
        status.setConditions(conditions);
        return status;
    }

    private static int orZero(Number n) {
        return n == null ? 0 : n.intValue();
    }
}
