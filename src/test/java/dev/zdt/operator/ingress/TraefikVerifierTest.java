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
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.zdt.operator.api.v1alpha1.ZeroDowntimeApp;
import dev.zdt.operator.testing.Apps;

/**
 * Reading Traefik's service list: pods matched by address in every provider's services, and every
 * way a replica's answer can fail, each said in the operator's words and never the remote host's.
 * A JDK HTTP server stands in for a replica that misbehaves.
 */
class TraefikVerifierTest {

    private static final String SECRET = "root:x:0:0 internal-token-1234";
    private static final Set<String> SHOP = Set.of("10.244.0.10", "10.244.0.11", "10.244.0.12");

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
        try (InputStream in = TraefikVerifierTest.class.getResourceAsStream("/traefik/http-services.json")) {
            return in.readAllBytes();
        }
    }

    private static TraefikVerifier verifier(Duration timeout, int perPage, int maxBytes) {
        return new TraefikVerifier(null, timeout, perPage, maxBytes, new IngressPolicy(List.of(), List.of()));
    }

    private ReplicaAnswer ask(TraefikVerifier v, Set<String> addresses) throws Exception {
        return v.ask(new ControllerReplicas.Replica("traefik-0", base), addresses,
                new FrontEndApi.Hints("web", "shop")).get(20, TimeUnit.SECONDS);
    }

    private void serve(int status, byte[] body, Map<String, String> headers) {
        server.createContext("/api/http/services", ex -> {
            headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
    }

    @Test
    void findsThePodsByAddressInTheServicesOfEveryProvider() throws Exception {
        Map<String, Set<String>> routes = new TreeMap<>();
        FrontEndApi.Tally tally = TraefikVerifier.tally(Set.of());
        TraefikVerifier.read(new ObjectMapper().readTree(fixture()),
                Set.of("10.244.0.10", "10.244.0.12", "10.244.0.20", "fd00:10:244::30", "10.244.0.99"),
                new FrontEndApi.Hints("web", "shop"), routes, tally);
        assertThat(routes).containsOnly(
                Map.entry("10.244.0.10", Set.of("web-shop-http@kubernetes")),
                Map.entry("10.244.0.20", Set.of("web-cart-route-4f8a2c@kubernetescrd")),
                Map.entry("fd00:10:244::30", Set.of("web-api-http-80@kubernetesgateway")));
        assertThat(routes).as("a fenced server gets no new request: not routed").doesNotContainKey("10.244.0.12");
        assertThat(tally.backends).isEqualTo(5);
        assertThat(tally.hints).containsOnlyKeys("web-shop-http@kubernetes");
    }

    /**
     * Answers of a real Traefik v3.6.23, recorded by TraefikProvidersGateTest: an IngressRoute's
     * service is named by a hash ({@code <ns>-shop-38bcef...@kubernetescrd}), an HTTPRoute's by
     * the backend ({@code <ns>-shop-http-80@kubernetesgateway}) behind a weighted service without
     * servers; the gateway answer also lists the earlier test's IngressRoute, one server fenced.
     */
    @Test
    void findsThePodsInRecordedAnswersOfTheCrdAndGatewayApiProviders() throws Exception {
        Map<String, Set<String>> routes = new TreeMap<>();
        FrontEndApi.Tally tally = TraefikVerifier.tally(Set.of());
        TraefikVerifier.read(new ObjectMapper().readTree(resource("/traefik/http-services-recorded-crd.json")),
                Set.of("10.77.0.2", "10.77.0.3", "10.77.0.9"), new FrontEndApi.Hints("g-e0x2hl97y", "shop"),
                routes, tally);
        assertThat(routes).containsOnly(
                Map.entry("10.77.0.2", Set.of("g-e0x2hl97y-shop-38bcef08ab977d6de43a@kubernetescrd")),
                Map.entry("10.77.0.3", Set.of("g-e0x2hl97y-shop-38bcef08ab977d6de43a@kubernetescrd")));

        routes.clear();
        TraefikVerifier.read(new ObjectMapper().readTree(resource("/traefik/http-services-recorded-gateway.json")),
                Set.of("10.77.0.2", "10.77.0.5", "10.77.0.6", "10.77.0.9"), new FrontEndApi.Hints("g-e1ffub88h", "shop"),
                routes, TraefikVerifier.tally(Set.of()));
        assertThat(routes).containsOnly(
                Map.entry("10.77.0.5", Set.of("g-e1ffub88h-shop-http-80@kubernetesgateway")),
                Map.entry("10.77.0.6", Set.of("g-e1ffub88h-shop-http-80@kubernetesgateway")));
        assertThat(routes).as("fenced in the other app's IngressRoute: no new requests").doesNotContainKey("10.77.0.2");
    }

    private static byte[] resource(String path) throws IOException {
        try (InputStream in = TraefikVerifierTest.class.getResourceAsStream(path)) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsEveryPageOfTheList() throws Exception {
        server.createContext("/api/http/services", ex -> {
            boolean first = ex.getRequestURI().getQuery().matches("(.*&)?page=1(&.*)?");
            String body = first ? "[{\"name\":\"a@file\",\"loadBalancer\":{\"servers\":[{\"url\":\"http://10.244.0.10:80\"}]}}]"
                    : "[{\"name\":\"b@file\",\"loadBalancer\":{\"servers\":[{\"url\":\"http://10.244.0.11:80\"}]}}]";
            if (first) {
                ex.getResponseHeaders().add("X-Next-Page", "2");
            }
            reply(ex, 200, body.getBytes(StandardCharsets.UTF_8));
        });
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1, 1 << 20), SHOP);
        assertThat(a.known()).isTrue();
        assertThat(a.routes()).containsOnly(Map.entry("10.244.0.10", Set.of("a@file")),
                Map.entry("10.244.0.11", Set.of("b@file")));
    }

    @Test
    void anErrorStatusIsReportedWithoutItsBody() throws Exception {
        serve(500, SECRET.getBytes(StandardCharsets.UTF_8), Map.of());
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 100, 1 << 20), SHOP);
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Traefik replica traefik-0 answered HTTP 500 to /api/http/services");
    }

    @Test
    void aBodyThatIsNotTraefiksListIsUnknownAndNotRepeated() throws Exception {
        serve(200, ("{\"message\":\"" + SECRET + "\"}").getBytes(StandardCharsets.UTF_8), Map.of());
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 100, 1 << 20), SHOP);
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).contains("not Traefik's service list").doesNotContain("root").doesNotContain("token");
    }

    @Test
    void aResponseOverTheCapIsRefusedWhateverItDeclares() throws Exception {
        byte[] huge = new byte[64 * 1024];
        java.util.Arrays.fill(huge, (byte) ' ');
        // Declared length over the cap.
        serve(200, huge, Map.of());
        ReplicaAnswer declared = ask(verifier(Duration.ofSeconds(2), 100, 4096), SHOP);
        assertThat(declared.known()).isFalse();
        assertThat(declared.detail()).isEqualTo("Traefik replica traefik-0 sent a response over 4096 bytes");
        server.removeContext("/api/http/services");
        // Streamed without a length, and never ending: the cap cuts it off.
        server.createContext("/api/http/services", ex -> {
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < 100_000 && stop.getCount() > 0; i++) {
                    out.write(huge);
                }
            } catch (IOException closed) {
                // the operator hung up: what the cap is for
            }
        });
        ReplicaAnswer streamed = ask(verifier(Duration.ofSeconds(5), 100, 4096), SHOP);
        assertThat(streamed.known()).isFalse();
        assertThat(streamed.detail()).isEqualTo("Traefik replica traefik-0 sent a response over 4096 bytes");
        assertThat(FrontEndApi.size(8 << 20)).isEqualTo("8 MiB");
    }

    @Test
    void aReplicaThatDoesNotAnswerTimesOut() throws Exception {
        server.createContext("/api/http/services", ex -> {
            try {
                stop.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long started = System.nanoTime();
        ReplicaAnswer a = ask(verifier(Duration.ofMillis(500), 100, 1 << 20), SHOP);
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Traefik replica traefik-0 timed out after 0.5 s");
        assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void aClosedPortSaysSo() throws Exception {
        server.stop(0);
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 100, 1 << 20), SHOP);
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Traefik replica traefik-0 could not be connected to (refused or unreachable)");
    }

    @Test
    void aListThatNeverEndsIsRefusedAfterTheLastPageAllowed() throws Exception {
        server.createContext("/api/http/services", ex -> {
            String q = ex.getRequestURI().getQuery();
            int page = Integer.parseInt(q.substring(q.indexOf("page=", q.indexOf("per_page=") + 9) + 5));
            ex.getResponseHeaders().add("X-Next-Page", Integer.toString(page + 1));
            reply(ex, 200, "[]".getBytes(StandardCharsets.UTF_8));
        });
        ReplicaAnswer a = ask(verifier(Duration.ofSeconds(2), 1, 1 << 20), SHOP);
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Traefik replica traefik-0 lists more than 50 HTTP services");
    }

    @Test
    void anApiUrlOffTheAllowListIsNeverFetched() throws Exception {
        serve(200, fixture(), Map.of());
        ZeroDowntimeApp app = Apps.parse(Apps.yaml("shop", """
                provider: traefik
                verify: ingress
                apiUrl: %s
                """.formatted(base), ""));
        app.getMetadata().setNamespace("web");
        IngressObservation refused = verifier(Duration.ofSeconds(2), 100, 1 << 20).observe(app, SHOP)
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(refused.known()).isFalse();
        assertThat(refused.detail()).contains("is not on the operator's allow-list").contains("traffic.controller");

        TraefikVerifier allowed = new TraefikVerifier(null, Duration.ofSeconds(2), 100, 1 << 20,
                new IngressPolicy(List.of(base + "/"), List.of()));
        IngressObservation seen = allowed.observe(app, SHOP).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(seen.known()).isTrue();
        String name = "127.0.0.1:" + server.getAddress().getPort();
        assertThat(seen.replicas()).containsOnlyKeys(name);
        assertThat(seen.replicas().get(name).routes()).containsOnlyKeys("10.244.0.10", "10.244.0.11");
    }

    @Test
    void readsTheHostOfAServerUrl() {
        assertThat(TraefikVerifier.hostOf("http://10.244.0.7:8080")).isEqualTo("10.244.0.7");
        assertThat(TraefikVerifier.hostOf("http://[fd00::7]:8080")).isEqualTo("fd00::7");
        assertThat(TraefikVerifier.hostOf(null)).isNull();
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
