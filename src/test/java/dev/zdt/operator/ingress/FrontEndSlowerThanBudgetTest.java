package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.api.v1alpha1.ObservedPropagation;
import dev.zdt.operator.api.v1alpha1.ReplicaPropagation;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.budget.DrainBudget;
import dev.zdt.operator.budget.FrontEndFit;
import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * What the gate measures of the front end goes into the status: two real Traefik processes, one
 * quick and one lagging on purpose (a long providersThrottleDuration), behind an app whose hold is
 * shorter than the lagging one's propagation. The late replica is followed after the hold ends,
 * named in status.observedPropagation and in Degraded=True FrontEndSlowerThanBudget; calibration
 * raises the hold past it, and the condition clears once three drains in a row fit.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class FrontEndSlowerThanBudgetTest extends GateTestBase {

    private final List<TraefikProcess> traefiks = new ArrayList<>();

    private static final String TRAFFIC = """
            provider: traefik
            throttleSeconds: 1
            watchSeconds: 0
            verify: ingress
            controller: {namespace: %s, service: traefik, port: api}
            """;

    @BeforeEach
    void ingressClass() {
        client.resource(new IngressClassBuilder().withNewMetadata().withName("traefik").endMetadata()
                .withNewSpec().withController("traefik.io/ingress-controller").endSpec().build())
                .createOr(existing -> client.network().v1().ingressClasses().withName("traefik").get());
    }

    @AfterEach
    void stopTraefik() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        for (TraefikProcess t : traefiks) {
            t.close();
        }
    }

    /** The controller's Service as the harness writes it for host processes: one EndpointSlice per replica. */
    private void controller(TraefikProcess... replicas) {
        client.resource(new ServiceBuilder().withNewMetadata().withName("traefik").withNamespace(f.ns).endMetadata()
                .withNewSpec().addNewPort().withName("api").withPort(9000).withNewTargetPort(9000).endPort().endSpec()
                .build()).serverSideApply();
        for (TraefikProcess t : replicas) {
            client.resource(new EndpointSliceBuilder().withNewMetadata().withName("traefik-" + t.apiPort).withNamespace(f.ns)
                    .withLabels(Map.of("kubernetes.io/service-name", "traefik")).endMetadata()
                    .withAddressType("IPv4")
                    .addNewPort().withName("api").withPort(t.apiPort).withProtocol("TCP").endPort()
                    .addNewEndpoint().withAddresses(t.host).withNewConditions().withReady(true).endConditions().endEndpoint()
                    .build()).serverSideApply();
        }
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    private static String name(TraefikProcess t) {
        return t.host + ":" + t.apiPort;
    }

    private ZeroDowntimeApp awaitApp(Predicate<ZeroDowntimeApp> until) {
        return await().atMost(Duration.ofSeconds(30)).until(() -> f.read("shop"),
                a -> a != null && a.getStatus() != null && until.test(a));
    }

    private static Condition degraded(ZeroDowntimeApp app) {
        return app.getStatus().getConditions().stream().filter(c -> "Degraded".equals(c.getType())).findFirst()
                .orElse(null);
    }

    private static int drains(ZeroDowntimeApp app) {
        ObservedPropagation o = app.getStatus().getObservedPropagation();
        return o == null || o.getDrains() == null ? 0 : o.getDrains();
    }

    /** Serving pods, the slice offering them all ready, and every Traefik listing them. */
    private void serve(List<Pod> serving) {
        f.slice("shop", serving.stream().map(GateFixture::ready).toArray(Endpoint[]::new));
        for (TraefikProcess t : traefiks) {
            await().atMost(Duration.ofSeconds(30)).until(() -> t.servers(f.ns, "shop", 80)
                    .containsAll(serving.stream().map(FrontEndSlowerThanBudgetTest::ip).toList()));
        }
    }

    /** Drains a serving pod through its own gate call; the slice drops it once the call is held. */
    private Answer drain(List<Pod> serving, Pod leaving) throws Exception {
        serving.remove(leaving);
        f.terminate(leaving);
        CompletableFuture<Answer> call = f.callPod("shop", leaving.getMetadata().getName());
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        List<Endpoint> endpoints = new ArrayList<>();
        endpoints.add(GateFixture.terminating(leaving));
        serving.forEach(p -> endpoints.add(GateFixture.ready(p)));
        f.slice("shop", endpoints.toArray(Endpoint[]::new));
        return call.get(30, TimeUnit.SECONDS);
    }

    private double propagationCount() throws Exception {
        return metrics().lines().filter(l -> l.startsWith("zdt_frontend_propagation_seconds_count{")
                && l.contains("namespace=\"" + f.ns + "\"") && l.contains("app=\"shop\"") && l.contains("frontend=\"Traefik\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void aReplicaSlowerThanTheHoldIsMeasuredNamedInDegradedAndCalibrationCoversIt() throws Exception {
        TraefikProcess quick = TraefikProcess.start(Duration.ofMillis(500));
        traefiks.add(quick);
        TraefikProcess lagging = TraefikProcess.start(Duration.ofSeconds(6));
        traefiks.add(lagging);
        controller(quick, lagging);
        f.app("shop", TRAFFIC.formatted(f.ns), """
                ingress: {className: traefik, host: shop.example.com}
                drain: {holdSeconds: 4, safetyMarginSeconds: 1}
                """);
        await().atMost(Duration.ofSeconds(30)).until(() -> client.network().v1().ingresses().inNamespace(f.ns)
                .withName("shop").get() != null);
        // Stand in for the Deployment controller, which this API-only cluster does not run.
        Deployment d = await().atMost(Duration.ofSeconds(30)).until(
                () -> client.apps().deployments().inNamespace(f.ns).withName("shop").get(), x -> x != null);
        d.setStatus(new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(2).withReadyReplicas(2).withUpdatedReplicas(2).withAvailableReplicas(2).build());
        client.resource(d).updateStatus();
        double measuredBefore = propagationCount();

        List<Pod> serving = new ArrayList<>(List.of(f.pod("shop", "shop-a", 4), f.pod("shop", "shop-b", 4)));
        serve(serving);
        // A change the lagging replica applies now starts its throttle: shop-a leaving waits for its end (~6 s).
        serving.add(f.pod("shop", "shop-c", 4));
        serve(serving);
        Answer late = drain(serving, serving.get(0));
        assertThat(late.body()).startsWith("Timeout").contains("through replica " + name(lagging));

        // The lagging replica is followed after the hold: its figure is when it stopped, beyond the hold.
        ZeroDowntimeApp measured = awaitApp(a -> drains(a) == 1);
        ObservedPropagation o = measured.getStatus().getObservedPropagation();
        assertThat(o.getFrontEnd()).isEqualTo("Traefik");
        assertThat(o.getLateDrains()).isEqualTo(1);
        assertThat(o.getRecent().get(0).getPod()).isEqualTo("shop-a");
        assertThat(o.getRecent().get(0).getReplica()).isEqualTo(name(lagging));
        assertThat(o.getRecent().get(0).getHoldSeconds()).isEqualTo(4);
        assertThat(o.getMaxSeconds()).as("the lagging replica stopped after the hold of 4 s").isGreaterThan(4.0)
                .isLessThan(20.0);
        ReplicaPropagation slow = o.getReplicas().stream().filter(r -> r.getReplica().equals(name(lagging)))
                .findFirst().orElseThrow();
        ReplicaPropagation fast = o.getReplicas().stream().filter(r -> r.getReplica().equals(name(quick)))
                .findFirst().orElseThrow();
        assertThat(slow.getLateDrains()).isEqualTo(1);
        assertThat(fast.getMaxSeconds()).as("the quick replica, well within the hold").isLessThan(4.0);
        assertThat(fast.getMaxSeconds()).isLessThan(slow.getMaxSeconds());
        assertThat(propagationCount()).as("one figure per replica in the histogram").isEqualTo(measuredBefore + 2);

        ZeroDowntimeApp slower = awaitApp(a -> degraded(a) != null && FrontEndFit.REASON.equals(degraded(a).getReason()));
        assertThat(degraded(slower).getStatus()).isEqualTo("True");
        assertThat(degraded(slower).getMessage()).contains("Traefik replica " + name(lagging)
                + " still routed to pod shop-a when its hold of 4s ended", "traffic.propagationSeconds: ",
                "clears after 3 drains in a row that fit (0 so far)");
        await().atMost(Duration.ofSeconds(10)).until(() -> f.events(FrontEndFit.REASON).stream()
                .anyMatch(e -> e.getNote().contains(name(lagging))));

        // Calibration on: the hold follows the lagging replica (twice its figure + the 1 s margin, up to
        // 5 s steps, at most maxHoldSeconds 20), rendered into the Deployment's pods; never below the 4 s the spec derives.
        f.app("shop", TRAFFIC.formatted(f.ns), """
                ingress: {className: traefik, host: shop.example.com}
                drain: {holdSeconds: 4, safetyMarginSeconds: 1, calibration: {enabled: true, maxHoldSeconds: 20}}
                """);
        double slowest = o.getMaxSeconds();
        int expected = Math.min(20, (int) Math.ceil((Math.ceil(DrainBudget.CALIBRATION_HEADROOM * slowest) + 1) / 5.0) * 5);
        ZeroDowntimeApp calibrated = awaitApp(a -> a.getStatus().getDrainBudget() != null
                && a.getStatus().getDrainBudget().getHoldSeconds() == expected);
        assertThat(calibrated.getStatus().getDrainBudget().getDerivation()).contains("hold " + expected
                + "s (calibrated: measured max " + slowest + "s over 1 drains, replica " + name(lagging), "derived hold 4s (override)");
        await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(f.ns).withName("shop").get()
                .getSpec().getTemplate().getMetadata().getAnnotations().get(dev.zdt.operator.Constants.HOLD_ANNOTATION),
                hold -> Integer.toString(expected).equals(hold));
        int hold = expected;
        // Pods created with the calibrated hold: the ones before keep the hold their grace period was made for.
        List<Pod> covered = new ArrayList<>();
        for (int i = 1; i <= FrontEndFit.FITTING_TO_CLEAR; i++) {
            covered.add(f.pod("shop", "shop-n" + i, hold));
        }
        serving.addAll(covered);
        serve(serving);
        for (int i = 1; i <= FrontEndFit.FITTING_TO_CLEAR; i++) {
            Answer fits = drain(serving, covered.get(i - 1));
            assertThat(fits.body()).as("drain %d", i).startsWith("Verified");
            int n = i;
            ZeroDowntimeApp after = awaitApp(a -> drains(a) == 1 + n
                    && (n < FrontEndFit.FITTING_TO_CLEAR ? degraded(a).getMessage().contains("(" + n + " so far)")
                            : "False".equals(degraded(a).getStatus())));
            assertThat(after.getStatus().getObservedPropagation().getRecent().get(0).getLate()).isFalse();
            assertThat(after.getStatus().getObservedPropagation().getRecent().get(0).getHoldSeconds()).isEqualTo(hold);
            assertThat(after.getStatus().getDrainBudget().getHoldSeconds()).as("the window's max still holds the hold up")
                    .isEqualTo(hold);
            if (n < FrontEndFit.FITTING_TO_CLEAR) {
                assertThat(degraded(after).getReason()).isEqualTo(FrontEndFit.REASON);
            } else {
                assertThat(degraded(after).getReason()).isEqualTo("AsExpected");
                // The late drain stays in the window as a figure; only the condition cleared.
                assertThat(after.getStatus().getObservedPropagation().getLateDrains()).isEqualTo(1);
            }
        }
    }
}
