package dev.zdt.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.zdt.operator.testing.HeapPeak;
import dev.zdt.operator.testing.KubeApiServerResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The DrainPolicy webhook's port is reachable by whatever reaches its Service, not only by the API
 * server. What a caller that is not the API server can send it, and what that costs the operator:
 * a body without end, many slow requests, a body that would make a huge or deep tree. Each is
 * refused at once, the heap grows by a bounded amount, and a real review is answered afterwards.
 * Raw TLS sockets, so the test says exactly what goes on the wire.
 */
@QuarkusTest
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
class WebhookAbuseTest {

    private static final String REVIEW = """
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"CREATE",
            "kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"nowhere",
            "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}}}
            """;
    /** A text that must never come back in a reply. */
    private static final String MARKER = "root:x:0:0-secret-marker";

    @Inject
    PodWebhook webhook;

    @Inject
    WebhookConfig config;

    private int port;
    private SSLContext tls;

    @BeforeEach
    void webhookPort() throws Exception {
        port = webhook.listening().get(30, TimeUnit.SECONDS);
        tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] { new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        } }, null);
    }

    private SSLSocket connect() throws IOException {
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    private record Reply(int status, String body) {
    }

    /** One POST with a Content-Length, the connection closed after the reply. */
    private Reply post(byte[] body) throws IOException {
        try (SSLSocket s = connect()) {
            OutputStream out = s.getOutputStream();
            out.write(("POST " + PodWebhook.PATH + " HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
                    + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            return read(s.getInputStream());
        }
    }

    /** Reads a reply until the server closes the connection. */
    private static Reply read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        try {
            while ((n = in.read(buf)) >= 0) {
                all.write(buf, 0, n);
            }
        } catch (IOException reset) {
            if (all.size() == 0) {
                throw reset;
            }
        }
        String text = all.toString(StandardCharsets.UTF_8);
        int status = Integer.parseInt(text.substring(9, 12));
        int split = text.indexOf("\r\n\r\n");
        return new Reply(status, split < 0 ? "" : text.substring(split + 4));
    }

    /** Reads only the status line, as soon as it comes. */
    private static int status(InputStream in) throws IOException {
        byte[] line = new byte[12];
        int got = 0;
        while (got < 12) {
            int n = in.read(line, got, 12 - got);
            if (n < 0) {
                throw new IOException("closed before a status line");
            }
            got += n;
        }
        return Integer.parseInt(new String(line, 9, 3, StandardCharsets.US_ASCII));
    }

    private void aRealReviewIsAnswered() throws IOException {
        Reply r = post(REVIEW.getBytes(StandardCharsets.UTF_8));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"uid\":\"u-1\"").contains("\"allowed\":true");
    }

    /**
     * Heap growth allowed while a chunked body streams far past the cap: the 3 MiB cap kept until
     * the 413, the buffer's growth to it (its smaller copies, garbage the sampled heap still counts),
     * and both ends' TLS records for what was sent before the close; measured 20 MiB alone and up to
     * 36 MiB in a full verify, where the sampled heap also counts the garbage of the other tests' apps
     * still reconciling (kube-api-test has no namespace controller, so none is ever deleted).
     * Buffering the 64 MiB body, as before, is 64 MiB and more.
     */
    private static final long STREAM_BOUND = 48L << 20;

    @Test
    void aChunkedBodyWithoutEndIsRefusedAt413AsSoonAsItPassesTheCap() throws Exception {
        long started;
        int status;
        long growth;
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try (HeapPeak heap = HeapPeak.start(); SSLSocket s = connect()) {
            started = System.nanoTime();
            OutputStream out = s.getOutputStream();
            // 64 MiB made as it is sent: the test holds one 64 KiB chunk.
            Future<Long> sent = writer.submit(() -> {
                byte[] chunk = new byte[64 * 1024];
                java.util.Arrays.fill(chunk, (byte) ' ');
                long total = 0;
                try {
                    out.write(("POST " + PodWebhook.PATH + " HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    while (total < 64L << 20) {
                        out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(chunk);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                        total += chunk.length;
                    }
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException closed) {
                    // the webhook closed the connection: what the cap is for
                }
                return total;
            });
            status = status(s.getInputStream());
            long elapsed = System.nanoTime() - started;
            long total = sent.get(30, TimeUnit.SECONDS);
            growth = heap.growth();
            System.out.printf("chunked body: %d after %d ms, %s sent before the close, heap growth %s (bound %s)%n",
                    status, TimeUnit.NANOSECONDS.toMillis(elapsed), HeapPeak.mib(total), HeapPeak.mib(growth),
                    HeapPeak.mib(STREAM_BOUND));
            assertThat(total).as("the connection was closed long before the 64 MiB were sent").isLessThan(64L << 20);
            assertThat(elapsed).as("413 promptly").isLessThan(TimeUnit.SECONDS.toNanos(5));
        } finally {
            writer.shutdownNow();
        }
        assertThat(status).isEqualTo(413);
        assertThat(growth).isLessThan(STREAM_BOUND);
        aRealReviewIsAnswered();
    }

    /** A POST whose headers promise a body, with a few bytes of it: it holds a slot until closed. */
    private SSLSocket stalled() throws IOException {
        SSLSocket s = connect();
        OutputStream out = s.getOutputStream();
        out.write(("POST " + PodWebhook.PATH + " HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100000\r\n\r\n{\"apiVe").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return s;
    }

    /**
     * Heap growth allowed for 24 slow requests: each holds its headers and a few bytes; what grows
     * is the garbage of 24 TLS handshakes on both ends (the test's client runs in this JVM); measured
     * 16 MiB alone and up to 40 MiB in a full verify (the other tests' apps' garbage, as above). A
     * request that buffered a 3 MiB body from its first byte would hold 72 MiB at 24.
     */
    private static final long SLOW_BOUND = 48L << 20;

    @Test
    void slowRequestsBeyondTheBoundAreRefusedAtOnceAndRealReviewsAnsweredOnceTheyClose() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> webhook.reviewsInFlight() == 0);
        int bound = config.maxConcurrentReviews();
        List<SSLSocket> holding = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        long growth;
        try (HeapPeak heap = HeapPeak.start()) {
            // Several clients open the slow requests at once, until every slot is taken.
            List<Future<SSLSocket>> opened = new ArrayList<>();
            for (int i = 0; i < bound; i++) {
                opened.add(clients.submit(this::stalled));
            }
            for (Future<SSLSocket> f : opened) {
                holding.add(f.get(30, TimeUnit.SECONDS));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> webhook.reviewsInFlight() == bound);

            // The extra ones, from several clients: refused at once, not queued.
            List<Future<long[]>> extra = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                extra.add(clients.submit((Callable<long[]>) () -> {
                    try (SSLSocket s = stalled()) {
                        long t0 = System.nanoTime();
                        s.setSoTimeout(5000);
                        int status = status(s.getInputStream());
                        return new long[] { status, System.nanoTime() - t0 };
                    }
                }));
            }
            for (Future<long[]> f : extra) {
                long[] r = f.get(30, TimeUnit.SECONDS);
                assertThat(r[0]).as("status of a request past the bound").isEqualTo(429);
                assertThat(r[1]).as("refused at once").isLessThan(TimeUnit.SECONDS.toNanos(2));
            }
            assertThat(webhook.reviewsInFlight()).isEqualTo(bound);
            growth = heap.growth();
        } finally {
            for (SSLSocket s : holding) {
                s.close();
            }
            clients.shutdownNow();
        }
        System.out.printf("%d slow requests and 8 refused: heap growth %s (bound %s)%n", bound, HeapPeak.mib(growth),
                HeapPeak.mib(SLOW_BOUND));
        assertThat(growth).isLessThan(SLOW_BOUND);
        await().atMost(Duration.ofSeconds(10)).until(() -> webhook.reviewsInFlight() == 0);
        aRealReviewIsAnswered();
    }

    @Test
    void aDeeplyNestedBodyIsAnswered400WithoutAStackOverflow() throws Exception {
        int depth = 200_000;
        String body = "{\"request\":{\"uid\":\"" + MARKER + "\",\"object\":" + "[".repeat(depth) + "]".repeat(depth) + "}}";
        Reply r = post(body.getBytes(StandardCharsets.US_ASCII));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("not an AdmissionReview: nested deeper than " + PodWebhook.MAX_DEPTH + " levels\n")
                .doesNotContain(MARKER);
        aRealReviewIsAnswered();
    }

    /**
     * Heap growth allowed for a body of a million empty objects just under the cap: the 3 MiB body
     * kept and its buffer's smaller copies on the way there (~4 MiB of garbage), both ends' TLS
     * records for it, and a tree of at most 200,000 tokens (100,000 ObjectNodes, ~8 MiB) before the
     * parse stops; measured 28 MiB alone and up to 32 MiB in a full verify. A tree of the whole body,
     * as before, is a million ObjectNodes of ~80 bytes with their maps: ~85 MiB on top of the same
     * buffers.
     */
    private static final long TOKENS_BOUND = 56L << 20;

    @Test
    void aMillionEmptyObjectsAreRefusedBeforeTheyBecomeATree() throws Exception {
        StringBuilder b = new StringBuilder(PodWebhook.MAX_BODY);
        b.append("{\"request\":{\"uid\":\"").append(MARKER).append("\",\"object\":[");
        while (b.length() < PodWebhook.MAX_BODY - 16) {
            b.append("{},");
        }
        b.append("{}]}}");
        byte[] body = b.toString().getBytes(StandardCharsets.US_ASCII);
        b = null;
        Reply r;
        long growth;
        try (HeapPeak heap = HeapPeak.start()) {
            r = post(body);
            growth = heap.growth();
        }
        System.out.printf("%s of {}: %d, heap growth %s (bound %s)%n", HeapPeak.mib(body.length), r.status(),
                HeapPeak.mib(growth), HeapPeak.mib(TOKENS_BOUND));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("not an AdmissionReview: more than " + PodWebhook.MAX_TOKENS + " JSON tokens\n")
                .doesNotContain(MARKER);
        assertThat(growth).isLessThan(TOKENS_BOUND);
        aRealReviewIsAnswered();
    }

    @Test
    void malformedJsonIsAnswered400InOurWordsOnly() throws Exception {
        Reply r = post(("{\"request\":{\"uid\":" + MARKER + "}}").getBytes(StandardCharsets.US_ASCII));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).startsWith("not an AdmissionReview: not JSON (line 1, column").doesNotContain(MARKER)
                .doesNotContain("root");
    }

    @Test
    void aDeclaredLengthOverTheCapIsRefusedBeforeAnyOfTheBody() throws Exception {
        try (SSLSocket s = connect()) {
            s.getOutputStream().write(("POST " + PodWebhook.PATH + " HTTP/1.1\r\nHost: webhook\r\n"
                    + "Content-Length: " + (PodWebhook.MAX_BODY + 1) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(status(s.getInputStream())).isEqualTo(413);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no answer before the body", e);
        }
        aRealReviewIsAnswered();
    }
}
