package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * verify: ingress with provider envoy against a real Envoy, found as the endpoint of a
 * selector-less Service (traffic.controller) on its admin port. The test plays the control plane:
 * it rewrites the EDS file Envoy watches. A pod is released once Envoy marks its host DRAINING or
 * drops it, never while Envoy lists it healthy, and an app Envoy never listed holds to the bound.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class EnvoyGateTest extends GateTestBase {

    private EnvoyProcess envoy;

    private static final String TRAFFIC = """
            provider: envoy
            watchSeconds: 0
            verify: ingress
            controller: {namespace: %s, service: envoy, port: admin}
            """;

    /** Runs before the base's clean-up: no hold left while Envoy still runs, then Envoy stops. */
    @AfterEach
    void stopEnvoy() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        if (envoy != null) {
            envoy.close();
        }
    }

    /** Envoy with the cluster Contour would make for the app's Service, exposed as the harness does. */
    private void envoy() throws Exception {
        envoy = EnvoyProcess.start(f.ns + "/shop/80/da39a3ee5e");
        client.resource(new ServiceBuilder().withNewMetadata().withName("envoy").withNamespace(f.ns).endMetadata()
                .withNewSpec().addNewPort().withName("admin").withPort(9001).withNewTargetPort(9001).endPort().endSpec()
                .build()).serverSideApply();
        client.resource(new EndpointSliceBuilder().withNewMetadata().withName("envoy-0").withNamespace(f.ns)
                .withLabels(Map.of("kubernetes.io/service-name", "envoy")).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("admin").withPort(envoy.adminPort).withProtocol("TCP").endPort()
                .addNewEndpoint().withAddresses(envoy.host).withNewConditions().withReady(true).endConditions().endEndpoint()
                .build()).serverSideApply();
    }

    private Pod[] shop(int holdSeconds) {
        f.app("shop", TRAFFIC.formatted(f.ns), "drain:\n  holdSeconds: " + holdSeconds + "\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop").get() != null);
        Pod a = f.pod("shop", "shop-a", holdSeconds);
        Pod b = f.pod("shop", "shop-b", holdSeconds);
        f.slice("shop", GateFixture.ready(a), GateFixture.ready(b));
        return new Pod[] { a, b };
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    /** shop-a terminating and out of the slice while Envoy still balances to it: its call must stay held. */
    private CompletableFuture<Answer> drainShopAWhileEnvoyListsIt(Pod a, Pod b) throws Exception {
        envoy.endpoints(Map.of(ip(a), "HEALTHY", ip(b), "HEALTHY"));
        await().atMost(Duration.ofSeconds(10)).until(envoy::hosts, h -> h.equals(Map.of(ip(a), "HEALTHY", ip(b), "HEALTHY")));
        f.terminate(a);
        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(b));
        // The slice no longer has it, Envoy still does: the gate asks Envoy several times meanwhile.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> !call.isDone());
        assertThat(envoy.hosts()).containsEntry(ip(a), "HEALTHY");
        return call;
    }

    @Test
    void heldWhileEnvoyListsTheHostReleasedOnceItDrainsIt() throws Exception {
        envoy();
        Pod[] pods = shop(12);
        Pod a = pods[0];
        CompletableFuture<Answer> call = drainShopAWhileEnvoyListsIt(a, pods[1]);

        long changed = System.nanoTime();
        envoy.endpoints(Map.of(ip(a), "DRAINING", ip(pods[1]), "HEALTHY"));
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by Envoy");
        assertThat(answer.receivedNanos()).as("released only after Envoy was told to drain it").isGreaterThan(changed);
        assertThat(envoy.hosts()).containsEntry(ip(a), "DRAINING");
    }

    @Test
    void releasedOnceEnvoyDropsTheHost() throws Exception {
        envoy();
        Pod[] pods = shop(12);
        Pod a = pods[0];
        CompletableFuture<Answer> call = drainShopAWhileEnvoyListsIt(a, pods[1]);

        long changed = System.nanoTime();
        envoy.endpoints(Map.of(ip(pods[1]), "HEALTHY"));
        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Verified").contains("shop-a (" + ip(a) + ") no longer routed to by Envoy");
        assertThat(answer.receivedNanos()).isGreaterThan(changed);
        assertThat(envoy.hosts()).containsOnlyKeys(ip(pods[1]));
    }

    @Test
    void anAppEnvoyNeverListedHoldsToTheBound() throws Exception {
        envoy();
        // Envoy balances to some other backend only: not listing shop-a proves nothing.
        envoy.endpoints(Map.of("10.99.0.1", "HEALTHY"));
        Pod[] pods = shop(4);
        Pod a = pods[0];
        await().atMost(Duration.ofSeconds(10)).until(envoy::hosts, h -> h.containsKey("10.99.0.1"));
        f.terminate(a);
        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.callApp("shop");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(a), GateFixture.ready(pods[1]));
        Answer answer = call.get(15, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout")
                .contains("Envoy cannot confirm that shop-a is no longer routed to: replica " + envoy.host + ":"
                        + envoy.adminPort + " was never seen listing a pod of the app")
                .contains("among the hosts of every Envoy cluster").contains(ip(a))
                .contains(f.ns + "/shop/80/da39a3ee5e [10.99.0.1]");
        assertThat(answer.receivedNanos() - sent).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(4));
    }
}
