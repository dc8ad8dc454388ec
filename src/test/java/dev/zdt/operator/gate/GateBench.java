package dev.zdt.operator.gate;

import dev.zdt.operator.Constants;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.zdt.operator.testing.KubeApiServerResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Issue 5, item 7: N (default 1,000) concurrent held gate calls against a real API server, in two
 * scenarios. Burst: N app-scoped calls (gate mode) released together by one EndpointSlice update.
 * Staggered: N pod-scoped calls, one per pod, released one pod at a time while the rest stay held,
 * as a rollout's pods leave the endpoints. For each: heap and live threads of the gate's JVM while
 * held, the time from just before the EndpointSlice update is sent to the gate's decision and to
 * each answer's arrival at the client.
 *
 * <p>The calls come from {@link HeldCallsClient}, a separate JVM with one selector thread, so the
 * client's threads, heap and CPU are not counted as the gate's. Run with
 * {@code e2e/gate-bench/run.sh}; writes {@code e2e/results/gate-bench.json}. Not part of the default
 * build.
 */
@QuarkusTest
@TestProfile(GateBench.Profile.class)
@QuarkusTestResource(value = KubeApiServerResource.class, restrictToAnnotatedClass = false)
@EnabledIfSystemProperty(named = "zdt.bench", matches = "true")
class GateBench {

    /** The pods terminate in a burst of N deletes: allow the informer more lag than in the tests. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("zdt.gate.claim-wait", "20s");
        }
    }

    /** The EndpointSlice controller's default --max-endpoints-per-slice. */
    static final int PER_SLICE = 100;
    /** Long enough that no call of either scenario is released by its bound. */
    static final int HOLD_SECONDS = 900;
    static final String SPEC = """
            provider: generic
            propagationSeconds: 0
            verify: endpoints
            """;

    @Inject
    KubernetesClient client;

    @Inject
    DrainGate gate;

    @TestHTTPResource("/")
    URL base;

