package dev.zdt.operator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.kube.BoundedReviews;
import dev.zdt.operator.testing.KubeApiServerResource;
import dev.zdt.operator.testing.MetricsReader;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * /q/metrics as a stranger, a tenant and a scraper would try it, against a real API server that
 * reviews the tokens (TokenReview) and decides the permission (SubjectAccessReview, RBAC). Every
 * request comes from an address of its own on the loopback network (127.0.0.x), so that one test's
 * refused caller is not barred in another; a flood comes from one address, as one pod's would.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class MetricsAuthTest {

    private static final AtomicInteger ADDRESSES = new AtomicInteger(10);

    @Inject
    KubernetesClient client;

    @TestHTTPResource(value = "/", management = true)
    URL management;

    private ExecutorService pool;

    /** An answer as read off the socket; status 0 when the server closed the connection without one. */
    record Answer(int status, Map<String, String> headers, String body) {
    }

    @BeforeEach
    void threads() {
        pool = Executors.newFixedThreadPool(32);
    }

    @AfterEach
    void stopThreads() {
        pool.shutdownNow();
    }

    /** A loopback address no other test has used: a caller of its own. */
    private static String newCaller() {
        return "127.0.0." + ADDRESSES.incrementAndGet();
    }

    /** One HTTP/1.1 request from {@code from}, with these header lines, read to its end. */
    private Answer request(String from, String method, String path, String... headers) throws IOException {
        try (Socket s = new Socket(InetAddress.getByName(management.getHost()), management.getPort(),
                InetAddress.getByName(from), 0)) {
            s.setSoTimeout(20_000);
            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
            for (String h : headers) {
                head.append(h).append("\r\n");
            }
            OutputStream out = s.getOutputStream();
            try {
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (java.net.SocketException e) {
                // the server answered and closed before the request was all sent (headers past its limit)
            }
            return read(s.getInputStream());
        }
    }

    private Answer get(String from, String path, String... headers) throws IOException {
        return request(from, "GET", path, headers);
    }

    private static Answer read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            in.transferTo(all);
        } catch (java.net.SocketException e) {
            // reset after the answer: what was read stands
        }
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/1.1 ") || end < 0) {
            return new Answer(0, Map.of(), text);
        }
        String[] lines = text.substring(0, end).split("\r\n");
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim());
        }
        String body = text.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("Transfer-Encoding"))) {
            body = unchunk(body);
        }
        return new Answer(Integer.parseInt(lines[0].split(" ")[1]), headers, body);
    }

    private static String unchunk(String body) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < body.length()) {
            int eol = body.indexOf("\r\n", i);
            int size = Integer.parseInt(body.substring(i, eol).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(body, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }

    private static String bearer(String token) {
        return "Authorization: Bearer " + token;
    }

    /** Reviews the API server has answered so far, by resource (tokenreviews, subjectaccessreviews). */
    private double reviewsSoFar(String resource) throws Exception {
        String text = client.raw(new URL(client.getMasterUrl(), "/metrics").toString());
        return text.lines().filter(l -> l.startsWith("apiserver_request_total{") && l.contains("resource=\"" + resource + "\"")
                && l.contains("verb=\"POST\"")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private String tokenFor(String serviceAccount, String... audiences) {
        MetricsReader.tokenOf(client, MetricsReader.NAMESPACE, serviceAccount);
        return client.serviceAccounts().inNamespace(MetricsReader.NAMESPACE).withName(serviceAccount)
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withAudiences(audiences).withExpirationSeconds(3600L)
                        .endSpec().build()).getStatus().getToken();
    }

    @Test
    void healthAnswersWithoutAToken() throws Exception {
        String me = newCaller();
        for (String path : List.of("/q/health", "/q/health/live", "/q/health/ready", "/q/health/started")) {
            assertThat(get(me, path).status()).as(path).isEqualTo(200);
        }
    }

    @Test
    void withoutAWellFormedBearerTokenItIs401AndNothingIsAsked() throws Exception {
        double before = reviewsSoFar("tokenreviews");
        List<String[]> attempts = List.of(new String[0], new String[] { "Authorization: Basic YWRtaW46YWRtaW4=" },
                new String[] { "Authorization: Bearer" }, new String[] { "Authorization: Bearer    " },
                new String[] { "Authorization: Bearer has spaces" }, new String[] { "Authorization: Bearer \"quoted\"" },
                new String[] { "Authorization: Bearer a=b" },
                new String[] { bearer("x".repeat(BoundedReviews.MAX_TOKEN_CHARS + 1)) },
                new String[] { bearer("aaaa"), bearer("bbbb") });
        for (String[] headers : attempts) {
            Answer a = get(newCaller(), "/q/metrics", headers);
            assertThat(a.status()).as("%s", (Object) headers).isEqualTo(401);
            assertThat(a.headers()).containsEntry("WWW-Authenticate", "Bearer realm=\"zdt-operator\"");
            assertThat(a.body()).doesNotContain("# TYPE");
        }
        // An expired JWT says so itself: no review either.
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String expired = b64.encodeToString("{\"alg\":\"RS256\"}".getBytes()) + "."
                + b64.encodeToString(("{\"exp\":" + (System.currentTimeMillis() / 1000 - 60) + "}").getBytes()) + ".c2ln";
        Answer old = get(newCaller(), "/q/metrics", bearer(expired));
        assertThat(old.status()).isEqualTo(401);
        assertThat(old.body()).contains("expired");
        assertThat(reviewsSoFar("tokenreviews")).isEqualTo(before);
    }

    @Test
    void everyPathButHealthIsGuardedHoweverItIsSpelt() throws Exception {
        for (String path : List.of("/q/metrics", "/q/metrics/", "/q/metrics/anything", "/q//metrics", "/q/./metrics",
                "/q/health/../metrics", "/q/%6detrics", "/Q/METRICS", "/q/metrics?x=1", "/q/metrics;x", "/", "/q/info")) {
            Answer a = get(newCaller(), path);
            assertThat(a.status()).as(path).isEqualTo(401);
            assertThat(a.body()).as(path).doesNotContain("# TYPE");
        }
        Answer post = request(newCaller(), "POST", "/q/metrics", bearer(MetricsReader.token(client)), "Content-Length: 0");
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.headers()).containsEntry("Allow", "GET, HEAD");
    }

    @Test
    void tokensTheApiServerDoesNotAcceptAre401() throws Exception {
        String valid = tokenFor("zdt-test-nobody");
        String[] parts = valid.split("\\.");
        String forged = parts[0] + "." + parts[1] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString("not the API server's signature".getBytes());
        // Issued by the API server, but for another audience (what a pod's gate token is).
        String otherAudience = tokenFor("zdt-test-nobody", "zdt.dev/gate");
        for (String token : List.of("made-up-token", "abc.def.ghi", forged, otherAudience)) {
            Answer a = get(newCaller(), "/q/metrics", bearer(token));
            assertThat(a.status()).as(token).isEqualTo(401);
            assertThat(a.body()).as(token).contains("did not accept the token").doesNotContain("# TYPE");
        }
    }

    @Test
    void aUserWithoutThePermissionIs403AndAnAllowedOneReadsTheMetrics() throws Exception {
        double allowedBefore = reviewsSoFar("subjectaccessreviews");
        Answer denied = get(newCaller(), "/q/metrics", bearer(tokenFor("zdt-test-nobody")));
        assertThat(denied.status()).isEqualTo(403);
        assertThat(denied.body()).contains("system:serviceaccount:default:zdt-test-nobody may not get /q/metrics")
                .doesNotContain("# TYPE");
        assertThat(reviewsSoFar("subjectaccessreviews")).isGreaterThan(allowedBefore);

        String scraper = MetricsReader.token(client);
        Answer allowed = get(newCaller(), "/q/metrics", bearer(scraper));
        assertThat(allowed.status()).isEqualTo(200);
        // Prometheus' text format, or OpenMetrics when the scraper does not say which it wants.
        assertThat(allowed.headers().get("Content-Type")).matches("(text/plain|application/openmetrics-text);.*");
        assertThat(allowed.body()).contains("# TYPE zdt_metrics_requests_refused")
                .contains("zdt_metrics_requests_refused_total{reason=\"forbidden\"}");
        // Remembered: the next scrape costs the API server nothing.
        double tokenReviews = reviewsSoFar("tokenreviews");
        for (int i = 0; i < 5; i++) {
            assertThat(get(newCaller(), "/q/metrics", bearer(scraper)).status()).isEqualTo(200);
        }
        assertThat(request(newCaller(), "HEAD", "/q/metrics", bearer(scraper)).status()).isEqualTo(200);
        assertThat(reviewsSoFar("tokenreviews")).isEqualTo(tokenReviews);
    }

    /** {@code n} GETs of /q/metrics from one caller at once, each with the token {@code tokens} gives for its number. */
    private Map<Integer, Integer> flood(String from, int n, java.util.function.IntFunction<String> tokens) throws Exception {
        List<Future<Answer>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String token = tokens.apply(i);
            answers.add(pool.submit(() -> get(from, "/q/metrics", bearer(token))));
        }
        // Health goes on answering, without credentials, while the flood is on.
        String prober = newCaller();
        for (int i = 0; i < 5; i++) {
            assertThat(get(prober, "/q/health/live").status()).isEqualTo(200);
        }
        Map<Integer, Integer> byStatus = new TreeMap<>();
        for (Future<Answer> a : answers) {
            Answer answer = a.get(60, TimeUnit.SECONDS);
            byStatus.merge(answer.status(), 1, Integer::sum);
            if (answer.status() == 429) {
                assertThat(answer.headers()).containsEntry("Retry-After", "1");
            }
        }
        return byStatus;
    }

    @Test
    void aFloodOfMadeUpTokensFromOneCallerIsMostly429AndCostsAFewReviews() throws Exception {
        String scraper = MetricsReader.token(client);
        assertThat(get(newCaller(), "/q/metrics", bearer(scraper)).status()).isEqualTo(200);
        double before = reviewsSoFar("tokenreviews");
        // Well-formed and different from each other: each passes the cheap checks and would cost a review.
        Map<Integer, Integer> answers = flood(newCaller(), 400, i -> "made-up-token-" + i + "-" + "q".repeat(40));
        double reviews = reviewsSoFar("tokenreviews") - before;
        System.out.printf("flood of 400 made-up tokens from one caller: %s, %.0f TokenReviews%n", answers, reviews);
        assertThat(answers.keySet()).containsOnly(401, 429);
        assertThat(answers.get(429)).as("429s of %s", answers).isGreaterThan(350);
        assertThat(reviews).as("TokenReviews for 400 tokens (%s)", answers).isLessThanOrEqualTo(20);
        // The operator still serves its scraper (remembered) and health.
        assertThat(get(newCaller(), "/q/metrics", bearer(scraper)).status()).isEqualTo(200);
        assertThat(get(newCaller(), "/q/health/ready").status()).isEqualTo(200);
    }

    @Test
    void aFloodOfRealButForbiddenTokensFromOneCallerIsMostly429AndCostsAFewReviews() throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            tokens.add(tokenFor("zdt-test-nobody")); // each TokenRequest gives another token
        }
        double tokenReviews = reviewsSoFar("tokenreviews");
        double accessReviews = reviewsSoFar("subjectaccessreviews");
        Map<Integer, Integer> answers = flood(newCaller(), tokens.size(), tokens::get);
        System.out.printf("flood of 60 forbidden tokens from one caller: %s, %.0f TokenReviews, %.0f SubjectAccessReviews%n",
                answers, reviewsSoFar("tokenreviews") - tokenReviews, reviewsSoFar("subjectaccessreviews") - accessReviews);
        assertThat(answers.keySet()).containsOnly(403, 429);
        assertThat(answers.get(429)).as("429s of %s", answers).isGreaterThan(40);
        assertThat(reviewsSoFar("tokenreviews") - tokenReviews).as("%s", answers).isLessThanOrEqualTo(10);
        assertThat(reviewsSoFar("subjectaccessreviews") - accessReviews).as("%s", answers).isLessThanOrEqualTo(10);
        assertThat(get(newCaller(), "/q/health/ready").status()).isEqualTo(200);
        assertThat(get(newCaller(), "/q/metrics", bearer(MetricsReader.token(client))).status()).isEqualTo(200);
    }

    @Test
    void aHugeAuthorizationHeaderIsRefusedByTheServerBeforeAnyCheck() throws Exception {
        double before = reviewsSoFar("tokenreviews");
        // Over the management port's 20 KiB of headers: 431 from the HTTP server (or the connection closed).
        Answer huge = get(newCaller(), "/q/metrics", bearer("a".repeat(64 * 1024)));
        assertThat(huge.status()).isIn(0, 431);
        Answer endless = get(newCaller(), "/q/metrics", bearer("a".repeat(1024 * 1024)));
        assertThat(endless.status()).isIn(0, 431);
        // Within the server's limit but longer than a token may be: 401 from the check, no review.
        Answer long17k = get(newCaller(), "/q/metrics", bearer("a".repeat(BoundedReviews.MAX_TOKEN_CHARS + 1024)));
        assertThat(long17k.status()).isEqualTo(401);
        assertThat(reviewsSoFar("tokenreviews")).isEqualTo(before);
        assertThat(get(newCaller(), "/q/health/live").status()).isEqualTo(200);
        assertThat(get(newCaller(), "/q/metrics", bearer(MetricsReader.token(client))).status()).isEqualTo(200);
    }

    @Test
    void anEndlessBodyIsNotKeptInMemoryAndIsAnsweredWithoutTheMetrics() throws Exception {
        long sent = 0;
        Answer answer;
        java.lang.management.MemoryMXBean memory = java.lang.management.ManagementFactory.getMemoryMXBean();
        System.gc();
        long before = memory.getHeapMemoryUsage().getUsed();
        try (Socket s = new Socket(InetAddress.getByName(management.getHost()), management.getPort(),
                InetAddress.getByName(newCaller()), 0)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /q/metrics HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            // 64 MiB in 64 KiB chunks, never the last chunk: the body has no end.
            byte[] chunk = ("10000\r\n" + "z".repeat(0x10000) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            Future<Answer> reply = pool.submit(() -> read(s.getInputStream()));
            try {
                for (int i = 0; i < 1024 && !reply.isDone(); i++) {
                    out.write(chunk);
                    sent += chunk.length;
                }
                s.shutdownOutput();
            } catch (IOException closed) {
                // the server closed the connection under the body: what a refusal may do
            }
            answer = reply.get(30, TimeUnit.SECONDS);
        }
        System.gc();
        long kept = memory.getHeapMemoryUsage().getUsed() - before;
        System.out.printf("endless body: answered %d after %d MiB sent; heap after a GC %+d MiB%n", answer.status(),
                sent >> 20, kept >> 20);
        // Past 1 KiB of body the HTTP server answers 413 (quarkus.management.limits.max-body-size) and what
        // follows is read and dropped, not kept.
        assertThat(answer.status()).isIn(401, 405, 413);
        assertThat(answer.body()).doesNotContain("# TYPE");
        assertThat(kept).as("heap kept after the body").isLessThan(16L << 20);
        assertThat(get(newCaller(), "/q/health/live").status()).isEqualTo(200);
        assertThat(get(newCaller(), "/q/metrics", bearer(MetricsReader.token(client))).status()).isEqualTo(200);
    }

    /** Limits as the defaults have them. */
    static MetricsConfig config() {
        return () -> new MetricsConfig.Auth() {
            public boolean enabled() {
                return true;
            }

            public int maxReviews() {
                return 2;
            }

            public int maxReviewsPerCaller() {
                return 2;
            }

            public int maxPendingReviews() {
                return 16;
            }

            public int reviewCacheSize() {
                return 100;
            }
        };
    }

    @Test
    void whenTheApiServerCannotBeAskedItIs503AndNotRemembered() throws Exception {
        String scraper = MetricsReader.token(client);
        // An operator whose ServiceAccount may not create TokenReviews (the chart's ClusterRole missing).
        var admin = client.getConfiguration();
        var config = new io.fabric8.kubernetes.client.ConfigBuilder(io.fabric8.kubernetes.client.Config.empty())
                .withMasterUrl(admin.getMasterUrl()).withCaCertFile(admin.getCaCertFile()).withCaCertData(admin.getCaCertData())
                .withOauthToken(tokenFor("zdt-test-nobody")).withRequestRetryBackoffLimit(0).build();
        try (KubernetesClient nobody = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config).build()) {
            MetricsAuth auth = new MetricsAuth(nobody, config(), new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            MetricsAuth.Verdict v = auth.review(scraper, "10.0.0.1").toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertThat(v.status()).isEqualTo(503);
            assertThat(v.text()).contains("may not create TokenReviews");
            auth.stop();
        }
        // No API server at all (a port nothing listens on).
        var gone = new io.fabric8.kubernetes.client.ConfigBuilder(client.getConfiguration()).withMasterUrl("https://127.0.0.1:1")
                .withRequestRetryBackoffLimit(0).withConnectionTimeout(2000).build();
        try (KubernetesClient unreachable = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(gone).build()) {
            MetricsAuth auth = new MetricsAuth(unreachable, config(), new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            for (int i = 0; i < 2; i++) {
                MetricsAuth.Verdict v = auth.review(scraper, "10.0.0.2").toCompletableFuture().get(20, TimeUnit.SECONDS);
                assertThat(v.status()).as("attempt %d: a failure is asked again, not remembered as a refusal", i).isEqualTo(503);
                assertThat(v.text()).contains("did not answer the TokenReview");
            }
            auth.stop();
        }
    }

    @Test
    void refusalsAreCountedByReason() throws Exception {
        String scraper = MetricsReader.token(client);
        double unauthenticated = counter(scraper, "unauthenticated");
        get(newCaller(), "/q/metrics");
        get(newCaller(), "/q/metrics", bearer("made-up-token-for-the-counter"));
        assertThat(counter(scraper, "unauthenticated")).isEqualTo(unauthenticated + 2);
    }

    private double counter(String scraper, String reason) throws IOException {
        String series = "zdt_metrics_requests_refused_total{reason=\"" + reason + "\"} ";
        return get(newCaller(), "/q/metrics", bearer(scraper)).body().lines().filter(l -> l.startsWith(series))
                .mapToDouble(l -> Double.parseDouble(l.substring(series.length()))).findFirst().orElseThrow();
    }
}
