package dev.zdt.operator.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.zdt.operator.testing.HeapPeak;

/**
 * A front end that answers the operator's questions with the worst the caps admit: what
 * {@code traffic.controller} may name is a tenant's Service, so its pods may be hostile. Every such
 * answer makes the replica unknown with a reason in our words (never "gone", so a hold ends only at
 * its bound), and costs at most its capped bytes plus a small fixed amount: no tree of it is built.
 * The bodies are generated as they are sent, so the test holds none of them.
 */
class HostileFrontEndTest {

    /** The operator's default cap, zdt.ingress.max-response-bytes. */
    private static final int CAP = 8 << 20;
    /**
     * Bytes allowed to be allocated while one hostile answer is fetched and read, counted per thread
     * (HeapPeak.allocated), which unlike the sampled heap does not depend on when G1 collects or on
     * its region size (the sampled growth, still printed, read exactly 48 MiB on one CI machine and
     * 12-36 MiB here for the same reads). It bounds what the process could hold: the 8 MiB kept (the
     * cap), the HTTP client's own buffers for the same bytes (8 MiB more), and per entry read a few
     * short-lived strings (100,000 servers whose URL is parsed); measured 6.6-31.4 MiB, and up to 49
     * MiB when the HTTP client was still draining the previous test's refused answer in the
     * background. Reading the same answer into a tree, as before, allocates 274 MiB (8 MiB of
     * {@code {},} is 2.8 million ObjectNodes, each with its map): theMeasureSeesATreeBuiltOfTheSameAnswer
     * keeps that above twice this bound, so the bound can fail.
     */
    private static final long HEAP_BOUND = 12L * CAP;
    private static final Set<String> SHOP = Set.of("10.244.0.10", "10.244.0.11");
    private static final FrontEndApi.Hints HINTS = new FrontEndApi.Hints("web", "shop");

    private HttpServer server;
    private String base;
    private final CountDownLatch stop = new CountDownLatch(1);

