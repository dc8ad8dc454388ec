package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.api.v1alpha1.DrainPolicyStatus;
import dev.zdt.operator.api.v1alpha1.PodOwnerStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.pod.DrainHelper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

/** A DrainPolicy's conditions and counts from what its reconciler read, without an API server. */
class PolicyStatusAggregatorTest {

    private static final Instant T0 = Instant.parse("2026-12-07T10:00:00.400Z");
    private static final Instant T1 = Instant.parse("2026-12-07T10:05:00Z");
    private static final String ENABLED = null;
    /** health-probe 5 s / 4 s / 3, healthy after 2: the new pod must stay ready 10 s (DrainBudgetTest). */
    private static final String PROBED = "  traffic:\n    provider: health-probe\n    probe: {intervalSeconds: 5, "
            + "timeoutSeconds: 4, unhealthyThreshold: 3, healthyThreshold: 2}\n";

    private static DrainPolicy policy(String trafficAndMore) {
        DrainPolicy p = Serialization.unmarshal("""
                apiVersion: zdt.dev/v1alpha1
                kind: DrainPolicy
                metadata:
                  name: web
                  namespace: shop
                  generation: 3
                spec:
                  selector:
                    matchLabels: {app: web}
                  services: [web]
                %s""".formatted(trafficAndMore), DrainPolicy.class);
        return p;
    }

    private static DrainBudget budget(DrainPolicy p) {
        return PolicyValidation.check(p).value();
    }

