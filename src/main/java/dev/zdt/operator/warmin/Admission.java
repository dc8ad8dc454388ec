package dev.zdt.operator.warmin;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
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
        if (!awaitsInRotation(pod) || pod.getMetadata().getDeletionTimestamp() != null) {
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

    /**
     * How long a pod whose containers are ready waits for the replica that owns it ({@link #writes})
     * before any serving replica admits it: the owner may have stopped or fallen behind.
     */
    public static final java.time.Duration TAKEOVER = java.time.Duration.ofSeconds(10);

    /**
     * Whether {@code replica} writes the condition on {@code pod}: one replica per pod, so that two
     * replicas do not both write the same condition (issue 18: 1,772 writes for 1,000 pods with two
     * replicas). The owner is one of {@code serving}, the replicas that are ready endpoints of the
     * gate Service, picked by the pod's uid; every replica computes the same owner from the same
     * EndpointSlice. With no list (a fixed gate host, no Service to read) every replica writes, as
     * does any serving replica once the pod's containers have been ready for {@link #TAKEOVER}
     * (or since an unknown time) and it is still waiting.
     */
    public static boolean writes(Pod pod, String replica, List<String> serving, Instant now) {
        if (serving.isEmpty()) {
            return true;
        }
        List<String> sorted = serving.stream().distinct().sorted().toList();
        String key = pod.getMetadata().getUid() != null ? pod.getMetadata().getUid()
                : pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
        if (sorted.get(Math.floorMod(key.hashCode(), sorted.size())).equals(replica)) {
            return true;
        }
        String readySince = pod.getStatus() == null || pod.getStatus().getConditions() == null ? null
                : pod.getStatus().getConditions().stream()
                        .filter(c -> CONTAINERS_READY.equals(c.getType()) && "True".equals(c.getStatus()))
                        .map(PodCondition::getLastTransitionTime).filter(java.util.Objects::nonNull)
                        .findFirst().orElse(null);
        return readySince == null || !Instant.parse(readySince).plus(TAKEOVER).isAfter(now);
    }

    public static boolean awaitsInRotation(Pod pod) {
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
