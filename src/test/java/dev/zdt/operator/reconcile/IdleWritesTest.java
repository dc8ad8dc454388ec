package dev.zdt.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.ApiServerMetrics;
import dev.zdt.operator.testing.Apps;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.testing.RefusalPolicy;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A reconcile that finds nothing changed sends nothing: no apply of an unchanged Deployment, no
 * status write of an unchanged status (issue 18: at 100 apps the 2-minute periodic pass alone made
 * 1.6 writes/s). Requests are counted by the API server itself ({@code apiserver_request_total}).
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class IdleWritesTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int POKES = 6;

    @Inject
    KubernetesClient client;

    @Inject
    MeterRegistry registry;

    @Inject
    DeploymentDependent deployments;

    @Inject
    ServiceDependent services;

    @Inject
    PodDisruptionBudgetDependent pdbs;

    private String ns;

    @BeforeEach
    void namespace() {
        ns = "t-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        Apps.ensureGateService(client);
    }

    @AfterEach
    void cleanUp() {
        client.namespaces().withName(ns).delete();
    }

    @Test
    void reconcilesThatChangeNothingWriteNothing() {
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("idle", ""));
        app.getMetadata().setNamespace(ns);
        client.resource(app).serverSideApply();
        await().atMost(WAIT).until(() -> client.apps().deployments().inNamespace(ns).withName("idle").get() != null);
        await().atMost(WAIT).until(() -> {
            ZeroDowntimeApp a = client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName("idle").get();
            return a.getStatus() != null && Long.valueOf(1).equals(a.getStatus().getObservedGeneration());
        });

        // A pod of the app: each change of it is an event of the app's pod informer, so a reconcile.
        Pod poke = client.resource(new PodBuilder().withNewMetadata().withName("idle-poke").withNamespace(ns)
                .addToLabels(Constants.MANAGED_BY_LABEL, Constants.OPERATOR_NAME)
                .addToLabels(Constants.APP_LABEL, "idle").endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("localhost/none").endContainer().endSpec()
                .build()).create();
        String uid = client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName("idle").get().getMetadata().getUid();
        double reconciles = reconciles();
        long compared = deployments.comparisons(uid) + services.comparisons(uid) + pdbs.comparisons(uid);
        double unchanged = childChecks("unchanged");
        double deploymentWrites = apiRequests("deployments", "");
        double statusWrites = apiRequests("zerodowntimeapps", "status");
        for (int i = 0; i < POKES; i++) {
            double before = reconciles();
            client.pods().inNamespace(ns).withName(poke.getMetadata().getName())
                    .edit(p -> new PodBuilder(p).editMetadata().addToLabels("poke", Long.toString(System.nanoTime())).endMetadata().build());
            await().atMost(WAIT).until(() -> reconciles() > before);
        }
        assertThat(reconciles() - reconciles).as("reconciles the pokes caused").isGreaterThanOrEqualTo(POKES);
        // Nothing a child is made from changed: no child of the app was rendered and compared again.
        assertThat(compared).as("the app's children were compared when it was created").isPositive();
        assertThat(deployments.comparisons(uid) + services.comparisons(uid) + pdbs.comparisons(uid) - compared)
                .as("children rendered and compared for pod events").isZero();
        assertThat(childChecks("unchanged") - unchanged).as("children left as they were")
                .isGreaterThanOrEqualTo(3.0 * POKES); // Deployment, Service, PodDisruptionBudget; no Ingress
        assertThat(apiRequests("deployments", "") - deploymentWrites)
                .as("Deployment writes while nothing changed").isLessThanOrEqualTo(1);
        assertThat(apiRequests("zerodowntimeapps", "status") - statusWrites)
                .as("status writes while nothing changed").isLessThanOrEqualTo(1);
    }

    /**
     * A child the API server refuses (here a Service, by an admission policy; in the scale run a 504
     * on a slow Service create) fails the reconcile, and JOSDK retries it with growing pauses. The
     * retries send the refused child again, not the children that already match, and not a tight
     * loop of them.
     */
    @Test
    void retriesOfAFailingChildDoNotResendTheOthers() {
        try (RefusalPolicy refusal = new RefusalPolicy(client, ns, "", "services", "object.metadata.name != 'flaky'",
                "refused for the test", "CREATE", "UPDATE")) {
            // The policy is enforced once the API server has loaded it: probe with a Service of that name.
            await().atMost(WAIT).until(() -> {
                try {
                    client.resource(ServiceDependent.render(withNamespace(Apps.parse(Apps.yaml("flaky", ""))))).create();
                    client.services().inNamespace(ns).withName("flaky").delete();
                    return false;
                } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                    return refusal.refused(e);
                }
            });
            double deploymentWrites = apiRequests("deployments", "");
            double serviceWrites = apiRequests("services", "");
            double reconciles = reconciles();
            client.resource(withNamespace(Apps.parse(Apps.yaml("flaky", "")))).serverSideApply();
            await().atMost(WAIT).until(() -> {
                ZeroDowntimeApp a = client.resources(ZeroDowntimeApp.class).inNamespace(ns).withName("flaky").get();
                return a.getStatus() != null && a.getStatus().getConditions().stream()
                        .anyMatch(c -> "Ready".equals(c.getType()) && "ReconcileError".equals(c.getReason()));
            });
            long start = System.nanoTime();
            // Three retries at JOSDK's 2 s x 1.5 pauses: about 2 + 3 + 4.5 s after the first attempt.
            await().atMost(WAIT).until(() -> apiRequests("services", "") - serviceWrites >= 4);
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(client.apps().deployments().inNamespace(ns).withName("flaky").get()).isNotNull();
            assertThat(apiRequests("deployments", "") - deploymentWrites)
                    .as("Deployment writes over %s reconciles", reconciles() - reconciles).isLessThanOrEqualTo(1);
            assertThat(seconds).as("seconds until the refused Service was sent 4 times: retries pause").isGreaterThan(5);
        }
    }

    private ZeroDowntimeApp withNamespace(ZeroDowntimeApp app) {
        app.getMetadata().setNamespace(ns);
        return app;
    }

    /** Checks of every app's children left as they were (other apps' periodic passes add to it, never subtract). */
    private double childChecks(String result) {
        return registry.find("zdt.children.checks").tag("result", result).counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    private double reconciles() {
        return registry.find("reconciliations.started.total").tag("controller.name", ZeroDowntimeAppReconciler.NAME).counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    /** Writes of a resource the API server has answered, from its own metrics. */
    private double apiRequests(String resource, String subresource) {
        return ApiServerMetrics.writes(client, resource, subresource);
    }
}
