package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeAppStatus;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.testing.Apps;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentCondition;
import io.fabric8.kubernetes.api.model.apps.DeploymentConditionBuilder;

/** The status aggregation from a Deployment object and pods, without a cluster. */
class StatusAggregatorTest {

    private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-01-01T10:05:00Z");
    private static final String PSA = "pods \"shop-7d9c-abcde\" is forbidden: violates PodSecurity \"baseline:latest\": "
            + "host namespaces (hostNetwork=true)";
    private static final String QUOTA = "pods \"shop-7d9c-fghij\" is forbidden: exceeded quota: pods, requested: pods=1, "
            + "used: pods=4, limited: pods=4";

    private final ZeroDowntimeApp app = app();

    private static ZeroDowntimeApp app() {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", ""));
        app.getMetadata().setNamespace("ns");
        app.getMetadata().setGeneration(1L);
        return app;
    }

    private DrainBudget budget() {
        return DrainBudget.derive(app.getSpec().getTraffic(), app.getSpec().getDrain(), app.getSpec().getStrategy());
    }

    /** The app's Deployment as the Deployment controller reports it (observed, with these counts and conditions). */
    private static Deployment deployment(int replicas, int updated, int available, DeploymentCondition... conditions) {
        return new DeploymentBuilder()
                .withNewMetadata().withName("shop").withNamespace("ns").withGeneration(1L).endMetadata()
                .withNewStatus().withObservedGeneration(1L).withReplicas(replicas).withUpdatedReplicas(updated)
                    .withReadyReplicas(available).withAvailableReplicas(available)
                    .withConditions(new ArrayList<>(Arrays.asList(conditions)))
                .endStatus().build();
    }

    private static DeploymentCondition replicaFailure(String reason, String message) {
        return new DeploymentConditionBuilder().withType("ReplicaFailure").withStatus("True").withReason(reason)
                .withMessage(message).build();
    }

    private ZeroDowntimeAppStatus aggregate(Instant now, Deployment d, List<Pod> pods) {
        return new StatusAggregator(app, now).from(budget(), Optional.of(d), pods);
    }

    private ZeroDowntimeAppStatus aggregate(Instant now, Deployment d) {
        return aggregate(now, d, List.of());
    }

    private static Condition condition(ZeroDowntimeAppStatus status, String type) {
        return status.getConditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
    }

