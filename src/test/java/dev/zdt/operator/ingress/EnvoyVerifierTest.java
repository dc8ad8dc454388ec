package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import dev.zdt.operator.api.v1alpha1.Provider;
import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;

/**
 * Reading Envoy's {@code /clusters?format=json}: the fixture is a real Envoy 1.40's answer
 * (src/test/resources/envoy/README.md says how it was made), with one host of every EDS health
 * status and one failing its active health check. A JDK HTTP server stands in for a replica that
 * misbehaves.
 */
class EnvoyVerifierTest {

    private static final String SECRET = "root:x:0:0 internal-token-1234";
    private static final FrontEndApi.Hints SHOP = new FrontEndApi.Hints("web", "shop");

    private HttpServer server;
    private String base;
    private final CountDownLatch stop = new CountDownLatch(1);

    @BeforeEach
    void server() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        stop.countDown();
        server.stop(0);
    }

    private static byte[] fixture() throws IOException {
        try (InputStream in = EnvoyVerifierTest.class.getResourceAsStream("/envoy/clusters.json")) {
            return in.readAllBytes();
        }
    }

    private static EnvoyVerifier verifier(Duration timeout, int maxBytes) {
        return new EnvoyVerifier(null, timeout, maxBytes, new IngressPolicy(List.of(), List.of()));
    }

    private ReplicaAnswer ask(EnvoyVerifier v, Set<String> addresses) throws Exception {
        return v.ask(new ControllerReplicas.Replica("envoy-0", base), addresses, SHOP).get(20, TimeUnit.SECONDS);
    }

    private void serve(int status, byte[] body) {
        server.createContext("/clusters", ex -> {
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
    }

    private static Map<String, Set<String>> read(Set<String> addresses, FrontEndApi.Tally tally) throws Exception {
        Map<String, Set<String>> routes = new TreeMap<>();
        EnvoyVerifier.read(new ObjectMapper().readTree(fixture()), addresses, SHOP, routes, tally);
        return routes;
    }

    @Test
    void healthyAndDegradedHostsAreRoutedExcludedOnesAreNot() throws Exception {
        FrontEndApi.Tally tally = EnvoyVerifier.tally(Set.of());
        Map<String, Set<String>> routes = read(Set.of("10.244.0.10", "10.244.0.12", "10.244.0.13", "10.244.0.14",
                "10.244.0.15", "10.244.0.16", "fd00:10:244::30", "10.244.0.20", "10.244.0.99"), tally);
        assertThat(routes).containsOnly(
                Map.entry("10.244.0.10", Set.of("web/shop/80/da39a3ee5e")),
                // No EDS status given: Envoy reports HEALTHY.
                Map.entry("10.244.0.13", Set.of("web/shop/80/da39a3ee5e")),
                // Degraded hosts still take requests when too few are healthy.
                Map.entry("10.244.0.15", Set.of("web/shop/80/da39a3ee5e")),
                Map.entry("fd00:10:244::30", Set.of("web/shop/80/da39a3ee5e")),
                Map.entry("10.244.0.20", Set.of("other/blog/80/3fdba35f04")));
        // DRAINING, UNHEALTHY and TIMEOUT (Envoy 1.40 shows TIMEOUT as UNHEALTHY): listed, not balanced to.
        assertThat(tally.listedNotRouted).containsExactly("10.244.0.12", "10.244.0.14", "10.244.0.16");
        assertThat(tally.backends).isEqualTo(3);
        assertThat(tally.hints).containsOnlyKeys("web/shop/80/da39a3ee5e");
        assertThat(tally.hints.get("web/shop/80/da39a3ee5e")).contains("10.244.0.10", "10.244.0.12 DRAINING",
                "10.244.0.14 UNHEALTHY");
    }

    @Test
    void aFailedActiveHealthCheckExcludesTheHostButAnotherPortOfTheSameAddressStillRoutes() throws Exception {
        FrontEndApi.Tally tally = EnvoyVerifier.tally(Set.of("127.0.0.1"));
        Map<String, Set<String>> routes = read(Set.of("127.0.0.1"), tally);
        // 127.0.0.1:1 fails its TCP check, 127.0.0.1:19901 passes: the address is still balanced to.
        assertThat(routes).containsOnly(Map.entry("127.0.0.1", Set.of("web/cart/8080/6b86b273ff")));
        assertThat(tally.listedNotRouted).isEmpty();
        assertThat(EnvoyVerifier.exclusion(new ObjectMapper().readTree(
                "{\"failed_active_health_check\":true,\"eds_health_status\":\"HEALTHY\"}")))
                .isEqualTo("failed_active_health_check");
        assertThat(EnvoyVerifier.exclusion(new ObjectMapper().readTree(
                "{\"failed_outlier_check\":true,\"eds_health_status\":\"HEALTHY\"}")))
                .as("outlier ejection ends by itself: still routed").isNull();
    }

    @Test
    void anAddressNoClusterListsIsNeitherRoutedNorExcludedAndTheDetailSaysWhatWasFound() throws Exception {
        serve(200, fixture());
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.99"));
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).isEmpty();
        assertThat(a.fenced()).isEmpty();
        assertThat(a.detail()).isEqualTo("looked for 10.244.0.99 among the hosts of every Envoy cluster; found 3 clusters,"
                + " named like the app: web/shop/80/da39a3ee5e [10.244.0.10, 10.244.0.12 DRAINING, 10.244.0.13,"
                + " 10.244.0.14 UNHEALTHY, 10.244.0.15, 10.244.0.16 UNHEALTHY, fd00:10:244::30]");
    }

    @Test
    void anExcludedHostIsReportedAsListedNotRouted() throws Exception {
        serve(200, fixture());
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.10", "10.244.0.12"));
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).containsOnlyKeys("10.244.0.10");
        assertThat(a.fenced()).containsExactly("10.244.0.12");
    }

    @Test
    void anEnvoyWithoutClustersListsNothing() throws Exception {
        serve(200, "{}".getBytes(StandardCharsets.UTF_8));
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.10"));
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).isEmpty();
        assertThat(a.detail()).endsWith("found 0 clusters, none named like web/shop");
    }

    @Test
    void anErrorStatusIsReportedWithoutItsBody() throws Exception {
        serve(503, SECRET.getBytes(StandardCharsets.UTF_8));
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.10"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Envoy replica envoy-0 answered HTTP 503 to /clusters");
    }

    @Test
    void aBodyThatIsNotEnvoysClusterListIsUnknownAndNotRepeated() throws Exception {
        List<String> bodies = List.of("[\"" + SECRET + "\"]", "{\"cluster_statuses\":\"" + SECRET + "\"}",
                "text " + SECRET);
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        server.createContext("/clusters", ex -> {
            byte[] b = bodies.get(next.getAndIncrement()).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        for (String body : bodies) {
            ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.10"));
            assertThat(a.known()).as(body).isFalse();
            assertThat(a.detail()).isEqualTo("Envoy replica envoy-0 sent something that is not Envoy's cluster list"
                    + " to /clusters");
        }
    }

    @Test
    void aResponseOverTheCapIsRefused() throws Exception {
        serve(200, fixture());
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 4096), Set.of("10.244.0.10"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Envoy replica envoy-0 sent a response over 4096 bytes");
    }

    @Test
    void aReplicaThatDoesNotAnswerTimesOut() throws Exception {
        server.createContext("/clusters", ex -> {
            try {
                stop.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long started = System.nanoTime();
        ReplicaAnswer a = ask(verifier(Duration.ofMillis(500), 1 << 20), Set.of("10.244.0.10"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Envoy replica envoy-0 timed out after 0.5 s");
        assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void aClosedPortSaysSo() throws Exception {
        server.stop(0);
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1 << 20), Set.of("10.244.0.10"));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Envoy replica envoy-0 could not be connected to (refused or unreachable)");
    }

    @Test
    void speaksForProviderEnvoyOnlyAndHonoursTheAllowList() throws Exception {
        EnvoyVerifier v = verifier(Duration.ofSeconds(2), 1 << 20);
        assertThat(v.supports(Provider.ENVOY)).isTrue();
        assertThat(v.supports(Provider.TRAEFIK)).isFalse();
        serve(200, fixture());
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", """
                provider: envoy
                verify: ingress
                apiUrl: %s
                """.formatted(base), ""));
        app.getMetadata().setNamespace("web");
        IngressObservation refused = v.observe(app, Set.of("10.244.0.10")).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(refused.known()).isFalse();
        assertThat(refused.detail()).contains("is not on the operator's allow-list");

        EnvoyVerifier allowed = new EnvoyVerifier(null, Duration.ofSeconds(2), 1 << 20,
                new IngressPolicy(List.of(base), List.of()));
        IngressObservation seen = allowed.observe(app, Set.of("10.244.0.10", "10.244.0.12")).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        String name = "127.0.0.1:" + server.getAddress().getPort();
        assertThat(seen.known()).isTrue();
        assertThat(seen.replicas()).containsOnlyKeys(name);
        assertThat(seen.replicas().get(name).routes()).containsOnlyKeys("10.244.0.10");
        assertThat(seen.replicas().get(name).fenced()).containsExactly("10.244.0.12");
    }
}