    @BeforeEach
    void server() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        stop.countDown();
        server.stop(0);
    }

    private static TraefikVerifier traefik(Duration timeout) {
        return new TraefikVerifier(null, timeout, TraefikVerifier.PER_PAGE, CAP, new IngressPolicy(List.of(), List.of()));
    }

    private static EnvoyVerifier envoy(Duration timeout) {
        return new EnvoyVerifier(null, timeout, CAP, new IngressPolicy(List.of(), List.of()));
    }

    private ReplicaAnswer askTraefik(Duration timeout) throws Exception {
        return traefik(timeout).ask(new ControllerReplicas.Replica("traefik-0", base), SHOP, HINTS)
                .get(30, TimeUnit.SECONDS);
    }

    private ReplicaAnswer askEnvoy(Duration timeout) throws Exception {
        return envoy(timeout).ask(new ControllerReplicas.Replica("envoy-0", base), SHOP, HINTS)
                .get(30, TimeUnit.SECONDS);
    }

    /** A body of prefix, unit repeated, suffix: as long as fits in {@code size} bytes, written as it is made. */
    private record Body(String prefix, String unit, String suffix, int size) {

        int repeats() {
            return (size - prefix.length() - suffix.length()) / unit.length();
        }

        int length() {
            return prefix.length() + repeats() * unit.length() + suffix.length();
        }

        void writeTo(OutputStream out) throws IOException {
            out.write(prefix.getBytes(StandardCharsets.US_ASCII));
            byte[] u = unit.getBytes(StandardCharsets.US_ASCII);
            int perBlock = Math.max(1, 65536 / u.length);
            byte[] block = new byte[perBlock * u.length];
            for (int i = 0; i < perBlock; i++) {
                System.arraycopy(u, 0, block, i * u.length, u.length);
            }
            int left = repeats();
            while (left > 0) {
                int n = Math.min(left, perBlock);
                out.write(block, 0, n * u.length);
                left -= n;
            }
            out.write(suffix.getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Just under the cap: the largest the operator reads in. */
    private static Body underCap(String prefix, String unit, String suffix) {
        return new Body(prefix, unit, suffix, CAP - 1);
    }

    private void serve(String path, Body body) {
        server.createContext(path, ex -> {
            ex.sendResponseHeaders(200, body.length());
            try (OutputStream out = ex.getResponseBody()) {
                body.writeTo(out);
            } catch (IOException closed) {
                // the operator stopped reading: allowed
            }
        });
    }

    private void serveBoth(Body traefik, Body envoy) {
        serve("/api/http/services", traefik);
        serve("/clusters", envoy);
    }

    /** Asks both verifiers, each under its own heap measure, and returns their answers. */
    private ReplicaAnswer[] askBothMeasured(String what) throws Exception {
        ReplicaAnswer t;
        ReplicaAnswer e;
        long tGrowth;
        long eGrowth;
        long tAlloc;
        long eAlloc;
        try (HeapPeak heap = HeapPeak.start()) {
            t = askTraefik(Duration.ofSeconds(5));
            tGrowth = heap.growth();
            tAlloc = heap.allocated();
        }
        try (HeapPeak heap = HeapPeak.start()) {
            e = askEnvoy(Duration.ofSeconds(5));
            eGrowth = heap.growth();
            eAlloc = heap.allocated();
        }
        System.out.printf("heap growth reading %s: Traefik %s (allocated %s), Envoy %s (allocated %s) (bound %s)%n", what,
                HeapPeak.mib(tGrowth), HeapPeak.mib(tAlloc), HeapPeak.mib(eGrowth), HeapPeak.mib(eAlloc),
                HeapPeak.mib(HEAP_BOUND));
        assertThat(tAlloc).as("Traefik: bytes allocated while reading %s", what).isLessThan(HEAP_BOUND);
        assertThat(eAlloc).as("Envoy: bytes allocated while reading %s", what).isLessThan(HEAP_BOUND);
        return new ReplicaAnswer[] { t, e };
    }

    @Test
    void millionsOfEmptyObjectsJustUnderTheCapAreUnknownWithoutATreeOfThem() throws Exception {
        serveBoth(underCap("[", "{},", "{}]"), underCap("{\"cluster_statuses\":[", "{},", "{}]}"));
        ReplicaAnswer[] a = askBothMeasured("8 MiB of [{},{},...]");
        assertThat(a[0].known()).isFalse();
        assertThat(a[0].detail()).isEqualTo("Traefik replica traefik-0 listed more than 100 HTTP services on one page");
        assertThat(a[1].known()).isFalse();
        assertThat(a[1].detail()).isEqualTo("Envoy replica envoy-0 listed more than 20000 clusters");
    }

    @Test
    void emptyObjectsInAFieldThatIsSkippedCostNoMoreThanTheirBytes() throws Exception {
        // One service, one cluster: the millions of objects are in a field the verifiers do not read.
        serveBoth(underCap("[{\"name\":\"web-shop@file\",\"usedBy\":[", "{},", "{}]}]"),
                underCap("{\"cluster_statuses\":[{\"name\":\"web/shop\",\"stats\":[", "{},", "{}]}]}"));
        ReplicaAnswer[] a = askBothMeasured("8 MiB of skipped {}");
        assertThat(a[0].known()).as(a[0].detail()).isTrue();
        assertThat(a[0].routes()).isEmpty();
        assertThat(a[1].known()).as(a[1].detail()).isTrue();
        assertThat(a[1].routes()).isEmpty();
    }

    @Test
    void deeplyNestedArraysJustUnderTheCapAreUnknown() throws Exception {
        // The closing brackets do not fit: the parser gives up at depth 33 long before the end anyway.
        serveBoth(underCap("", "[", ""), underCap("{\"cluster_statuses\":", "[", ""));
        ReplicaAnswer[] a = askBothMeasured("8 MiB of [[[[...");
        assertThat(a[0].known()).isFalse();
        assertThat(a[0].detail()).isEqualTo("Traefik replica traefik-0 sent an answer nested deeper than 32 levels");
        assertThat(a[1].known()).isFalse();
        assertThat(a[1].detail()).isEqualTo("Envoy replica envoy-0 sent an answer nested deeper than 32 levels");
    }

    @Test
    void oneHugeNameJustUnderTheCapIsUnknown() throws Exception {
        serveBoth(underCap("[{\"name\":\"", "x", "\"}]"), underCap("{\"cluster_statuses\":[{\"name\":\"", "x", "\"}]}"));
        ReplicaAnswer[] a = askBothMeasured("an 8 MiB name");
        assertThat(a[0].known()).isFalse();
        assertThat(a[0].detail()).isEqualTo("Traefik replica traefik-0 sent a name or address longer than 4096 characters");
        assertThat(a[1].known()).isFalse();
        assertThat(a[1].detail()).isEqualTo("Envoy replica envoy-0 sent a name or address longer than 4096 characters");
    }

    @Test
    void oneHugeStringInASkippedFieldIsSkippedUnread() throws Exception {
        serveBoth(underCap("[{\"name\":\"a@file\",\"err\":[\"", "x", "\"]}]"),
                underCap("{\"cluster_statuses\":[],\"note\":\"", "x", "\"}"));
        ReplicaAnswer[] a = askBothMeasured("an 8 MiB skipped string");
        assertThat(a[0].known()).as(a[0].detail()).isTrue();
        assertThat(a[1].known()).as(a[1].detail()).isTrue();
    }

    @Test
    void moreServersOrHostsThanTheEntryCapAreUnknown() throws Exception {
        // Real-shaped entries, all at an address the app asks about, one over the cap.
        String server = "{\"url\":\"http://10.244.0.10:80\"},";
        serve("/api/http/services", new Body("[{\"name\":\"web-shop@file\",\"loadBalancer\":{\"servers\":[", server,
                "{}]}}]", 12 + 30 + server.length() * (TraefikVerifier.MAX_SERVERS + 1)));
        String host = "{\"address\":{\"socket_address\":{\"address\":\"10.244.0.10\"}}},";
        serve("/clusters", new Body("{\"cluster_statuses\":[{\"name\":\"web/shop\",\"host_statuses\":[", host, "{}]}]}",
                60 + host.length() * (EnvoyVerifier.MAX_HOSTS + 1)));
        ReplicaAnswer[] a = askBothMeasured("entries over the cap");
        assertThat(a[0].known()).isFalse();
        assertThat(a[0].detail()).isEqualTo("Traefik replica traefik-0 listed more than 100000 servers on one page");
        assertThat(a[1].known()).isFalse();
        assertThat(a[1].detail()).isEqualTo("Envoy replica envoy-0 listed more than 100000 hosts");
    }

    @Test
    void aPageWithMoreServicesThanAskedForIsUnknown() throws Exception {
        serve("/api/http/services", new Body("[", "{\"name\":\"x@file\"},", "{}]", 3 + 18 * 101));
        ReplicaAnswer a = askTraefik(Duration.ofSeconds(2));
        assertThat(a.known()).isFalse();
        assertThat(a.detail()).isEqualTo("Traefik replica traefik-0 listed more than 100 HTTP services on one page");
    }

    @Test
    void aMalformedAnswerIsUnknownAndNotRepeated() throws Exception {
        byte[] traefik = "[{\"name\":\"root:x:0:0\",\"loadBalancer\":{\"servers\":[{\"url\":".getBytes(StandardCharsets.UTF_8);
        byte[] envoy = "{\"cluster_statuses\":[{\"name\":\"root:x:0:0\",".getBytes(StandardCharsets.UTF_8);
        server.createContext("/api/http/services", ex -> reply(ex, traefik));
        server.createContext("/clusters", ex -> reply(ex, envoy));
        ReplicaAnswer t = askTraefik(Duration.ofSeconds(2));
        assertThat(t.known()).isFalse();
        assertThat(t.detail()).isEqualTo(
                "Traefik replica traefik-0 sent something that is not Traefik's service list to /api/http/services");
        ReplicaAnswer e = askEnvoy(Duration.ofSeconds(2));
        assertThat(e.known()).isFalse();
        assertThat(e.detail()).isEqualTo("Envoy replica envoy-0 sent something that is not Envoy's cluster list to /clusters");
    }

    @Test
    void anEndlessTrickleIsCutOffAtTwiceTheTimeout() throws Exception {
        for (String path : List.of("/api/http/services", "/clusters")) {
            server.createContext(path, ex -> {
                ex.sendResponseHeaders(200, 0);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(path.startsWith("/api") ? '[' : '{');
                    while (!stop.await(50, TimeUnit.MILLISECONDS)) {
                        out.write(' ');
                        out.flush();
                    }
                } catch (IOException | InterruptedException closed) {
                    // the operator hung up
                }
            });
        }
        long started = System.nanoTime();
        ReplicaAnswer t = askTraefik(Duration.ofMillis(500));
        ReplicaAnswer e = askEnvoy(Duration.ofMillis(500));
        assertThat(t.known()).isFalse();
        assertThat(t.detail()).isEqualTo("Traefik replica traefik-0 timed out after 0.5 s");
        assertThat(e.known()).isFalse();
        assertThat(e.detail()).isEqualTo("Envoy replica envoy-0 timed out after 0.5 s");
        assertThat(System.nanoTime() - started).as("two answers, each cut off at 1 s").isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void normalAnswersStillVerify() throws Exception {
        byte[] traefik = resource("/traefik/http-services.json");
        byte[] envoy = resource("/envoy/clusters.json");
        server.createContext("/api/http/services", ex -> reply(ex, traefik));
        server.createContext("/clusters", ex -> reply(ex, envoy));
        ReplicaAnswer t = askTraefik(Duration.ofSeconds(2));
        assertThat(t.known()).as(t.detail()).isTrue();
        assertThat(t.routes()).containsOnlyKeys("10.244.0.10", "10.244.0.11");
        ReplicaAnswer e = askEnvoy(Duration.ofSeconds(2));
        assertThat(e.known()).as(e.detail()).isTrue();
        assertThat(e.routes()).containsKey("10.244.0.10");
    }

    @Test
    void theRepliesOfAnAppsReplicasAreReadOneAfterTheOther() throws Exception {
        java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        server.createContext("/clusters", ex -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(100);
                reply(ex, "{}".getBytes(StandardCharsets.US_ASCII));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.decrementAndGet();
            }
        });
        EnvoyVerifier v = envoy(Duration.ofSeconds(2));
        List<ControllerReplicas.Replica> replicas = List.of(new ControllerReplicas.Replica("envoy-0", base),
                new ControllerReplicas.Replica("envoy-1", base), new ControllerReplicas.Replica("envoy-2", base));
        IngressObservation seen = FrontEndApi.askAll(replicas, "test", r -> v.ask(r, SHOP, HINTS), java.time.Instant.now())
                .get(10, TimeUnit.SECONDS);
        assertThat(seen.replicas()).containsOnlyKeys("envoy-0", "envoy-1", "envoy-2");
        assertThat(most.get()).as("answers of one app in memory at once").isEqualTo(1);
    }

    @Test
    void manyAppsAskingAtOnceHoldAtMostFourAnswersInMemory() throws Exception {
        java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        Body hostile = underCap("{\"cluster_statuses\":[{\"name\":\"x\",\"stats\":[", "{},", "{}]}]}");
        server.createContext("/clusters", ex -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                ex.sendResponseHeaders(200, hostile.length());
                try (OutputStream out = ex.getResponseBody()) {
                    hostile.writeTo(out);
                }
            } finally {
                inFlight.decrementAndGet();
            }
        });
        // Twelve apps, each with its own verifier question, all at once.
        EnvoyVerifier v = envoy(Duration.ofSeconds(10));
        List<java.util.concurrent.CompletableFuture<ReplicaAnswer>> asked = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            asked.add(v.ask(new ControllerReplicas.Replica("envoy-" + i, base), SHOP, HINTS));
        }
        for (java.util.concurrent.CompletableFuture<ReplicaAnswer> a : asked) {
            assertThat(a.get(60, TimeUnit.SECONDS).known()).isTrue();
        }
        assertThat(most.get()).as("answers fetched at once over all apps")
                .isLessThanOrEqualTo(FrontEndApi.MAX_ANSWERS_IN_MEMORY).isPositive();
        assertThat(FrontEndApi.oneOfFewAnswers(() -> java.util.concurrent.CompletableFuture.completedFuture(1))
                .get(5, TimeUnit.SECONDS)).as("every slot was given back").isEqualTo(1);
    }

    @Test
    void anHaproxyAnswerOfMillionsOfLinesIsRefusedBeforeItIsSplit() throws Exception {
        // 8 MiB of "a\n": split into lines, four million strings (over 150 MiB).
        String text = "1\n# be_name srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n"
                + "a\n".repeat((CAP - 80) / 2);
        long growth;
        String refused = null;
        try (HeapPeak heap = HeapPeak.start()) {
            try {
                HaproxyVerifier.parse(text);
            } catch (IOException e) {
                refused = e.getMessage();
            }
            growth = heap.allocated();
        }
        System.out.printf("bytes allocated reading 8 MiB of HAProxy lines: %s%n", HeapPeak.mib(growth));
        assertThat(refused).isEqualTo("more than " + HaproxyVerifier.MAX_LINES + " lines");
        assertThat(growth).as("no line was split off").isLessThan(16L << 20);
    }

    @Test
    void theMeasureSeesATreeBuiltOfTheSameAnswer() throws Exception {
        // The bound above must be able to fail: reading the same 8 MiB of {}, into a tree, as the
        // verifiers once did, allocates several times the bound.
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(CAP);
        underCap("[", "{},", "{}]").writeTo(bytes);
        byte[] answer = bytes.toByteArray();
        long allocated;
        try (HeapPeak heap = HeapPeak.start()) {
            com.fasterxml.jackson.databind.JsonNode tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(answer);
            allocated = heap.allocated();
            assertThat(tree.size()).isGreaterThan(2_000_000);
        }
        System.out.printf("bytes allocated reading 8 MiB of [{},{},...] into a tree: %s%n", HeapPeak.mib(allocated));
        assertThat(allocated).isGreaterThan(2 * HEAP_BOUND);
    }

    private static byte[] resource(String path) throws IOException {
        try (InputStream in = HostileFrontEndTest.class.getResourceAsStream(path)) {
            return in.readAllBytes();
        }
    }

    private static void reply(HttpExchange ex, byte[] body) throws IOException {
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