    @Test
    void aPodTheApiServerRefusesIsNamedWithItsMessage() {
        ZeroDowntimeAppStatus status = aggregate(T0, deployment(0, 0, 0, replicaFailure("FailedCreate", PSA)));

        assertThat(condition(status, "Degraded").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Degraded").getReason()).isEqualTo("PodsNotCreated");
        assertThat(condition(status, "Degraded").getMessage()).isEqualTo("the ReplicaSet cannot create pods: " + PSA
                + "; change the template, or what refuses it (Pod Security level, ResourceQuota, admission webhook),"
                + " and the ReplicaSet creates the pods on its next try");
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Ready").getReason()).isEqualTo("InsufficientReplicas");
        assertThat(condition(status, "Ready").getMessage()).isEqualTo("0 of 2 pods available; not created: " + PSA);
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Progressing").getMessage())
                .isEqualTo("0 of 2 pods updated, 0 ready, 0 draining; not created: " + PSA);
    }

    @Test
    void aNewTemplateTheApiServerRefusesIsNamedWhileTheOldPodsServe() {
        // Two old pods available, the one surge pod of the new template refused.
        ZeroDowntimeAppStatus status = aggregate(T0, deployment(2, 0, 2, replicaFailure("FailedCreate", PSA)));

        assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Progressing").getMessage()).endsWith("; not created: " + PSA);
        assertThat(condition(status, "Degraded").getReason()).isEqualTo("PodsNotCreated");
    }

    @Test
    void whenTheReplicaSetCreatesItsPodsAgainDegradedReturnsToNormal() {
        app.setStatus(aggregate(T0, deployment(0, 0, 0, replicaFailure("FailedCreate", PSA))));

        ZeroDowntimeAppStatus cleared = aggregate(T1, deployment(2, 2, 2));

        assertThat(condition(cleared, "Degraded").getStatus()).isEqualTo("False");
        assertThat(condition(cleared, "Degraded").getReason()).isEqualTo("AsExpected");
        assertThat(condition(cleared, "Degraded").getMessage()).isEmpty();
        assertThat(condition(cleared, "Degraded").getLastTransitionTime()).isEqualTo(T1.toString());
        assertThat(condition(cleared, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(cleared, "Ready").getLastTransitionTime()).isEqualTo(T1.toString());
    }

    @Test
    void aChangedRefusalKeepsTheTransitionTimeButChangesTheMessage() {
        app.setStatus(aggregate(T0, deployment(0, 0, 0, replicaFailure("FailedCreate", PSA))));
        assertThat(condition(app.getStatus(), "Degraded").getLastTransitionTime()).isEqualTo(T0.toString());

        ZeroDowntimeAppStatus later = aggregate(T1, deployment(0, 0, 0, replicaFailure("FailedCreate", QUOTA)));

        assertThat(condition(later, "Degraded").getStatus()).isEqualTo("True");
        assertThat(condition(later, "Degraded").getMessage()).contains(QUOTA).doesNotContain(PSA);
        assertThat(condition(later, "Degraded").getLastTransitionTime()).isEqualTo(T0.toString());
        assertThat(condition(later, "Ready").getLastTransitionTime()).isEqualTo(T0.toString());
    }

    @Test
    void refusedPodsComeBeforeAStalledRolloutAndPodsThatDoNotStart() {
        // After progressDeadlineSeconds the Deployment says only that it timed out; the refusal is the cause.
        DeploymentCondition deadline = new DeploymentConditionBuilder().withType("Progressing").withStatus("False")
                .withReason("ProgressDeadlineExceeded").withMessage("ReplicaSet \"shop-7d9c\" has timed out progressing.")
                .build();
        Pod crashing = new PodBuilder().withNewMetadata().withName("shop-7d9c-klmno").endMetadata()
                .withNewStatus().addNewContainerStatus().withName("web").withNewState().withNewWaiting()
                    .withReason("CrashLoopBackOff").endWaiting().endState().endContainerStatus()
                .endStatus().build();

        ZeroDowntimeAppStatus status = aggregate(T0,
                deployment(1, 1, 0, deadline, replicaFailure("FailedCreate", QUOTA)), List.of(crashing));

        assertThat(condition(status, "Degraded").getReason()).isEqualTo("PodsNotCreated");
        assertThat(condition(status, "Degraded").getMessage()).contains(QUOTA);
        assertThat(condition(status, "Ready").getMessage()).isEqualTo("0 of 2 pods available; not starting: pod "
                + "shop-7d9c-klmno container web: CrashLoopBackOff; not created: " + QUOTA);
        assertThat(condition(aggregate(T0, deployment(0, 0, 0, deadline, replicaFailure("FailedCreate", QUOTA))),
                "Degraded").getReason()).isEqualTo("PodsNotCreated");
    }

    @Test
    void otherReplicaFailuresAndClearedOnesAreNotRefusedPods() {
        DeploymentCondition failedDelete = replicaFailure("FailedDelete", "pods \"shop-1\" is forbidden: ...");
        DeploymentCondition cleared = new DeploymentConditionBuilder().withType("ReplicaFailure").withStatus("False")
                .withReason("FailedCreate").withMessage(PSA).build();

        ZeroDowntimeAppStatus status = aggregate(T0, deployment(2, 2, 2, failedDelete, cleared));

        assertThat(condition(status, "Degraded").getReason()).isEqualTo("AsExpected");
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
    }

    @Test
    void aMessageOverSeveralLinesOrWithControlCharactersReadsAsOneLine() {
        String webhook = "admission webhook \"policy.example.com\" denied the request:\n\t- image must be signed\r\n"
                + "\u001b[31m- runAsNonRoot must be true\u001b[0m\n";

        ZeroDowntimeAppStatus status = aggregate(T0, deployment(0, 0, 0, replicaFailure("FailedCreate", webhook)));

        assertThat(condition(status, "Degraded").getMessage()).startsWith("the ReplicaSet cannot create pods: admission "
                + "webhook \"policy.example.com\" denied the request: - image must be signed [31m- runAsNonRoot must be"
                + " true [0m; change the template");
        assertThat(condition(status, "Ready").getMessage()).doesNotContain("\n", "\r", "\t", "\u001b");
    }

    @Test
    void aLongRefusalIsBoundedInEveryCondition() {
        String huge = "admission webhook \"chatty.example.com\" denied the request: " + "x".repeat(100_000);

        ZeroDowntimeAppStatus status = aggregate(T0, deployment(0, 0, 0, replicaFailure("FailedCreate", huge)));

        assertThat(condition(status, "Degraded").getMessage()).hasSizeLessThan(ReplicaFailure.MAX_MESSAGE + 200)
                .contains("x...; change the template");
        assertThat(condition(status, "Ready").getMessage()).hasSizeLessThan(260).endsWith("x...");
        assertThat(condition(status, "Progressing").getMessage()).hasSizeLessThan(300).endsWith("x...");
    }

    @Test
    void aRefusalWithoutMessageOrDeploymentConditionsWithNullsDoNotFail() {
        List<DeploymentCondition> withNull = new ArrayList<>();
        withNull.add(null);
        withNull.add(new DeploymentCondition());
        withNull.add(replicaFailure("FailedCreate", null));
        Deployment d = deployment(0, 0, 0);
        d.getStatus().setConditions(withNull);

        ZeroDowntimeAppStatus status = aggregate(T0, d);

        assertThat(condition(status, "Degraded").getReason()).isEqualTo("PodsNotCreated");
        assertThat(condition(status, "Degraded").getMessage())
                .startsWith("the ReplicaSet cannot create pods: the API server gave no reason;");

        d.getStatus().setConditions(null);
        assertThat(condition(aggregate(T0, d), "Degraded").getReason()).isEqualTo("AsExpected");
    }
}
