package dev.zdt.operator.policy;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.stream.Collectors;

import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainPolicyStatus;
import dev.zdt.operator.api.v1alpha1.DrainSpec;
import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.status.StatusPath;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * A DrainPolicy's whole status from what the reconciler read: the budget, the matched pods, their
 * owners and whether the namespace is opted in. Pure, tested without a cluster
 * ({@code PolicyStatusAggregatorTest}); the Ready condition keeps its lastTransitionTime while its
 * status does not change, as the app's conditions do.
 */
final class PolicyStatusAggregator {

    static final String READY = "Ready";
    /** At most this many unprotected pods are named in the status, and owners in the Ready message. */
    static final int EXAMPLES = 5;

    private final DrainPolicy policy;
    private final Instant now;
    private final DrainPolicyStatus status = new DrainPolicyStatus();

    PolicyStatusAggregator(DrainPolicy policy, Instant now) {
        this.policy = policy;
        this.now = now.truncatedTo(ChronoUnit.SECONDS);
        status.setObservedGeneration(policy.getMetadata().getGeneration());
    }

    /** The validation step found problems: Ready False InvalidSpec with them, nothing else reported. */
    DrainPolicyStatus invalid(String message) {
        return finish(ready("False", "InvalidSpec", message));
    }

    /**
     * @param pods the matched pods, terminating ones and ZeroDowntimeApps' left out
     * @param owners the pods' owners as {@link PodOwners#of} reports them
     * @param notEnabled why the namespace's pods never reach the webhook, or null when they do
     */
    DrainPolicyStatus from(DrainBudget budget, List<Pod> pods, List<PodOwnerStatus> owners, String notEnabled) {
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        status.setDrainBudget(budget.toStatus(DrainSpec.Mode.GATE));
        List<String> without = pods.stream().filter(p -> !PolicyPods.isProtected(p, name))
                .map(p -> p.getMetadata().getName()).sorted().toList();
        status.setCoveredPods(pods.size());
        status.setUnprotectedPods(without.size());
        status.setUnprotectedExamples(without.isEmpty() ? null : without.subList(0, Math.min(EXAMPLES, without.size())));
        status.setOwnerCount(owners.size());
        status.setOwners(owners.isEmpty() ? null : owners.subList(0, Math.min(PodOwners.LISTED, owners.size())));
        // Named in the message: the first few (status.owners lists more).
        List<PodOwnerStatus> tooLow = owners.stream().filter(o -> Boolean.FALSE.equals(o.getSufficient()))
                .limit(EXAMPLES).toList();
        if (notEnabled != null) {
            return finish(ready("False", "NamespaceNotEnabled", notEnabled));
        }
        if (!without.isEmpty()) {
            return finish(ready("False", "UnprotectedPods", without.size() + " of " + pods.size()
                    + " matched pods were created without the drain (before the policy, or while the webhook was"
                    + " down): " + String.join(", ", status.getUnprotectedExamples())
                    + (without.size() > EXAMPLES ? ", ..." : "") + "; kubectl rollout restart their owner to protect them"));
        }
        if (!tooLow.isEmpty()) {
            return finish(ready("False", "OwnerMinReadySecondsTooLow", "the front end needs a new pod ready for "
                    + budget.minReadySeconds() + "s before the rollout goes on (a pod cannot carry minReadySeconds), but "
                    + tooLow.stream().map(o -> o.getKind() + " " + o.getName() + " has minReadySeconds "
                            + o.getMinReadySeconds()).collect(Collectors.joining(", "))
                    + "; " + tooLow.stream().map(o -> PodOwners.patch(ns, o)).collect(Collectors.joining("; "))));
        }
        return finish(ready("True", "AllPodsProtected", pods.size() + " matched pods, all protected; "
                + budget.derivation() + (budget.minReadySeconds() > 0 ? "; the owners need minReadySeconds >= "
                + budget.minReadySeconds() + " (a pod cannot carry it)" + unknownOwners(owners) : "")));
    }

    /** The owners whose minReadySeconds could not be checked, for the Ready message. */
    private static String unknownOwners(List<PodOwnerStatus> owners) {
        List<String> unknown = owners.stream().filter(o -> o.getSufficient() == null).limit(EXAMPLES)
                .map(o -> o.getKind() + " " + o.getName()).toList();
        return unknown.isEmpty() ? "; every owner has it"
                : "; not checked for " + String.join(", ", unknown) + " (see status.owners[].note)";
    }

    /** Ready with the transition time kept while its status does not change. */
    private Condition ready(String value, String reason, String message) {
        Condition before = previous(policy);
        String since = before != null && value.equals(before.getStatus()) && before.getLastTransitionTime() != null
                ? before.getLastTransitionTime() : now.toString();
        return new ConditionBuilder().withType(READY).withStatus(value).withReason(reason).withMessage(message)
                .withLastTransitionTime(since).withObservedGeneration(policy.getMetadata().getGeneration()).build();
    }

    /** The policy's Ready condition as its status has it, or null. */
    static Condition previous(DrainPolicy policy) {
        return policy.getStatus() == null ? null : StatusPath.find(policy.getStatus().getConditions(), READY);
    }

    private DrainPolicyStatus finish(Condition ready) {
        status.getConditions().add(ready);
        return status;
    }
}
