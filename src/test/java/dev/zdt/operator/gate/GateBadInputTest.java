package dev.zdt.operator.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.zdt.operator.gate.GateFixture.Answer;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.GateConfig;
import io.fabric8.kubernetes.api.model.Pod;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * What the gate answers to calls that are not a kubelet's preStop for a terminating pod of ours:
 * strangers, malformed paths, oversized requests, other methods, floods. Each is answered at once
 * with a status and a short text, never held, never a 5xx, and never releases a pod early.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class GateBadInputTest extends GateTestBase {

    /** An answer that is not a hold arrives within this: below the tests' claim-wait of 1 s, the shortest wait. */
    static final Duration AT_ONCE = Duration.ofMillis(900);

    @Inject
    GateConfig config;

    /** App "shop" with two ready pods created with the given hold; shop-a terminating. */
    private List<Pod> shopWithTerminatingA(int holdSeconds) {
        List<Pod> shop = readyShop(holdSeconds, "shop-a", "shop-b");
        f.terminate(shop.get(0));
        // The gate's cache shows shop-a as a pod of shop before the test relies on it.
        await().atMost(Duration.ofSeconds(10)).until(() -> f.callPod("shop", "nobody").get().status() == 404);
        return shop;
    }

    private static Answer atOnce(CompletableFuture<Answer> call) throws Exception {
        long sent = System.nanoTime();
        Answer answer = call.get(5, TimeUnit.SECONDS);
        assertThat(answer.receivedNanos() - sent).as("answered at once, not held").isLessThan(AT_ONCE.toNanos());
        return answer;
    }

    @Test
    void anUnknownNamespaceIsAnswered404AtOnce() throws Exception {
        Answer answer = atOnce(f.call("/gate/v1/no-such-namespace/shop"));
        assertThat(answer.status()).isEqualTo(404);
        assertThat(answer.body()).isEqualTo("no ZeroDowntimeApp no-such-namespace/shop: the drain gate holds only pods "
                + "of ZeroDowntimeApps\n");
        assertThat(gate.held()).isZero();
    }

    @Test
    void anUnknownPodOfAKnownAppIsAnswered404AtOnce() throws Exception {
        shopWithTerminatingA(8);
        Answer answer = atOnce(f.callPod("shop", "shop-z"));
        assertThat(answer.status()).isEqualTo(404);
        assertThat(answer.body()).contains("pod " + f.ns + "/shop-z is not a pod of ZeroDowntimeApp " + f.ns + "/shop");
        assertThat(gate.held()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            namespace with capitals and '_'     | /gate/v1/Shop_NS/shop            | namespace 'Shop_NS' (7 characters) is not a valid DNS-1123 label
            app that is not a DNS-1123 label    | /gate/v1/default/-shop           | app '-shop' (5 characters) is not a valid ZeroDowntimeApp name
            pod that is not a DNS-1123 name     | /gate/v1/default/shop/shop..a    | pod 'shop..a' (7 characters) is not a valid pod name
            URL-encoded slash in a name         | /gate/v1/default%2Fkube-system/shop | namespace 'default/kube-system' (19 characters) is not a valid DNS-1123 label
            URL-encoded control character       | /gate/v1/default/shop%0d%0aX-Evil:%201 | app 'shop??X-Evil: 1' (15 characters) is not a valid ZeroDowntimeApp name
            """)
    void aNameKubernetesCannotHaveIsAnswered400(String why, String path, String message) throws Exception {
        Raw answer = raw("GET " + path + " HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
        assertThat(answer.status).isEqualTo(400);
        assertThat(answer.body).startsWith(message).endsWith("; not holding\n");
        assertThat(answer.head).doesNotContainIgnoringCase("X-Evil");
        assertThat(gate.held()).isZero();
    }

    @Test
    void namesLongerThanKubernetesAllowsAreAnswered400() throws Exception {
        String namespace64 = "n".repeat(64);
        Answer ns = atOnce(f.call("/gate/v1/" + namespace64 + "/shop"));
        assertThat(ns.status()).isEqualTo(400);
        assertThat(ns.body()).startsWith("namespace '" + "n".repeat(64) + "' (64 characters) is not a valid DNS-1123 label");

        Answer app = atOnce(f.call("/gate/v1/default/" + "a".repeat(64)));
        assertThat(app.status()).isEqualTo(400);
        assertThat(app.body()).contains("(64 characters) is not a valid ZeroDowntimeApp name");

        // 63 characters is a valid name: looked up, and not found.
        assertThat(atOnce(f.call("/gate/v1/default/" + "a".repeat(63))).status()).isEqualTo(404);

        Answer pod = atOnce(f.call("/gate/v1/default/shop/" + "p".repeat(254)));
        assertThat(pod.status()).isEqualTo(400);
        assertThat(pod.body()).contains("(254 characters) is not a valid pod name").contains("...' (254");
        assertThat(gate.held()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            an extra segment    | /gate/v1/default/shop/shop-a/extra
            an empty namespace  | /gate/v1//shop
            no names at all     | /gate/v1/
            a '..' segment      | /gate/v1/default/../shop
            """)
    void aPathThatIsNotAGatePathIsAnswered404WithTheUsage(String why, String path) throws Exception {
        Raw answer = raw("GET " + path + " HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
        assertThat(answer.status).as(answer.head + answer.body).isEqualTo(404);
        assertThat(answer.body).contains("the gate answers GET /gate/v1/{namespace}/{app}");
        assertThat(gate.held()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({ "/gate/v1/%2e%2e/shop", "/gate/v1/default/../../shop" })
    void dotSegmentsAreResolvedByTheHttpServerAndLeaveTheGate(String path) throws Exception {
        // RFC 3986 dot-segment removal happens before routing: these become /gate/shop, which is no gate path.
        Raw answer = raw("GET " + path + " HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
        assertThat(answer.status).isEqualTo(404);
        assertThat(answer.body).contains("Resource not found");
        assertThat(gate.held()).isZero();
    }

    @Test
    void aRequestLineLongerThanTheLimitIsAnswered414ByTheHttpServer() throws Exception {
        Raw answer = raw("GET /gate/v1/default/" + "a".repeat(5000) + " HTTP/1.1\r\nHost: gate\r\n\r\n");
        assertThat(answer.status).isEqualTo(414);
        assertThat(gate.held()).isZero();
    }

    @Test
    void headersLargerThanTheLimitAreAnswered431ByTheHttpServer() throws Exception {
        Raw answer = raw("GET /gate/v1/default/shop HTTP/1.1\r\nHost: gate\r\nX-Padding: " + "x".repeat(9000)
                + "\r\n\r\n");
        assertThat(answer.status).isEqualTo(431);
        assertThat(gate.held()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({ "POST", "PUT", "DELETE", "PATCH", "OPTIONS" })
    void methodsOtherThanGetAreAnswered405(String method) throws Exception {
        shopWithTerminatingA(8);
        Raw answer = raw(method + " /gate/v1/" + f.ns + "/shop/shop-a HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(answer.status).isEqualTo(405);
        assertThat(answer.head).containsIgnoringCase("\r\nAllow: GET, HEAD");
        assertThat(answer.body).contains("method " + method + " is not served by the drain gate");
        assertThat(gate.held()).isZero();
    }

    @Test
    void queryParametersAndHeadersDoNotChangeAHold() throws Exception {
        shopWithTerminatingA(3);
        long sent = System.nanoTime();
        CompletableFuture<Answer> call = f.call("/gate/v1/" + f.ns + "/shop/shop-a?timeout=0&hold=0&release=true",
                Map.of("X-Forwarded-For", "10.0.0.1", "X-Zdt-Hold", "0", "Timeout", "0"));

        Answer answer = call.get(10, TimeUnit.SECONDS);
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Timeout").contains("hold bound 3.0s reached");
        assertThat(answer.receivedNanos() - sent).as("the full hold of 3 s")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(3)).isLessThan(TimeUnit.MILLISECONDS.toNanos(4500));
    }

    @Test
    void aDuplicateCallNeitherShortensNorExtendsTheFirstHold() throws Exception {
        shopWithTerminatingA(3);
        long first = System.nanoTime();
        CompletableFuture<Answer> kubelet = f.callPod("shop", "shop-a");
        await().atMost(Duration.ofSeconds(5)).until(() -> gate.held() == 1);
        // The second call arrives 1.5 s after the first: that spacing is what the test is about
        // (a hold counted from the second call would end 1.5 s later, a shared one would end early).
        await().atMost(Duration.ofSeconds(3)).until(() -> System.nanoTime() - first >= TimeUnit.MILLISECONDS.toNanos(1500));
        long second = System.nanoTime();
        CompletableFuture<Answer> duplicate = f.callPod("shop", "shop-a");
        CompletableFuture<Answer> unnamed = f.callApp("shop");

        Answer k = kubelet.get(10, TimeUnit.SECONDS);
        long kubeletAnswered = k.receivedNanos();
        assertThat(k.body()).startsWith("Timeout");
        assertThat(kubeletAnswered - first).as("the first call's hold: 3 s from its own arrival, not extended")
                .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(3)).isLessThan(TimeUnit.MILLISECONDS.toNanos(4200));
        assertThat(duplicate).as("the duplicate is not released with the first").isNotDone();
        for (CompletableFuture<Answer> later : List.of(duplicate, unnamed)) {
            Answer a = later.get(10, TimeUnit.SECONDS);
            assertThat(a.status()).isEqualTo(200);
            assertThat(a.receivedNanos() - second).as("a later call holds its own full bound")
                    .isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(3));
        }
    }

    /**
     * 1,500 calls for one terminating pod that is still a ready endpoint: the gate holds at most
     * zdt.gate.max-holds-per-app of them and answers the rest 429 with Retry-After, with a bounded
     * number of threads and heap, and no call is released while the pod is in rotation.
     */
    @Test
    void aFloodOfCallsIsBoundedAndReleasesNothingEarly() throws Exception {
        int limit = config.maxHoldsPerApp();
        int calls = limit + 500;
        List<Pod> shop = shopWithTerminatingA(120);
        long heapBefore = settledHeap();
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

        AtomicInteger maxHeld = new AtomicInteger();
        AtomicInteger maxThreads = new AtomicInteger();
        AtomicInteger earlyReleases = new AtomicInteger();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(() -> {
            maxHeld.accumulateAndGet(gate.held(), Math::max);
            maxThreads.accumulateAndGet(ManagementFactory.getThreadMXBean().getThreadCount(), Math::max);
        }, 0, 10, TimeUnit.MILLISECONDS);
        List<CompletableFuture<Answer>> flood = new ArrayList<>(calls);
        try {
            for (int i = 0; i < calls; i++) {
                flood.add(f.callPod("shop", "shop-a").whenComplete((a, e) -> {
                    if (a != null && a.status() == 200) {
                        earlyReleases.incrementAndGet();
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(90)).until(() -> gate.held() == limit
                    && flood.stream().filter(CompletableFuture::isDone).count() == calls - limit);
            long heapHeld = settledHeap();

            List<Answer> refused = flood.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join).toList();
            assertThat(refused).hasSize(calls - limit).allSatisfy(a -> {
                assertThat(a.status()).isEqualTo(429);
                assertThat(a.retryAfter()).isEqualTo("1");
                assertThat(a.body()).contains("zdt.gate.max-holds-per-app=" + limit);
            });
            // Held calls stay held while shop-a is a ready endpoint.
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> earlyReleases.get() == 0 && gate.held() == limit);
            assertThat(maxHeld.get()).as("held calls never exceed zdt.gate.max-holds-per-app").isEqualTo(limit);
            assertThat(maxThreads.get() - threadsBefore).as("live threads added while " + calls + " calls were made "
                    + "(the test's own HTTP client has " + GateFixture.CLIENT_THREADS + ")").isLessThan(40);
            assertThat(heapHeld - heapBefore).as("heap added while " + limit + " calls are held, client included")
                    .isLessThan(100L * 1024 * 1024);

            // Once the pod leaves the EndpointSlices, every held call is released after propagation, verified.
            long removed = System.nanoTime();
            f.slice("shop", GateFixture.terminating(shop.get(0)), GateFixture.ready(shop.get(1)));
            CompletableFuture.allOf(flood.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            List<Answer> released = flood.stream().map(CompletableFuture::join).filter(a -> a.status() == 200).toList();
            assertThat(released).hasSize(limit).allSatisfy(a -> {
                assertThat(a.body()).startsWith("Verified");
                assertThat(a.receivedNanos() - removed).isGreaterThanOrEqualTo(TimeUnit.SECONDS.toNanos(1));
            });
        } finally {
            sampler.shutdownNow();
        }
    }

    private static long settledHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** An answer read off a raw socket: status, head (status line and headers) and body. */
    record Raw(int status, String head, String body) {
    }

    /** Sends bytes as they are, for requests an HTTP client library would refuse or normalise. */
    private Raw raw(String request) throws Exception {
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream read = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            long started = System.nanoTime();
            String text = "";
            while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(5)) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (java.net.SocketException e) {
                    break;
                }
                if (n < 0) {
                    break;
                }
                read.write(buffer, 0, n);
                text = read.toString(StandardCharsets.ISO_8859_1);
                if (complete(text)) {
                    break;
                }
            }
            assertThat(System.nanoTime() - started).as("answered at once").isLessThan(AT_ONCE.toNanos());
            int split = text.indexOf("\r\n\r\n");
            assertThat(split).as("a complete HTTP answer: " + text).isPositive();
            String head = text.substring(0, split);
            return new Raw(Integer.parseInt(head.split(" ")[1]), head, text.substring(split + 4));
        }
    }

    private static boolean complete(String text) {
        int split = text.indexOf("\r\n\r\n");
        if (split < 0) {
            return false;
        }
        var length = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(text.substring(0, split));
        return length.find() && text.length() - split - 4 >= Integer.parseInt(length.group(1));
    }
}
