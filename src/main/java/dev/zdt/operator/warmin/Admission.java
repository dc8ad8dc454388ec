package dev.zdt.operator.warmin;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

import dev.zdt.operator.Constants;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodReadinessGate;

/**
 * When a new pod of a gate- or exec-mode app is let into rotation: the pure decision behind
 * {@link WarmIn}, tested without a cluster.
 *
 * <p>A pod carrying the {@code zdt.dev/in-rotation} readiness gate is Ready, and so an endpoint
 * the front end routes to, only once a running operator replica has set that condition. It is set
 * when the pod's containers are ready and the pod is not terminating. Waiting for the front end to
 * list the pod first is not possible with any front end that learns its servers from
 * EndpointSlices (Traefik, ingress-nginx, cloud controllers in IP mode alike): they add a pod only
 * once it is Ready, which the condition itself holds back. The front end's warm-in after Ready is
 * covered by the Deployment's minReadySeconds (derived, see DrainBudget).
 *
 * <p>What admission buys: a pod becomes Ready only while an operator replica is up to hold its
 * later drain, so a rollout with every operator replica down waits (maxUnavailable 0 keeps the old
 * pods) instead of terminating old pods whose preStop call cannot be held.
 */
public final class Admission {

    public static final String REASON = "Admitted";
    static final String CONTAINERS_READY = "ContainersReady";

    private Admission() {
    }

    /** The condition to write on {@code pod} now, or empty when there is nothing to do. */
    public static Optional<PodCondition> decide(Pod pod, String replica, Instant now) {
        if (!hasGate(pod) || pod.getMetadata().getDeletionTimestamp() != null) {
            return Optional.empty();
        }
        if (conditionIs(pod, Constants.IN_ROTATION_CONDITION, "True") || !conditionIs(pod, CONTAINERS_READY, "True")) {
            return Optional.empty();
        }
        return Optional.of(new PodConditionBuilder()
                .withType(Constants.IN_ROTATION_CONDITION)
                .withStatus("True")
                .withReason(REASON)
                .withMessage("containers ready; admitted by operator replica " + replica
                        + ", which serves the drain gate this pod's preStop hook calls")
                .withLastTransitionTime(now.truncatedTo(ChronoUnit.SECONDS).toString())
                .build());
    }

    public static boolean hasGate(Pod pod) {
        return pod.getSpec() != null && pod.getSpec().getReadinessGates() != null
                && pod.getSpec().getReadinessGates().stream()
                        .map(PodReadinessGate::getConditionType)
                        .anyMatch(Constants.IN_ROTATION_CONDITION::equals);
    }

    static boolean conditionIs(Pod pod, String type, String status) {
        return pod.getStatus() != null && pod.getStatus().getConditions() != null
                && pod.getStatus().getConditions().stream()
                        .anyMatch(c -> type.equals(c.getType()) && status.equals(c.getStatus()));
    }
}