    @Test
    void thousandConcurrentHeldCalls() throws Exception {
        int n = Integer.getInteger("zdt.bench.calls", 1000);
        await().atMost(Duration.ofSeconds(30)).until(gate::synced);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("date", Instant.now().toString());
        result.put("command", "e2e/gate-bench/run.sh");
        result.put("calls", n);
        result.put("machine", Runtime.getRuntime().availableProcessors() + " CPUs, Java " + Runtime.version()
                + ", max heap " + mib(Runtime.getRuntime().maxMemory()) + " MiB");
        result.put("loadAverageAtStart", loadAverage());
        result.put("targets", Map.of("extraHeapMiB", "< 100", "releaseArrivalP99Ms", "< 200"));
        result.put("client", "HeldCallsClient: a separate JVM (-XX:TieredStopAtLevel=1 -XX:+UseSerialGC), one NIO "
                + "selector thread, one connection per call, raw HTTP/1.1 as a kubelet sends it; its threads, heap "
                + "and CPU are not the gate's, though it shares the same 2 CPUs");
        result.put("latencyFrom", "wall clock just before the EndpointSlice update (an HTTP PUT, as the EndpointSlice "
                + "controller writes) is sent, to: decided = the gate's X-Zdt-Decided-At; written (bursts) = the gate's "
                + "HTTP server has written the answer's last byte to the socket; arrival = the last byte of the answer "
                + "read by the client (wall clock of the same machine)");

        // The first burst meets code this JVM has not run yet (interpreted, then compiled while it
        // runs); the same burst again, after the staggered scenario, shows the gate once warm.
        Map<String, Object> burst = burst(n, "the first burst of this JVM");
        result.put("burst", burst);
        Map<String, Object> staggered = staggered(n);
        result.put("staggered", staggered);
        Map<String, Object> burstAgain = burst(n, "the same burst again, after the staggered scenario");
        result.put("burstAgain", burstAgain);
        result.put("loadAverageAtEnd", loadAverage());

        String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result);
        Path out = Path.of(System.getProperty("zdt.project.dir", "."), "e2e", "results", "gate-bench.json");
        Files.createDirectories(out.getParent());
        Files.writeString(out, json + "\n");
        System.out.println("gate bench: " + json);
        assertThat(burst.get("releasedVerified")).isEqualTo(n);
        assertThat(staggered.get("releasedVerified")).isEqualTo(n);
        assertThat(burstAgain.get("releasedVerified")).isEqualTo(n);
    }

    /** N app-scoped calls, every one waiting for all N terminating pods; one slice update releases them all. */
    private Map<String, Object> burst(int n, String when) throws Exception {
        GateFixture f = new GateFixture(client, base.toURI());
        try {
            Scenario s = new Scenario(f, "burst", n, n);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("when", when);
            r.put("path", "GET /gate/v1/{namespace}/{app}: gate mode, every call waits for all " + n
                    + " terminating pods");
            r.put("release", "one EndpointSlice of " + n + " endpoints updated once: all " + n + " not ready");
            try (HeldCalls calls = s.hold(i -> "/gate/v1/" + f.ns + "/burst", r)) {
                GateWriteTimes.WRITTEN.clear();
                Instant sentAt = Instant.now();
                r.put("sentAt", sentAt.toString());
                long writeNanos = s.release(0, n);
                List<Arrived> answers = calls.all(Duration.ofSeconds(120));
                r.put("sliceWriteMs", round(writeNanos / 1e6));
                summarize(r, answers, i -> sentAt, i -> writeNanos / 1e6);
                // When the gate's HTTP server had written each answer: what is left to arrival is the client's.
                double[] written = GateWriteTimes.WRITTEN.stream().mapToDouble(w -> (w - micros(sentAt)) / 1e3).sorted()
                        .toArray();
                r.put("answersWritten", written.length);
                r.put("writtenP50Ms", round(percentile(written, 50)));
                r.put("writtenP99Ms", round(percentile(written, 99)));
                r.put("writtenMaxMs", round(written[written.length - 1]));
            }
            return r;
        } finally {
            release(f);
        }
    }

    /** N pod-scoped calls, one per pod; the pods leave the endpoints one at a time, the rest stay held. */
    private Map<String, Object> staggered(int n) throws Exception {
        GateFixture f = new GateFixture(client, base.toURI());
        try {
            int batch = Integer.getInteger("zdt.bench.staggered-batch", 1);
            Scenario s = new Scenario(f, "stagger", n, PER_SLICE);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("path", "GET /gate/v1/{namespace}/{app}/{pod}: one call per pod, each waits for its own pod");
            r.put("release", "the pods' endpoints turn not ready " + batch + " at a time, in slices of " + PER_SLICE
                    + " endpoints (the EndpointSlice controller's default), the next update sent once the previous "
                    + "answers arrived; the other calls stay held");
            try (HeldCalls calls = s.hold(i -> "/gate/v1/" + f.ns + "/stagger/stagger-" + i, r)) {
                Instant[] sentAt = new Instant[n];
                double[] writeOf = new double[n];
                double[] writes = new double[(n + batch - 1) / batch];
                for (int from = 0, k = 0; from < n; from += batch, k++) {
                    int to = Math.min(n, from + batch);
                    Instant at = Instant.now();
                    writes[k] = s.release(from, to) / 1e6;
                    for (int i = from; i < to; i++) {
                        sentAt[i] = at;
                        writeOf[i] = writes[k];
                        calls.answer(i).get(60, TimeUnit.SECONDS);
                    }
                }
                List<Arrived> answers = calls.all(Duration.ofSeconds(10));
                Arrays.sort(writes);
                r.put("sliceWriteP50Ms", round(percentile(writes, 50)));
                r.put("sliceWriteP99Ms", round(percentile(writes, 99)));
                summarize(r, answers, i -> sentAt[i], i -> writeOf[i]);
            }
            return r;
        } finally {
            release(f);
        }
    }

    /**
     * Latencies from just before each release's update was sent ({@code sentAt}); and, to tell the gate's share
     * from the API server's, from the moment that update's response came back ({@code sentAt} + {@code writeMs}).
     */
    private static void summarize(Map<String, Object> r, List<Arrived> answers, IntFunction<Instant> sentAt,
            java.util.function.IntToDoubleFunction writeMs) {
        double[] decided = new double[answers.size()];
        double[] arrived = new double[answers.size()];
        double[] afterWrite = new double[answers.size()];
        for (int i = 0; i < answers.size(); i++) {
            Arrived a = answers.get(i);
            long sent = micros(sentAt.apply(i));
            decided[i] = (micros(a.decidedAt()) - sent) / 1e3;
            arrived[i] = (a.arrivedMicros() - sent) / 1e3;
            afterWrite[i] = arrived[i] - writeMs.applyAsDouble(i);
        }
        Arrays.sort(decided);
        Arrays.sort(arrived);
        Arrays.sort(afterWrite);
        r.put("releasedVerified", (int) answers.stream().filter(a -> a.status() == 200 && a.body().startsWith("Verified"))
                .count());
        r.put("decidedMinMs", round(decided[0]));
        r.put("decidedP50Ms", round(percentile(decided, 50)));
        r.put("decidedP99Ms", round(percentile(decided, 99)));
        r.put("decidedMaxMs", round(decided[decided.length - 1]));
        r.put("arrivalMinMs", round(arrived[0]));
        r.put("arrivalP50Ms", round(percentile(arrived, 50)));
        r.put("arrivalP99Ms", round(percentile(arrived, 99)));
        r.put("arrivalMaxMs", round(arrived[arrived.length - 1]));
        r.put("arrivalAfterWriteP50Ms", round(percentile(afterWrite, 50)));
        r.put("arrivalAfterWriteP99Ms", round(percentile(afterWrite, 99)));
        r.put("meetsHeapTarget", (double) r.get("extraHeapMiB") < 100);
        r.put("meetsLatencyTarget", percentile(arrived, 99) < 200);
    }

    /** One app with N terminating pods that its slices still offer as ready, and a keeper that stays ready. */
    private final class Scenario {
        final GateFixture f;
        final String app;
        final int n;
        final int perSlice;
        final List<Pod> pods;
        final Endpoint[][] endpoints;
        final EndpointSlice[] slices;

        Scenario(GateFixture f, String app, int n, int perSlice) throws Exception {
            this.f = f;
            this.app = app;
            this.n = n;
            this.perSlice = perSlice;
            f.app(app, SPEC, "drain:\n  holdSeconds: " + HOLD_SECONDS);
            Pod keeper = f.pod(app, app + "-keeper", HOLD_SECONDS);
            f.slice(app, app + "-keeper", GateFixture.ready(keeper));
            ExecutorService api = Executors.newFixedThreadPool(8);
            try {
                pods = all(api, n, i -> f.pod(app, app + "-" + i, HOLD_SECONDS));
                int count = (n + perSlice - 1) / perSlice;
                endpoints = new Endpoint[count][];
                slices = new EndpointSlice[count];
                for (int k = 0; k < count; k++) {
                    endpoints[k] = pods.subList(k * perSlice, Math.min(n, (k + 1) * perSlice)).stream()
                            .map(GateFixture::ready).toArray(Endpoint[]::new);
                    slices[k] = f.slice(app, app + "-pods-" + k, endpoints[k]);
                }
                all(api, n, i -> {
                    client.pods().inNamespace(f.ns).withName(pods.get(i).getMetadata().getName()).delete();
                    return null;
                });
            } finally {
                api.shutdown();
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> client.pods().inNamespace(f.ns).withLabel(
                    dev.zdt.operator.Constants.APP_LABEL, app).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() != null).count() == n);
        }

        /** Starts the client, waits until the gate holds all N calls, and records heap and threads before and during. */
        HeldCalls hold(IntFunction<String> path, Map<String, Object> r) throws Exception {
            long heapBefore = settledHeap();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
            HeldCalls calls = new HeldCalls(base.getHost(), base.getPort(), n, path);
            calls.sent.get(60, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> gate.held() == n);
            long heapHeld = settledHeap();
            int threadsHeld = ManagementFactory.getThreadMXBean().getThreadCount();
            assertThat(calls.answered.get()).as("answers before any endpoint changed").isZero();
            r.put("heapUsedBeforeMiB", mib(heapBefore));
            r.put("heapUsedWhileHeldMiB", mib(heapHeld));
            r.put("extraHeapMiB", mib(heapHeld - heapBefore));
            r.put("liveThreadsBefore", threadsBefore);
            r.put("liveThreadsWhileHeld", threadsHeld);
            return calls;
        }

        /** Pods [from, to) turn not ready in their slices, in one update per slice touched; returns the write time. */
        long release(int from, int to) {
            int first = from / perSlice;
            List<EndpointSlice> updates = new ArrayList<>();
            for (int k = first; k <= (to - 1) / perSlice; k++) {
                for (int i = Math.max(from, k * perSlice); i < Math.min(to, (k + 1) * perSlice); i++) {
                    endpoints[k][i - k * perSlice] = GateFixture.terminating(pods.get(i));
                }
                slices[k].getMetadata().setManagedFields(null);
                updates.add(new EndpointSliceBuilder(slices[k]).withEndpoints(endpoints[k]).build());
            }
            long started = System.nanoTime();
            for (int j = 0; j < updates.size(); j++) {
                slices[first + j] = client.resource(updates.get(j)).update();
            }
            return System.nanoTime() - started;
        }
    }

    /** An answer as the client saw it. */
    record Arrived(int status, long arrivedMicros, Instant decidedAt, String body) {

        /** Parsed once the scenario is over, not as answers arrive: this JVM is the gate's, and its CPU is measured. */
        static Arrived parse(String[] p) {
            return new Arrived(Integer.parseInt(p[2]), Long.parseLong(p[3]), "-".equals(p[4]) ? null : Instant.parse(p[4]),
                    p.length > 5 ? p[5] : "");
        }
    }

    /** The client process and its answers, as they arrive. */
    private static final class HeldCalls implements AutoCloseable {
        final Process process;
        final CompletableFuture<Void> sent = new CompletableFuture<>();
        final List<CompletableFuture<String[]>> answers = new ArrayList<>();
        final AtomicInteger answered = new AtomicInteger();
        final Thread reader;

        HeldCalls(String host, int port, int n, IntFunction<String> path) throws IOException {
            Path paths = Files.createTempFile("zdt-gate-bench", ".paths");
            List<String> lines = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                lines.add(path.apply(i));
                answers.add(new CompletableFuture<>());
            }
            Files.write(paths, lines);
            paths.toFile().deleteOnExit();
            String classes = Path.of(System.getProperty("zdt.project.dir", "."), "target", "test-classes").toString();
            List<String> command = new ArrayList<>();
            String prefix = System.getProperty("zdt.bench.client-prefix", "").trim();
            if (!prefix.isEmpty()) {
                command.addAll(List.of(prefix.split("\\s+")));
            }
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m"));
            // e.g. -Dzdt.bench.client-jvm-args=-XX:StartFlightRecording=filename=/tmp/client.jfr to profile the client
            String extra = System.getProperty("zdt.bench.client-jvm-args", "").trim();
            if (!extra.isEmpty()) {
                command.addAll(List.of(extra.split("\\s+")));
            }
            command.addAll(List.of("-cp", classes, HeldCallsClient.class.getName(), host, Integer.toString(port),
                    paths.toString()));
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            reader = new Thread(this::read, "gate-bench-client-reader");
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    String[] p = line.split(" ", 6);
                    switch (p[0]) {
                        case "S" -> sent.complete(null);
                        case "A" -> {
                            answered.incrementAndGet();
                            answers.get(Integer.parseInt(p[1])).complete(p);
                        }
                        case "E" -> answers.get(Integer.parseInt(p[1])).completeExceptionally(
                                new IOException("call " + p[1] + ": " + line));
                        default -> { }
                    }
                }
            } catch (IOException e) {
                sent.completeExceptionally(e);
            }
            IOException gone = new IOException("the client process ended");
            sent.completeExceptionally(gone);
            answers.forEach(a -> a.completeExceptionally(gone));
        }

        CompletableFuture<String[]> answer(int i) {
            return answers.get(i);
        }

        List<Arrived> all(Duration within) throws Exception {
            CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(within.toMillis(), TimeUnit.MILLISECONDS);
            return answers.stream().map(CompletableFuture::join).map(Arrived::parse).toList();
        }

        @Override
        public void close() throws InterruptedException {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroy();
            }
        }
    }

    /** Ends the scenario's holds (the slices show no pod ready) and lets its namespace go. */
    private void release(GateFixture f) {
        f.close();
        await().atMost(Duration.ofSeconds(60)).until(() -> gate.held() == 0);
    }

    private interface Step<T> {
        T run(int i) throws Exception;
    }

    private static <T> List<T> all(ExecutorService pool, int n, Step<T> step) throws Exception {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            futures.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return step.run(k);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, pool));
        }
        List<T> out = new ArrayList<>();
        for (CompletableFuture<T> c : futures) {
            out.add(c.get(120, TimeUnit.SECONDS));
        }
        return out;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static long settledHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    private static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double mib(long bytes) {
        return round(bytes / 1048576.0);
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
