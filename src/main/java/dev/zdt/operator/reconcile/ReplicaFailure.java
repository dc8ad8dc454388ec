package dev.zdt.operator.reconcile;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentCondition;

/**
 * Pods the ReplicaSet cannot create: refused by Pod Security admission, a ResourceQuota, an
 * admission webhook, ... The Deployment controller copies the ReplicaSet's {@code ReplicaFailure}
 * condition (reason {@code FailedCreate}, the API server's refusal as message) into the
 * Deployment's status, so the app's own Deployment informer sees it. Pure, from Deployment status.
 *
 * @param message the API server's refusal, e.g. {@code pods "shop-7d9c-abcde" is forbidden: violates PodSecurity ...}
 */
record ReplicaFailure(String message) {

    static final String CONDITION = "ReplicaFailure";
    static final String FAILED_CREATE = "FailedCreate";
    /** Admission webhooks may answer at length; a condition is read in `kubectl describe`. */
    static final int MAX_MESSAGE = 1000;
    /** In Ready and Progressing, beside the counts, as PodTrouble shortens the kubelet's detail. */
    private static final int MAX_SHORT = 200;

    /** The Deployment's FailedCreate, if its ReplicaSet reports one; FailedDelete and others are not about new pods. */
    static Optional<ReplicaFailure> of(Deployment deployment) {
        if (deployment == null || deployment.getStatus() == null) {
            return Optional.empty();
        }
        List<DeploymentCondition> conditions = deployment.getStatus().getConditions();
        if (conditions == null) {
            return Optional.empty();
        }
        return conditions.stream()
                .filter(Objects::nonNull)
                .filter(c -> CONDITION.equals(c.getType()) && "True".equals(c.getStatus())
                        && FAILED_CREATE.equals(c.getReason()))
                .findFirst()
                .map(c -> new ReplicaFailure(oneLine(c.getMessage())));
    }

    /** For Degraded and its Event: the whole refusal (bounded) and what to do about it. */
    String describe() {
        return "the ReplicaSet cannot create pods: " + shorten(message, MAX_MESSAGE)
                + "; change the template, or what refuses it (Pod Security level, ResourceQuota, admission webhook),"
                + " and the ReplicaSet creates the pods on its next try";
    }

    /** For Ready and Progressing, after the counts: "not created: pods "shop-..." is forbidden: ...". */
    String brief() {
        return "not created: " + shorten(message, MAX_SHORT);
    }

    /** One line, so that `kubectl describe` keeps its layout; a missing message still reads as a sentence. */
    private static String oneLine(String message) {
        if (message == null || message.isBlank()) {
            return "the API server gave no reason";
        }
        // \p{Cntrl} too: a webhook's message is free text, and a stray control character garbles a terminal.
        return message.replaceAll("[\\s\\p{Cntrl}]+", " ").strip();
    }

    private static String shorten(String s, int max) {
        return s.length() > max ? s.substring(0, max - 3) + "..." : s;
    }
}