    /** A pod as the webhook leaves it (protected) or as it was before the policy (not). */
    private static Pod pod(String name, boolean isProtected) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace("shop")
                .withLabels(isProtected ? Map.of("app", "web", Constants.APP_LABEL, Constants.policyAppName("web"))
                        : Map.of("app", "web"))
                .endMetadata().withNewSpec().addNewContainer().withName("web").withImage("web:1").endContainer().endSpec();
        if (isProtected) {
            b.editSpec().addNewInitContainer().withName(DrainHelper.INIT_CONTAINER).withImage("h:1").endInitContainer().endSpec();
        }
        return b.build();
    }

    private static PodOwnerStatus owner(String name, Integer minReady, Boolean sufficient) {
        PodOwnerStatus o = new PodOwnerStatus();
        o.setKind("Deployment");
        o.setName(name);
        o.setPods(1);
        o.setMinReadySeconds(minReady);
        o.setNeededMinReadySeconds(10);
        o.setSufficient(sufficient);
        return o;
    }

    private static Condition ready(DrainPolicyStatus s) {
        assertThat(s.getConditions()).extracting(Condition::getType).containsExactly("Ready");
        return s.getConditions().get(0);
    }

    @Test
    void everyMatchedPodProtectedAndEveryOwnerSufficientIsReadyWithTheDerivation() {
        DrainPolicy p = policy(PROBED);
        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("a", true), pod("b", true)),
                List.of(owner("web", 10, true)), ENABLED);

        Condition ready = ready(s);
        assertThat(ready.getStatus()).isEqualTo("True");
        assertThat(ready.getReason()).isEqualTo("AllPodsProtected");
        assertThat(ready.getMessage()).startsWith("2 matched pods, all protected; " + budget(p).derivation())
                .endsWith("; the owners need minReadySeconds >= 10 (a pod cannot carry it); every owner has it");
        assertThat(ready.getObservedGeneration()).isEqualTo(3L);
        assertThat(ready.getLastTransitionTime()).as("whole seconds").isEqualTo("2026-12-07T10:00:00Z");
        assertThat(s.getObservedGeneration()).isEqualTo(3L);
        assertThat(s.getCoveredPods()).isEqualTo(2);
        assertThat(s.getUnprotectedPods()).isZero();
        assertThat(s.getUnprotectedExamples()).isNull();
        assertThat(s.getOwnerCount()).isEqualTo(1);
        assertThat(s.getDrainBudget().getMinReadySeconds()).isEqualTo(10);
    }

    @Test
    void ownersThatCouldNotBeCheckedAreNamed() {
        DrainPolicy p = policy(PROBED);
        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("a", true)),
                List.of(owner("web", 10, true), owner("batch", null, null)), ENABLED);
        assertThat(ready(s).getMessage()).endsWith("; not checked for Deployment batch (see status.owners[].note)");
    }

    @Test
    void unprotectedPodsAreCountedAndTheFirstFiveNamed() {
        DrainPolicy p = policy(PROBED);
        List<Pod> pods = new ArrayList<>(List.of(pod("a-ok", true)));
        for (int i = 7; i >= 1; i--) {
            pods.add(pod("old-" + i, false));
        }
        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).from(budget(p), pods, List.of(), ENABLED);

        Condition ready = ready(s);
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("UnprotectedPods");
        assertThat(ready.getMessage()).isEqualTo("7 of 8 matched pods were created without the drain (before the policy,"
                + " or while the webhook was down): old-1, old-2, old-3, old-4, old-5, ...; kubectl rollout restart"
                + " their owner to protect them");
        assertThat(s.getUnprotectedPods()).isEqualTo(7);
        assertThat(s.getUnprotectedExamples()).containsExactly("old-1", "old-2", "old-3", "old-4", "old-5");
    }

    @Test
    void aNamespaceNotOptedInComesBeforeEverythingElse() {
        DrainPolicy p = policy(PROBED);
        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("old", false)),
                List.of(owner("web", 0, false)), "namespace shop is not labelled ...");
        assertThat(ready(s).getReason()).isEqualTo("NamespaceNotEnabled");
        assertThat(ready(s).getMessage()).isEqualTo("namespace shop is not labelled ...");
        assertThat(s.getUnprotectedPods()).as("still counted").isEqualTo(1);
    }

    @Test
    void anOwnerBelowTheNeededMinReadySecondsIsNamedWithThePatch() {
        DrainPolicy p = policy(PROBED);
        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("a", true)),
                List.of(owner("web", 0, false), owner("api", 10, true)), ENABLED);
        assertThat(ready(s).getReason()).isEqualTo("OwnerMinReadySecondsTooLow");
        assertThat(ready(s).getMessage()).isEqualTo("the front end needs a new pod ready for 10s before the rollout goes on"
                + " (a pod cannot carry minReadySeconds), but Deployment web has minReadySeconds 0; kubectl -n shop patch"
                + " deployment web --type merge -p '{\"spec\":{\"minReadySeconds\":10}}'");
    }

    @Test
    void anInvalidSpecSaysWhyAndReportsNothingElse() {
        DrainPolicy p = policy("  traffic: {provider: traefik}\n  drain: {mode: sleep}\n");
        p.getSpec().setServices(List.of());
        var validated = PolicyValidation.check(p);
        assertThat(validated.valid()).isFalse();

        DrainPolicyStatus s = new PolicyStatusAggregator(p, T0).invalid(validated.message());
        assertThat(ready(s).getStatus()).isEqualTo("False");
        assertThat(ready(s).getReason()).isEqualTo("InvalidSpec");
        assertThat(ready(s).getMessage()).as("every problem at once").isEqualTo("drain.mode sleep is not supported by a "
                + "DrainPolicy; remove it (gate); services must name at least one Service whose endpoints route to the pods");
        assertThat(s.getDrainBudget()).isNull();
        assertThat(s.getCoveredPods()).isNull();
        assertThat(s.getObservedGeneration()).isEqualTo(3L);
    }

    @Test
    void readyKeepsItsTransitionTimeWhileItsStatusStaysAndTakesTheNewOneWhenItChanges() {
        DrainPolicy p = policy(PROBED);
        p.setStatus(new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("old", false)), List.of(), ENABLED));

        // Another reason, the same status: the time stays.
        DrainPolicyStatus stillFalse = new PolicyStatusAggregator(p, T1).from(budget(p), List.of(pod("old", true)),
                List.of(owner("web", 0, false)), ENABLED);
        assertThat(ready(stillFalse).getReason()).isEqualTo("OwnerMinReadySecondsTooLow");
        assertThat(ready(stillFalse).getLastTransitionTime()).isEqualTo("2026-12-07T10:00:00Z");

        // True now: the time is the pass's.
        DrainPolicyStatus nowTrue = new PolicyStatusAggregator(p, T1).from(budget(p), List.of(pod("old", true)),
                List.of(), ENABLED);
        assertThat(ready(nowTrue).getStatus()).isEqualTo("True");
        assertThat(ready(nowTrue).getLastTransitionTime()).isEqualTo("2026-12-07T10:05:00Z");
    }

    @Test
    void theSamePolicyAndPodsGiveAStatusTheStatusPathDoesNotWriteAgain() {
        DrainPolicy p = policy(PROBED);
        p.setStatus(new PolicyStatusAggregator(p, T0).from(budget(p), List.of(pod("a", true)), List.of(), ENABLED));
        DrainPolicyStatus later = new PolicyStatusAggregator(p, T1).from(budget(p), List.of(pod("a", true)), List.of(), ENABLED);

        var path = DrainPolicyReconciler.statusPath(null);
        assertThat(path.unchanged(p.getStatus(), later)).as("a resync that finds nothing new").isTrue();
        DrainPolicyStatus morePods = new PolicyStatusAggregator(p, T1).from(budget(p), List.of(pod("a", true),
                pod("b", true)), List.of(), ENABLED);
        assertThat(path.unchanged(p.getStatus(), morePods)).isFalse();
        assertThat(path.changedFields(p.getStatus(), morePods)).containsExactly("conditions Ready", "coveredPods");
    }
}
