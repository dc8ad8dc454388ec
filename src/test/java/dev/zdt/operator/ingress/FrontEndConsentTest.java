package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import dev.zdt.operator.Constants;
import dev.zdt.operator.api.v1alpha1.DrainRecord;
import dev.zdt.operator.api.v1alpha1.DrainRecord.ReleasedBy;
import dev.zdt.operator.gate.GateFixture;
import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.gate.GateTestBase;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A tenant's {@code traffic.controller} may name a Service of another namespace only when that
 * namespace's owner marked it as a front end (label {@code zdt.dev/front-end=true}, optionally for
 * some namespaces only); else nothing is read past the Service and nothing is asked, and the pod
 * holds to its bound. What the tenant reads (status, Events, the gate's answer) never carries that
 * namespace's pod names, addresses, ports or errors. A JDK HTTP server that answers as Traefik's
 * API does, and counts every request, stands in for the other namespace's controller.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class FrontEndConsentTest extends GateTestBase {

    private static final int HOLD = 3;
    /** The controller's pod and port names in its own namespace: what no tenant may read. */
    private static final String CONTROLLER_POD = "edge-proxy-7c9f-xk2lp";
    private static final String HIDDEN_PORT = "internal-admin";

    private HttpServer server;
    private String host;
    private int port;
    private int closedPort;
    private final AtomicInteger requests = new AtomicInteger();
    /** The pod addresses the stand-in lists as servers of the app's service. */
    private final AtomicReference<Set<String>> routed = new AtomicReference<>(Set.of());
    private String front;

    @BeforeEach
    void controller() throws IOException {
        host = TraefikProcess.hostAddress();
        server = HttpServer.create(new InetSocketAddress(host, 0), 0);
        server.createContext("/api/http/services", ex -> {
            requests.incrementAndGet();
            String servers = routed.get().stream().map(ip -> "{\"url\":\"http://" + ip + ":8080\"}")
                    .collect(Collectors.joining(","));
            byte[] body = ("[{\"name\":\"" + f.ns + "-shop-80@kubernetes\",\"loadBalancer\":{\"servers\":[" + servers
                    + "]}}]").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        port = server.getAddress().getPort();
        closedPort = TraefikProcess.freePort();
        front = "edge-" + Long.toString(System.nanoTime(), 36);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(front).endMetadata().build()).create();
    }

    @AfterEach
    void stopController() {
        await().atMost(Duration.ofSeconds(30)).until(() -> gate.held() == 0);
        server.stop(0);
        client.namespaces().withName(front).delete();
    }

    private static String traffic(String namespace) {
        return """
                provider: traefik
                throttleSeconds: 1
                watchSeconds: 0
                verify: ingress
                controller: {namespace: %s, service: traefik, port: api}
                """.formatted(namespace);
    }

    /**
     * Service traefik in {@code namespace}, with the given labels and annotations, selector-less,
     * one EndpointSlice: the stand-in's pod, and a second replica on a closed port when asked.
     */
    private void controllerService(String namespace, Map<String, String> labels, Map<String, String> annotations,
            boolean brokenReplica) {
        client.resource(new ServiceBuilder().withNewMetadata().withName("traefik").withNamespace(namespace)
                .withLabels(labels).withAnnotations(annotations).endMetadata()
                .withNewSpec().addNewPort().withName("api").withPort(9000).withNewTargetPort(9000).endPort()
                .addNewPort().withName(HIDDEN_PORT).withPort(9999).withNewTargetPort(9999).endPort().endSpec()
                .build()).serverSideApply();
        var slice = new EndpointSliceBuilder().withNewMetadata().withName("traefik-a").withNamespace(namespace)
                .withLabels(Map.of("kubernetes.io/service-name", "traefik")).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("api").withPort(port).withProtocol("TCP").endPort()
                .addNewPort().withName(HIDDEN_PORT).withPort(closedPort).withProtocol("TCP").endPort()
                .addNewEndpoint().withAddresses(host).withNewConditions().withReady(true).endConditions()
                .withNewTargetRef().withKind("Pod").withName(CONTROLLER_POD).withNamespace(namespace).endTargetRef()
                .endEndpoint();
        client.resource(slice.build()).serverSideApply();
        if (brokenReplica) {
            client.resource(new EndpointSliceBuilder().withNewMetadata().withName("traefik-b").withNamespace(namespace)
                    .withLabels(Map.of("kubernetes.io/service-name", "traefik")).endMetadata()
                    .withAddressType("IPv4")
                    .addNewPort().withName("api").withPort(closedPort).withProtocol("TCP").endPort()
                    .addNewEndpoint().withAddresses(host).withNewConditions().withReady(true).endConditions()
                    .withNewTargetRef().withKind("Pod").withName(CONTROLLER_POD + "-b").withNamespace(namespace)
                    .endTargetRef().endEndpoint().build()).serverSideApply();
        }
    }

    private static Map<String, String> marked() {
        return Map.of(Constants.FRONT_END_LABEL, Constants.FRONT_END_MARK);
    }

    /** App shop naming the controller in {@code namespace}, with a ready pod shop-b the stand-in routes to. */
    private Pod shop(String namespace) {
        f.app("shop", traffic(namespace), "drain:\n  holdSeconds: " + HOLD + "\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(f.ns).withName("shop").get() != null);
        Pod b = f.pod("shop", "shop-b", HOLD);
        routed.set(Set.of(ip(b)));
        return b;
    }

    /** A new pod of shop drained: terminating, out of the slices, its helper's call answered. */
    private Answer drain(String name, Pod b, boolean routedUntilCalled) throws Exception {
        Pod p = f.pod("shop", name, HOLD);
        f.slice("shop", GateFixture.ready(p), GateFixture.ready(b));
        if (routedUntilCalled) {
            routed.set(Set.of(ip(p), ip(b)));
        }
        f.terminate(p);
        CompletableFuture<Answer> call = f.callPod("shop", name);
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(p), GateFixture.ready(b));
        if (routedUntilCalled) {
            // The stand-in keeps routing to it for a moment, then drops it as a Traefik would.
            Thread.sleep(600);
            routed.set(Set.of(ip(b)));
        }
        return call.get(HOLD + 15, TimeUnit.SECONDS);
    }

    private static String ip(Pod p) {
        return p.getStatus().getPodIP();
    }

    /** Everything the tenant reads in its namespace: the app's status and every Event there. */
    private String tenantText() {
        return Serialization.asYaml(f.read("shop").getStatus())
                + Serialization.asYaml(client.events().v1().events().inNamespace(f.ns).list().getItems())
                + Serialization.asYaml(client.v1().events().inNamespace(f.ns).list().getItems());
    }

    private void assertNothingOfTheOtherNamespace(String text) {
        assertThat(text).doesNotContain(host).doesNotContain(":" + port).doesNotContain(":" + closedPort)
                .doesNotContain(CONTROLLER_POD).doesNotContain(HIDDEN_PORT)
                .doesNotContain("refused or unreachable").doesNotContain("could not be connected");
    }

    @Test
    void anUnmarkedServiceOfAnotherNamespaceIsNeverAskedAndItsPodHoldsToTheBound() throws Exception {
        String refusal = "Service " + front + "/traefik is not marked as a front end for namespace " + f.ns
                + " (label zdt.dev/front-end=true on the Service, by its namespace's owner), or does not exist";
        Pod b = shop(front);

        // No Service there at all.
        long sent = System.nanoTime();
        Answer missing = drain("shop-a", b, false);
        assertThat(System.nanoTime() - sent).as("held to its bound").isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(HOLD));
        assertThat(missing.body()).startsWith("Timeout").contains(refusal);

        // The Service exists, its endpoint would answer, but its owner did not mark it.
        controllerService(front, Map.of(), Map.of(), false);
        sent = System.nanoTime();
        Answer unmarked = drain("shop-c", b, true);
        assertThat(requests.get()).as("requests that reached the other namespace's controller").isZero();
        assertThat(System.nanoTime() - sent).as("held to its bound").isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(HOLD));
        assertThat(unmarked.body()).startsWith("Timeout").contains(refusal);

        DrainRecord record = awaitDrainRecord("shop", "shop-c");
        assertThat(record.getReleasedBy()).isEqualTo(ReleasedBy.TIMEOUT);
        assertThat(record.getMessage()).contains(refusal);
        // The reporter writes Events on its own thread, after earlier tests' work: a generous bound, and
        // what was there when it failed.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(f.events("DrainHoldTimeout"))
                .as("DrainHoldTimeout Events").anyMatch(e -> e.getNote().contains(refusal)));
        assertNothingOfTheOtherNamespace(tenantText() + missing.body() + unmarked.body());
    }

    @Test
    void theNamespacesAnnotationRefusesOtherTenantsAndAdmitsTheOnesItLists() throws Exception {
        Pod b = shop(front);
        controllerService(front, marked(), Map.of(Constants.FRONT_END_NAMESPACES_ANNOTATION, "cart, billing"), false);
        Answer refused = drain("shop-a", b, true);
        assertThat(requests.get()).as("requests that reached the other namespace's controller").isZero();
        assertThat(refused.body()).startsWith("Timeout").contains("Service " + front + "/traefik is not marked as a "
                + "front end for namespace " + f.ns);

        controllerService(front, marked(), Map.of(Constants.FRONT_END_NAMESPACES_ANNOTATION, "cart," + f.ns), false);
        Answer admitted = drain("shop-c", b, true);
        assertThat(admitted.body()).startsWith("Verified").contains("shop-c (")
                .contains(") no longer routed to by Traefik (its 1 replica asked)");
        assertThat(requests.get()).as("the listed namespace's app asked").isPositive();
        assertNothingOfTheOtherNamespace(tenantText() + refused.body() + admitted.body());
    }

    @Test
    void aMarkedServiceIsAskedAndItsReplicasAreNamedToTheTenantByPositionOnly() throws Exception {
        Pod b = shop(front);
        controllerService(front, marked(), Map.of(), true);

        Answer routedThrough = drain("shop-a", b, false);
        // shop-a was never listed: the working replica vouches, the one on a closed port cannot.
        assertThat(requests.get()).as("the marked controller was asked").isPositive();
        assertThat(routedThrough.body()).startsWith("Timeout")
                .contains("Traefik cannot confirm that shop-a is no longer routed to: replica 2 of 2 gave no usable answer "
                        + "(the operator's log says why)");

        routed.set(Set.of(ip(b)));
        Answer stillRouted = drainWhileRouted("shop-c", b);
        assertThat(stillRouted.body()).startsWith("Timeout").contains("through replica 1 of 2")
                .doesNotContain("@kubernetes");

        DrainRecord record = awaitDrainRecord("shop", "shop-c");
        assertThat(record.getReleasedBy()).isEqualTo(ReleasedBy.TIMEOUT);
        assertThat(record.getMessage()).contains("replica 1 of 2");
        await().atMost(Duration.ofSeconds(10)).until(() -> f.events("DrainHoldTimeout").stream()
                .anyMatch(e -> e.getNote().contains("replica 1 of 2") || e.getNote().contains("replica 2 of 2")));
        assertNothingOfTheOtherNamespace(tenantText() + routedThrough.body() + stillRouted.body());
    }

    /** A pod the stand-in keeps routing to through its drain: held to the bound by the routing replica. */
    private Answer drainWhileRouted(String name, Pod b) throws Exception {
        Pod p = f.pod("shop", name, HOLD);
        f.slice("shop", GateFixture.ready(p), GateFixture.ready(b));
        routed.set(Set.of(ip(p), ip(b)));
        f.terminate(p);
        CompletableFuture<Answer> call = f.callPod("shop", name);
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        f.slice("shop", GateFixture.terminating(p), GateFixture.ready(b));
        return call.get(HOLD + 15, TimeUnit.SECONDS);
    }

    @Test
    void aServiceOfTheAppsOwnNamespaceNeedsNoMarkAndKeepsItsDetail() throws Exception {
        Pod b = shop(f.ns);
        controllerService(f.ns, Map.of(), Map.of(), true);
        Answer answer = drain("shop-a", b, false);
        assertThat(requests.get()).as("the tenant's own controller was asked").isPositive();
        assertThat(answer.body()).startsWith("Timeout")
                .contains("Traefik replica " + CONTROLLER_POD + "-b could not be connected to (refused or unreachable)");
    }
}
