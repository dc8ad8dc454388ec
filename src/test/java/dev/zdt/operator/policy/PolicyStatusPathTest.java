package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainPolicy;
import dev.zdt.operator.status.StatusPath;
import dev.zdt.operator.testing.ApiServerMetrics;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.testing.RefusalPolicy;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.events.v1.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A DrainPolicy's status goes the app's way (status/StatusPath), against a real API server: a resync
 * that finds nothing new writes nothing, and a Warning the API server refused is written on a later
 * pass. zdt.policy.resync is 2 s in tests.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class PolicyStatusPathTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int RESYNCS = 4;

    @Inject
    KubernetesClient client;

    @Inject
    MeterRegistry registry;

    private String ns;

    private void namespace(boolean enabled) {
        ns = "p-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                .withLabels(enabled ? Map.of(Constants.DRAIN_POLICY_LABEL, Constants.DRAIN_POLICY_ENABLED) : Map.of())
                .endMetadata().build()).create();
    }

    @AfterEach
    void cleanUp() {
        // The policy first: without a namespace controller the namespace never goes, and its policy would resync every 2 s.
        client.resources(DrainPolicy.class).inNamespace(ns).withName("web").delete();
        client.namespaces().withName(ns).delete();
    }

    @Test
    void aResyncThatFindsNothingNewDoesNotWriteTheStatus() {
        namespace(true);
        client.resource(Apps.webPolicy(ns, "traffic:\n  provider: traefik\n")).create();
        DrainPolicy first = awaitPolicy(p -> "AllPodsProtected".equals(ready(p).getReason()));
        String version = first.getMetadata().getResourceVersion();
        double statusWrites = apiRequests("drainpolicies", "status");

        double before = reconciles();
        await().atMost(WAIT).until(() -> reconciles() >= before + RESYNCS);

        DrainPolicy after = read();
        assertThat(after.getMetadata().getResourceVersion()).as("resourceVersion after %d resyncs", RESYNCS)
                .isEqualTo(version);
        // The request count is what shows a skipped write: an apply that changes nothing keeps the resourceVersion too.
        assertThat(apiRequests("drainpolicies", "status") - statusWrites).as("status writes while nothing changed").isZero();
        assertThat(ready(after).getLastTransitionTime()).isEqualTo(ready(first).getLastTransitionTime());

        // The same passes do write once something changed: a matched pod.
        client.resource(new PodBuilder().withNewMetadata().withName("web-1").withNamespace(ns)
                .withLabels(Map.of("app", "web")).endMetadata()
                .withNewSpec().addNewContainer().withName("web").withImage("registry.example/web:1").endContainer().endSpec()
                .build()).create();
        DrainPolicy covered = awaitPolicy(p -> Integer.valueOf(1).equals(p.getStatus().getCoveredPods()));
        assertThat(covered.getMetadata().getResourceVersion()).isNotEqualTo(version);
    }

    @Test
    void aWarningTheApiServerRefusedIsWrittenOnALaterPass() {
        namespace(false); // not opted in: Ready False NamespaceNotEnabled, a Warning
        try (RefusalPolicy refusal = RefusalPolicy.eventsRefused(client, ns, WAIT)) {

            client.resource(Apps.webPolicy(ns, "traffic:\n  provider: traefik\n")).create();
            awaitPolicy(p -> "NamespaceNotEnabled".equals(ready(p).getReason()));
            // A few passes with the status already saying so: the Warning stays owed, never written.
            double before = reconciles();
            await().atMost(WAIT).until(() -> reconciles() >= before + 2);
            assertThat(events("NamespaceNotEnabled")).as("the policy refuses every Event").isEmpty();
        }
        // The status already says NamespaceNotEnabled; only the remembered refusal brings the Warning.
        await().atMost(StatusPath.EVENT_RETRY_MAX.plus(WAIT)).untilAsserted(() -> assertThat(events("NamespaceNotEnabled"))
                .extracting(e -> e.getType() + ": " + e.getNote())
                .anyMatch(note -> note.startsWith("Warning: namespace " + ns + " is not labelled")));
        // Once written it is not owed any more: no second copy on the next passes.
        double written = reconciles();
        await().atMost(WAIT).until(() -> reconciles() >= written + RESYNCS);
        assertThat(events("NamespaceNotEnabled")).hasSize(1);
    }

    private DrainPolicy read() {
        return client.resources(DrainPolicy.class).inNamespace(ns).withName("web").get();
    }

    private DrainPolicy awaitPolicy(Predicate<DrainPolicy> condition) {
        return await().atMost(WAIT).until(this::read,
                p -> p != null && p.getStatus() != null && ready(p) != null && condition.test(p));
    }

    private static Condition ready(DrainPolicy p) {
        return StatusPath.find(p.getStatus().getConditions(), "Ready");
    }

    private List<Event> events(String reason) {
        return client.resources(Event.class).inNamespace(ns).list().getItems().stream()
                .filter(e -> reason.equals(e.getReason())).toList();
    }

    private double reconciles() {
        return registry.find("reconciliations.started.total").tag("controller.name", DrainPolicyReconciler.NAME)
                .counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /** Writes of a resource the API server has answered, from its own metrics. */
    private double apiRequests(String resource, String subresource) {
        return ApiServerMetrics.writes(client, resource, subresource);
    }
}
